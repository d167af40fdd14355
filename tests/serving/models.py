"""Small custom models for serving tests: they load fast (no scikit-learn), and a
negative input makes them sleep, for requests in flight."""

from __future__ import annotations

import time
from typing import Any

from mltrail.pyfunc import PythonModel


class AddN(PythonModel):
    """Predicts ``x + n``; a row with x < 0 first sleeps ``-x`` seconds."""

    def __init__(self, n: float) -> None:
        self.n = n

    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        slowest = min(float(v) for v in model_input["x"])
        if slowest < 0:
            time.sleep(-slowest)
        return (model_input["x"] + self.n).tolist()
