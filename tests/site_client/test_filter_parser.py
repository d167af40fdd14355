"""The browser's filter parser (filter.js) agrees with mltrail.search, string for string.

Each case goes through MLTRAIL.filter.parse in Chromium and through
mltrail.search.parse_filter in Python: the comparisons, or the error message, must be
the same. Matching is checked against the fixture runs in the table tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from mltrail.errors import InvalidParameterValue
from mltrail.search import parse_filter

VALID = [
    "",
    "   ",
    "metrics.rmse < 0.8",
    "metrics.rmse < 0.8 and params.alpha = '0.5'",
    "metric.rmse<=1e-3 AND param.alpha!='x'",
    "metrics.rmse >= -.5",
    "metrics.rmse = 2.",
    "params.`my key` = 'a'",
    'params."my key" = "a"',
    "params.`odd``key` = 'v'",
    "tags.`mlflow.runName` LIKE 'run-%'",
    "tags.mlflow.source.name ILIKE '%.py'",
    "tag.team != 'it''s'",
    'tags.team = "say ""hi"""',
    "attributes.status = 'FINISHED'",
    "attr.status ILIKE 'fin%'",
    "run.run_name = 'x'",
    "status = 'FAILED' and user_id = 'bob'",
    "created > 1000",
    "`Run name` = 'a b'",
    "attributes.start_time >= 1700000000000",
    "attributes.run_id IN ('a', 'b')",
    "attributes.run_id NOT IN ('a')",
    "run_id not in ('a', \"b\")",
    "params.x = '<script>alert(1)</script>'",
    "metrics.été > 0",
    "metrics.loss\n< 1\tAND params.a = 'b'",
]

INVALID = [
    "metrics.rmse",
    "metrics.rmse <",
    "metrics.rmse < 'a'",
    "params.alpha = 0.5",
    "params.alpha < '1'",
    "metrics.rmse < 1 or params.a = 'b'",
    "metrics.rmse < 1 params.a = 'b'",
    "metrics.rmse < 1 and",
    "foo.bar = 'x'",
    "datasets.name = 'x'",
    "params. = 'x'",
    "params.`unclosed = 'x'",
    "params.a = 'unclosed",
    "metrics.my-key < 1",
    "params.a IS NULL",
    "params.a IN ('x')",
    "attributes.run_id IN ()",
    "attributes.run_id IN ('a' 'b')",
    "attributes.run_id IN (1)",
    "attributes.run_id = ('a')",
    "metrics.rmse <> 1",
    "metrics.rmse < 1abc",
    "= 'x'",
    "attributes.status LIKE 1",
]

#: Unknown-attribute messages list the valid names; Python's order among names that
#: differ only in case ("created"/"Created") follows set order, so only a prefix is compared.
PREFIX_ONLY = ["attributes.nope = 'x'", "nope = 'x'"]

JS_PARSE = """(cases) => cases.map((text) => {
    try {
        return {ok: MLTRAIL.filter.parse(text)};
    } catch (err) {
        return {error: err.message, name: err.name};
    }
})"""


def python_parse(text: str) -> dict[str, Any]:
    try:
        comparisons = parse_filter(text).comparisons
    except InvalidParameterValue as e:
        return {"error": str(e), "name": "FilterError"}
    return {
        "ok": [
            {
                "entity": c.entity,
                "key": c.key,
                "comparator": c.comparator,
                "value": list(c.value) if isinstance(c.value, tuple) else c.value,
            }
            for c in comparisons
        ]
    }


@pytest.fixture
def page(open_page: Any) -> Any:
    return open_page("experiments/7/index.html")


def test_valid_filters_parse_as_in_python(page: Any) -> None:
    results = page.evaluate(JS_PARSE, VALID)
    for text, got in zip(VALID, results, strict=True):
        assert got == python_parse(text), text


def test_invalid_filters_fail_with_pythons_message(page: Any) -> None:
    results = page.evaluate(JS_PARSE, INVALID)
    for text, got in zip(INVALID, results, strict=True):
        assert "error" in got, f"{text!r} parsed in the browser"
        assert got == python_parse(text), text


def test_unknown_attribute_names_the_valid_ones(page: Any) -> None:
    results = page.evaluate(JS_PARSE, PREFIX_ONLY)
    for text, got in zip(PREFIX_ONLY, results, strict=True):
        expected = python_parse(text)["error"]
        assert got["error"].split("; use one of")[0] == expected.split("; use one of")[0]
        assert "run_name" in got["error"] and "status" in got["error"]


def test_like_is_literal_except_percent_and_underscore(page: Any) -> None:
    result = page.evaluate(
        """() => {
            const like = MLTRAIL.filter.likeRegex;
            return [
                like('a.c%', false).test('a.cde'),
                like('a.c%', false).test('abcde'),
                like('a_c', false).test('abc'),
                like('a_c', false).test('abbc'),
                like('(x)[y]*', false).test('(x)[y]*'),
                like('ÉTÉ%', true).test('été 2024'),
                like('%', false).test('line1\\nline2'),
                like('A%', false).test('abc'),
            ];
        }"""
    )
    assert result == [True, False, True, False, True, True, True, False]


def test_compiled_filters_match_runs(page: Any) -> None:
    result = page.evaluate(
        """() => {
            const runs = [
                {id: 'a', name: 'x', status: 'FINISHED', user: 'u', start: 5, end: null,
                 metrics: {m: 1, n: NaN}, params: {p: '1'}, tags: {}},
                {id: 'b', name: 'y', status: 'FAILED', user: 'v', start: 9, end: 12,
                 metrics: {m: 3}, params: {}, tags: {t: 'T'}},
            ];
            const ids = (text) => runs.filter(MLTRAIL.filter.compile(text)).map((r) => r.id);
            return {
                blank: ids(''),
                lt: ids('metrics.m < 2'),
                nanNe: ids('metrics.n != 0'),
                nanEq: ids('metrics.n = 0'),
                missing: ids("params.p != '2'"),
                end: ids('attributes.end_time > 0'),
                created: ids('created >= 9'),
                notIn: ids("run_id NOT IN ('a')"),
            };
        }"""
    )
    assert result == {
        "blank": ["a", "b"],
        "lt": ["a"],
        "nanNe": ["a"],  # NaN differs from everything, as in Python
        "nanEq": [],
        "missing": ["a"],  # a run without the key never matches
        "end": ["b"],
        "created": ["b"],
        "notIn": ["b"],
    }


def test_artifact_uri_is_refused_with_a_reason(page: Any) -> None:
    message = page.evaluate(
        """() => { try { MLTRAIL.filter.compile("attributes.artifact_uri = 'x'"); }
                   catch (err) { return err.message; } }"""
    )
    assert message.startswith("attributes.artifact_uri is not in the site's data")
