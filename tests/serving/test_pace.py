"""Which predictions run on the event loop (``Pace``): a small request to a scikit-learn
model that has been fast, and nothing else, so a model turning slow, or any model that
may wait on I/O, still gets its 504 while ``/ping`` keeps answering."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from mltrail.serving.app import INLINE_AFTER, INLINE_BODY_BYTES, INLINE_LIMIT_S, Pace, ScoringApp
from tests.serving.record_mlflow import COLUMNS
from tests.serving.servers import send, serve_app

pytest.importorskip("uvicorn")
BODY = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}})


def test_only_a_fast_compute_only_model_with_a_small_body_runs_inline() -> None:
    pace = Pace(computes_only=True)
    for _ in range(INLINE_AFTER - 1):
        pace.record(INLINE_LIMIT_S / 10)
    assert not pace.inline(100)  # not yet seen fast often enough
    pace.record(INLINE_LIMIT_S / 10)
    assert pace.inline(100) and pace.inline(INLINE_BODY_BYTES)
    assert not pace.inline(INLINE_BODY_BYTES + 1)
    pace.record(INLINE_LIMIT_S)  # one slow prediction: back to threads...
    for _ in range(INLINE_AFTER - 1):
        pace.record(INLINE_LIMIT_S / 10)
        assert not pace.inline(100)
    pace.record(INLINE_LIMIT_S / 10)  # ... until it has left the window
    assert pace.inline(100)
    other = Pace(computes_only=False)
    for _ in range(INLINE_AFTER * 2):
        other.record(0.0)
    assert not other.inline(100)


def test_the_rule_holds_under_threads_recording_at_once() -> None:
    pace = Pace(computes_only=True)

    def record(seconds: float) -> None:
        for _ in range(5_000):
            pace.record(seconds)

    threads = [threading.Thread(target=record, args=(s,)) for s in (0.0, 1.0, 0.0, 1.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(INLINE_AFTER):
        pace.record(0.0)
    assert pace.inline(100)  # the count of slow predictions did not drift


class TurnsSlow:
    """Wraps a model: fast for ``fast`` predictions, then each one takes ``slow_s``."""

    def __init__(self, model: Any, fast: int, slow_s: float, sklearn: bool) -> None:
        self.model, self.left, self.slow_s = model, fast, slow_s
        self.metadata = model.metadata if sklearn else None

    def predict(self, data: Any) -> Any:
        self.left -= 1
        if self.left < 0:
            time.sleep(self.slow_s)
        return self.model.predict(data)


def _post(port: int) -> int:
    return send(port, "POST", "/invocations", BODY.encode(), "application/json")[0]


def test_a_custom_model_never_runs_inline_so_it_always_gets_its_504(recorded_model: Any) -> None:
    model = TurnsSlow(recorded_model, INLINE_AFTER + 5, 1.0, sklearn=False)
    with serve_app(ScoringApp(model, version="x", timeout=0.3)) as port:
        assert all(_post(port) == 200 for _ in range(INLINE_AFTER + 5))
        assert _post(port) == 504


def test_a_scikit_learn_model_that_turns_slow_goes_back_to_threads(recorded_model: Any) -> None:
    model = TurnsSlow(recorded_model, INLINE_AFTER + 5, 1.0, sklearn=True)
    with serve_app(ScoringApp(model, version="x", timeout=0.3)) as port:
        assert all(_post(port) == 200 for _ in range(INLINE_AFTER + 5))
        # the first slow prediction ran on the loop (documented): answered, late
        assert _post(port) == 200
        pinged: list[int] = []
        ping = threading.Thread(
            target=lambda: (time.sleep(0.1), pinged.append(send(port, "GET", "/ping")[0]))
        )
        ping.start()
        started = time.monotonic()
        assert _post(port) == 504  # the next one is in a thread again: cut off
        ping.join()
        assert pinged == [200] and time.monotonic() - started < 0.9
