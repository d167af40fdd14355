MLTRAIL.experimentData({"columns":{"metrics":[],"params":[],"tags":[]},"id":"0","lower_is_better":false,"name":"Default","primary_metric":null,"runs":[]});
