"""The parts of the sample store: the determinism stand-ins, the four experiments
(the last one a sweep of the sample project in ``sample_runs/project``) and the model
registry (see ``sample_runs/generate.py``)."""
