"""The simulated clock inside the sample project's runs (``sample/project.py``).

The runs of the ``diabetes-sweep`` experiment are separate processes started by mltrail's
project runner, so the stand-ins of ``sample.clock`` do not reach them. ``generate.py``
puts this folder on their ``PYTHONPATH`` (and only theirs), and Python imports this
module at start-up: when ``SAMPLE_RUNS_CLOCK_MS`` is set, ``time.time`` reads that
instant instead of the machine's clock, so the metric timestamps the project's code
logs repeat. Run ids and start and end times come from the generating process, which
creates and ends the runs.
"""

import os
import time

_FROZEN_MS = os.environ.get("SAMPLE_RUNS_CLOCK_MS")
if _FROZEN_MS is not None:
    _seconds = int(_FROZEN_MS) / 1000
    time.time = lambda: _seconds
