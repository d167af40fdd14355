"""Property tests of autolog's small pure functions: param truncation, names, versions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mltrail import validation
from mltrail.sklearn.autolog import _version
from mltrail.sklearn.autolog_content import loggable_params
from mltrail.sklearn.autolog_post import _with_index


def _repeated(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length]


#: Texts of any length up to 8000 without generating 8000 random characters.
texts = st.builds(_repeated, st.text(min_size=1, max_size=5), st.integers(0, 8000))
keys = st.builds(
    _repeated, st.text(alphabet="abcxyz_", min_size=1, max_size=5), st.integers(1, 300)
)
values = st.one_of(texts, st.integers(), st.floats(), st.none(), st.booleans())


@given(st.dictionaries(keys, values, max_size=5))
def test_params_fit_the_store_limits(params: dict[str, object]) -> None:
    out = loggable_params(params)
    assert len(out) <= len(params)  # two long keys may cut to one (MLflow's behaviour too)
    for key, text in out.items():
        assert len(key) <= validation.MAX_KEY_LENGTH
        assert len(text) <= validation.MAX_PARAM_VALUE_LENGTH
        validation.validate_param_value(key, text)
    for key, value in params.items():
        if len(key) <= validation.MAX_KEY_LENGTH and len(str(value)) <= 6000:
            assert out[key] == str(value)  # what fits is logged as str() gives it


@given(st.builds(_repeated, st.text(min_size=1, max_size=5), st.integers(6001, 9000)))
def test_long_values_are_ellipsized(text: str) -> None:
    out = loggable_params({"p": text})["p"]
    assert out == text[: validation.MAX_PARAM_VALUE_LENGTH - 3] + "..."


@given(st.text(alphabet="abcXYZ_", min_size=1, max_size=20), st.integers(0, 50))
def test_indexed_names(name: str, index: int) -> None:
    got = _with_index(name, index)
    assert got == name if index == 0 else got == f"{name}-{index + 1}"


@given(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)))
def test_release_versions_parse(parts: tuple[int, int, int]) -> None:
    text = ".".join(map(str, parts))
    assert _version(text) == parts
    assert _version(text + ".dev0") is None
    assert _version(text + "rc1") is None
