MLTRAIL.runData({"experiment_id":"1715349600000134","id":"018f62cdb700734480545c6ce32563d7","name":"amber-newt-488","params":{},"series":{}});
