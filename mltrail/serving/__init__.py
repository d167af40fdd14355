"""Serving models: MLflow's scoring protocol (``protocol``), for ``mltrail models serve``
and ``mltrail models predict`` (issue 10; the server itself is not written yet)."""
