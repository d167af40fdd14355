MLTRAIL.experimentData({"columns":{"metrics":[],"params":[],"tags":[]},"count":0,"id":"0","lower_is_better":false,"name":"Default","parts":[],"primary_metric":null,"runs":[]});
