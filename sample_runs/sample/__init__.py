"""The parts of the sample store: the determinism stand-ins, the three experiments and
the model registry (see ``sample_runs/generate.py``)."""
