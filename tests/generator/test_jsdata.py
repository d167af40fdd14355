"""Data files: one call with script-safe, deterministic JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrail_generator.output.jsdata import script_call, script_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_script_json_round_trips_and_is_script_safe(payload: Any) -> None:
    text = script_json(payload)
    assert json.loads(text) == payload
    assert text.isascii()
    assert not set("<>&\u2028\u2029") & set(text)
    assert script_json(payload) == text


def test_script_json_escapes_what_could_end_a_script() -> None:
    text = script_json({"name": "</script><!-- & \u2028\u2029"})
    assert text == '{"name":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029"}'


def test_script_json_is_sorted_and_compact() -> None:
    assert script_json({"b": [1, 2.5], "a": None}) == '{"a":null,"b":[1,2.5]}'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_script_json_refuses_non_finite_floats(bad: float) -> None:
    with pytest.raises(ValueError, match="map NaN and infinities to None"):
        script_json({"value": [1.0, bad]})


def test_script_call_wraps_the_payload() -> None:
    assert script_call("MLTRAIL.runData", {"id": "a<b"}) == 'MLTRAIL.runData({"id":"a\\u003cb"});\n'


@pytest.mark.parametrize("name", ["", "alert(1);x", "MLTRAIL.", "1abc", "a b", "a.b()"])
def test_script_call_refuses_what_is_not_a_dotted_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a dotted JavaScript function name"):
        script_call(name, {})
