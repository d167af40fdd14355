"""One of several clients at once: params and metrics into a shared run and its own run."""

import json
import sys

from mlflow import MlflowClient

shared, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = MlflowClient()
own = c.create_run("0", run_name=f"worker-{worker}").info.run_id
for i in range(count):
    c.log_param(shared, f"w{worker}-p{i}", str(i))
    c.log_metric(shared, "shared", float(i), step=int(worker) * 1000 + i)
    c.log_metric(own, "own", float(i), step=i)
    c.log_param(own, f"p{i}", str(i))
c.set_terminated(own)
print(json.dumps({"own": own}))
