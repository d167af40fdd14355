"""MLflow search_runs filter and order_by semantics (mltrail.search)."""

from __future__ import annotations

import math
import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrail.entities import Run, RunData, RunInfo
from mltrail.errors import InvalidParameterValue
from mltrail.search import (
    Comparison,
    OrderClause,
    RunFilter,
    filter_and_sort,
    parse_filter,
    parse_order_by,
    sort_runs,
)


def make_run(
    run_id: str,
    *,
    start_time: int = 1_000,
    end_time: int | None = None,
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    **info: Any,
) -> Run:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "run_name": f"name-{run_id}",
        "experiment_id": "0",
        "status": "FINISHED",
        "start_time": start_time,
        "end_time": end_time,
        "lifecycle_stage": "active",
        "user_id": "alice",
        "artifact_uri": f"file:///store/{run_id}/artifacts",
    }
    fields.update(info)
    data = RunData(params=params or {}, metrics=metrics or {}, tags=tags or {})
    return Run(RunInfo(**fields), data)


RUNS = [
    make_run(
        "a1",
        start_time=300,
        end_time=400,
        metrics={"rmse": 0.5, "my metric": 1.0},
        params={"alpha": "0.1", "model": "LinearModel", "a b": "x"},
        tags={"mlflow.runName": "first", "team": "Vision"},
    ),
    make_run(
        "b2",
        start_time=200,
        metrics={"rmse": 0.9, "acc": math.nan},
        params={"alpha": "0.5", "model": "linearmodel"},
        tags={"team": "nlp"},
        status="FAILED",
        user_id="bob",
    ),
    make_run("c3", start_time=100, metrics={"rmse": -1e-3}, params={"model": "a.c"}),
]


def ids(runs: list[Run]) -> list[str]:
    return [run.info.run_id for run in runs]


def matching(filter_string: str, runs: list[Run] = RUNS) -> list[str]:
    run_filter = parse_filter(filter_string)
    return [run.info.run_id for run in runs if run_filter.matches(run)]


# ---------------------------------------------------------------- identifiers


@pytest.mark.parametrize(
    ("prefix", "entity"),
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameter", "param"),
        ("parameters", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
        ("`tags`", "tag"),
    ],
)
def test_entity_aliases(prefix: str, entity: str) -> None:
    value = "1" if entity == "metric" else "'1'"
    (comparison,) = parse_filter(f"{prefix}.k = {value}").comparisons
    assert (comparison.entity, comparison.key) == (entity, "k")


@pytest.mark.parametrize(
    ("lhs", "key"),
    [
        ("attributes.status", "status"),
        ("attribute.status", "status"),
        ("attr.status", "status"),
        ("run.status", "status"),
        ("status", "status"),  # no prefix: an attribute, as in MLflow
        ("run_name", "run_name"),
        ("`Run Name`", "run_name"),
        ('attributes."run name"', "run_name"),
        ("attributes.run_id", "run_id"),
        ("user_id", "user_id"),
        ("artifact_uri", "artifact_uri"),
    ],
)
def test_string_attribute_identifiers(lhs: str, key: str) -> None:
    (comparison,) = parse_filter(f"{lhs} = 'x'").comparisons
    assert (comparison.entity, comparison.key) == ("attribute", key)


@pytest.mark.parametrize("lhs", ["created", "Created", "attributes.created", "start_time"])
def test_created_is_start_time(lhs: str) -> None:
    (comparison,) = parse_filter(f"{lhs} > 150").comparisons
    assert (comparison.key, comparison.value) == ("start_time", 150.0)
    assert matching(f"{lhs} > 150") == ["a1", "b2"]


@pytest.mark.parametrize(
    ("lhs", "key"),
    [
        ("metrics.`my metric`", "my metric"),
        ('metrics."my metric"', "my metric"),
        ("tags.mlflow.runName", "mlflow.runName"),
        ("tags.`mlflow.runName`", "mlflow.runName"),
        ("params.`a``b`", "a`b"),
        ('params."a""b"', 'a"b'),
    ],
)
def test_key_quoting(lhs: str, key: str) -> None:
    value = "1" if lhs.startswith("metrics") else "'v'"
    assert parse_filter(f"{lhs} = {value}").comparisons[0].key == key


def test_quoted_keys_match_runs() -> None:
    assert matching("metrics.`my metric` = 1") == ["a1"]
    assert matching('params."a b" = "x"') == ["a1"]
    assert matching("tags.mlflow.runName = 'first'") == ["a1"]


# ---------------------------------------------------------------- comparators


@pytest.mark.parametrize(
    ("comparator", "expected"),
    [
        ("=", ["a1"]),
        ("!=", ["b2", "c3"]),
        ("<", ["c3"]),
        ("<=", ["a1", "c3"]),
        (">", ["b2"]),
        (">=", ["a1", "b2"]),
    ],
)
def test_metric_comparators(comparator: str, expected: list[str]) -> None:
    assert matching(f"metrics.rmse {comparator} 0.5") == expected


@pytest.mark.parametrize("number", ["-0.001", "-1e-3", "-1E-3", "-.001", "-0.1e-2"])
def test_number_forms(number: str) -> None:
    assert matching(f"metrics.rmse = {number}") == ["c3"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.alpha = '0.1'", ["a1"]),
        ('params.alpha = "0.1"', ["a1"]),
        ("params.alpha != '0.1'", ["b2"]),  # c3 has no alpha: never matches
        ("params.model LIKE 'Linear%'", ["a1"]),
        ("params.model LIKE '%model'", ["b2"]),
        ("params.model ILIKE 'linear%'", ["a1", "b2"]),
        ("params.model like 'a_c'", ["c3"]),
        ("params.model LIKE 'a.c'", ["c3"]),
        ("params.model LIKE 'abc'", []),
        ("params.model LIKE 'Linear'", []),  # LIKE matches the whole value
        ("params.model ilike '%MODEL'", ["a1", "b2"]),
        ("tags.team = 'nlp'", ["b2"]),
        ("tags.team ILIKE 'VISION'", ["a1"]),
        ("tags.team LIKE 'vision'", []),
        ("tags.team != 'nlp'", ["a1"]),
        ("attributes.status = 'FAILED'", ["b2"]),
        ("attributes.status != 'FAILED'", ["a1", "c3"]),
        ("run_name LIKE 'name-_1'", ["a1"]),
        ("user_id ILIKE 'BOB'", ["b2"]),
        ("artifact_uri LIKE '%/c3/%'", ["c3"]),
        ("attributes.run_id IN ('a1', 'c3')", ["a1", "c3"]),
        ('run_id in ("b2")', ["b2"]),
        ("run_id NOT IN ('a1')", ["b2", "c3"]),
        ("run_id not  in ('a1','b2')", ["c3"]),
        ("attributes.end_time > 0", ["a1"]),  # end_time None never matches
        ("attributes.end_time != 0", ["a1"]),
        ("attributes.start_time <= 200.5", ["b2", "c3"]),
    ],
)
def test_string_and_attribute_comparisons(filter_string: str, expected: list[str]) -> None:
    assert matching(filter_string) == expected


def test_and_is_case_insensitive_and_combines() -> None:
    assert matching("metrics.rmse > 0 and params.alpha = '0.1'") == ["a1"]
    assert matching("metrics.rmse > 0 AnD params.alpha = '0.5' AND tags.team='nlp'") == ["b2"]


def test_values_with_quotes() -> None:
    runs = [make_run("q", params={"p": "it's", "d": 'say "hi"', "both": "'\""})]
    assert matching('params.p = "it\'s"', runs) == ["q"]
    assert matching("params.p = 'it''s'", runs) == ["q"]
    assert matching("params.d = 'say \"hi\"'", runs) == ["q"]
    assert matching("params.both = '''\"'", runs) == ["q"]


def test_like_spans_lines_and_escapes_regex() -> None:
    runs = [make_run("m", params={"text": "line1\nline2", "re": "a+b(c)"})]
    assert matching("params.text LIKE 'line1%2'", runs) == ["m"]
    assert matching("params.re LIKE 'a+b(c)'", runs) == ["m"]
    assert matching("params.re LIKE 'aab(c)'", runs) == []


def test_nan_matches_only_not_equal() -> None:
    for comparator in ("=", "<", "<=", ">", ">="):
        assert matching(f"metrics.acc {comparator} 0") == []
    assert matching("metrics.acc != 0") == ["b2"]


def test_missing_keys_never_match() -> None:
    for filter_string in ("metrics.acc != 1", "params.alpha != 'zzz'", "tags.team != 'zzz'"):
        assert "c3" not in matching(filter_string)


@pytest.mark.parametrize("empty", [None, "", "   ", "\n\t"])
def test_empty_filter_matches_everything(empty: str | None) -> None:
    assert parse_filter(empty) == RunFilter(())
    assert ids(filter_and_sort(RUNS, empty, None)) == ["a1", "b2", "c3"]


def test_parsed_filters_are_cached() -> None:
    assert parse_filter("metrics.rmse < 1") is parse_filter("metrics.rmse < 1")


def test_canonical_form() -> None:
    run_filter = parse_filter('metric.`x y` >= 1e3 and created < 5 and param.p like "it\'s"')
    assert run_filter.to_string() == (
        'metrics.`x y` >= 1000 AND attributes.start_time < 5 AND params.p LIKE "it\'s"'
    )


def test_direct_run_filter_validates_its_comparisons() -> None:
    bad = RunFilter((Comparison("param", "p", "<", 1.0),))
    with pytest.raises(InvalidParameterValue, match="comparator '<' is not valid for param 'p'"):
        bad.matches(RUNS[0])


# ---------------------------------------------------------------- bad filters


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("metrics.rmse <> 1", "unknown comparator '<>'; use one of =, !=, <, <=, >, >=, LIKE"),
        ("metrics.rmse == 1", "'=='"),
        ("metrics.a > 1 OR metrics.b < 2", "'OR' is not supported"),
        ("metrics.a > 1 metrics.b < 2", "expected AND between comparisons, found 'metrics.b'"),
        ("metrics.a > 1 AND", "expected a key such as metrics.rmse, found the end"),
        ("AND metrics.a > 1", "unknown attribute 'AND'"),
        ("(metrics.a > 1)", "found '(metrics.a'"),
        ("metrics.a > 'high'", "metric 'a' needs a number, got 'high'"),
        ("metrics.a > high", "found 'high'"),
        ("metrics.a LIKE '1'", "comparator 'LIKE' is not valid for metric 'a'"),
        ("metrics.a IN ('1')", "comparator 'IN' is not valid for metric 'a'"),
        ("params.a = 1", "param 'a' needs a quoted string, got 1"),
        ("params.a > '1'", "comparator '>' is not valid for param 'a'; use one of =, !=, LIKE"),
        ("tags.t IN ('x')", "comparator 'IN' is not valid for tag 't'"),
        ("params.a = 'x", "has no closing '"),
        ("attributes.status IN ('FAILED')", "comparator 'IN' is not valid for attribute 'status'"),
        ("run_id = ('a')", "needs a quoted string, got ('a')"),
        ("run_id IN 'a'", "needs a list of quoted strings"),
        ("run_id IN ()", "needs at least one value"),
        ("run_id IN ('a' 'b')", "expected ',' or ')' in the list, found ''b')'"),
        ("run_id IN (a)", "expected a quoted string in the list, found 'a)'"),
        ("start_time > '5'", "attribute 'start_time' needs a number"),
        ("start_time LIKE '5'", "comparator 'LIKE' is not valid for attribute 'start_time'"),
        ("attributes.lifecycle_stage = 'active'", "unknown attribute 'lifecycle_stage'"),
        ("experiment_id = '0'", "unknown attribute 'experiment_id'"),
        ("Status = 'FAILED'", "unknown attribute 'Status'"),
        ("foo.bar = 'x'", "unknown entity 'foo'"),
        ("Metrics.a = 1", "unknown entity 'Metrics'"),
        ("datasets.name = 'x'", "'datasets.' filters are not supported"),
        ("metrics.my-metric > 1", "found '-metric'; quote keys"),
        ("params.my param = 'x'", "unknown comparator 'param'"),
        ("metrics. a > 1", "expected a key after 'metrics.'"),
        ("metrics.a", "expected a comparator after 'metrics.a', found the end"),
        ("metrics.a >", "expected a quoted string, a number or a list, found the end"),
        ("tags.t IS NULL", "'IS NULL' (NULL tests) is not supported"),
        ("tags.t IS NOT NULL", "'IS NOT'"),
        ("params.p NOT LIKE 'x'", "unknown comparator 'NOT LIKE'"),
        ("metrics.a > 1.5.3", "found '1.5.3'"),
        ("metrics.a > 1; DROP", "found ';'"),
    ],
)
def test_bad_filters_name_the_bad_part(filter_string: str, named: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_filter(filter_string)
    message = str(caught.value)
    assert message.startswith(f"Invalid filter '{filter_string}': ")
    assert named in message
    assert "\n" not in message


def test_bad_multiline_filter_message_is_one_line() -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_filter("metrics.a > 1\nOR metrics.b > 2")
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------- order_by

SORTABLE = [
    make_run("r1", start_time=10, metrics={"m": 2.0}, params={"p": "b"}),
    make_run("r2", start_time=30, metrics={"m": math.nan}, params={"p": "a"}),
    make_run("r3", start_time=20, params={"p": "c"}, end_time=50),
    make_run("r4", start_time=20, metrics={"m": 1.0}, end_time=40),
    make_run("r0", start_time=20, metrics={"m": 2.0}),
]


def test_default_order_is_start_time_desc_then_run_id() -> None:
    assert ids(sort_runs(SORTABLE, None)) == ["r2", "r0", "r3", "r4", "r1"]
    assert ids(sort_runs(SORTABLE, [])) == ["r2", "r0", "r3", "r4", "r1"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # values first, NaN next, missing last -- in both directions; ties by default order
        (["metrics.m"], ["r4", "r0", "r1", "r2", "r3"]),
        (["metrics.m ASC"], ["r4", "r0", "r1", "r2", "r3"]),
        (["metric.m desc"], ["r0", "r1", "r4", "r2", "r3"]),
        (["params.p DESC"], ["r3", "r1", "r2", "r0", "r4"]),
        (["param.p"], ["r2", "r1", "r3", "r0", "r4"]),
        (["attributes.end_time"], ["r4", "r3", "r2", "r0", "r1"]),
        (["attributes.end_time DESC"], ["r3", "r4", "r2", "r0", "r1"]),
        (["created"], ["r1", "r0", "r3", "r4", "r2"]),
        (["attributes.start_time ASC", "metrics.m DESC"], ["r1", "r0", "r4", "r3", "r2"]),
        (["metrics.m DESC", "attributes.run_id DESC"], ["r1", "r0", "r4", "r2", "r3"]),
        (["run_id DESC"], ["r4", "r3", "r2", "r1", "r0"]),
    ],
)
def test_order_by(order_by: list[str], expected: list[str]) -> None:
    assert ids(sort_runs(SORTABLE, order_by)) == expected


def test_order_by_quoted_keys() -> None:
    runs = [
        make_run("x", metrics={"my metric": 1.0}, tags={"my tag": "b"}),
        make_run("y", metrics={"my metric": 2.0}, tags={"my tag": "a"}),
    ]
    assert ids(sort_runs(runs, ["metrics.`my metric` DESC"])) == ["y", "x"]
    assert ids(sort_runs(runs, ['tags."my tag" ASC'])) == ["y", "x"]
    assert parse_order_by(["tags.`my tag` ASC"]) == (OrderClause("tag", "my tag", True),)


@pytest.mark.parametrize(
    ("order_by", "named"),
    [
        (["metrics.m UP"], "expected ASC or DESC after the key, found 'UP'"),
        (["metrics.m ASC DESC"], "unexpected 'DESC' after ASC"),
        (["metrics.m, metrics.n"], "found ','"),
        ([""], "expected a key such as metrics.rmse, found the end"),
        (["lifecycle_stage"], "unknown attribute 'lifecycle_stage'"),
        (["`run name`"], "unknown attribute 'run name'"),
        (["foo.m"], "unknown entity 'foo'"),
        (["metrics.m", "metric.m DESC"], "lists 'metrics.m' twice"),
        (["created", "start_time"], "lists 'attributes.start_time' twice"),
    ],
)
def test_bad_order_by_names_the_bad_part(order_by: list[str], named: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_order_by(order_by)
    assert named in str(caught.value)


def test_order_by_must_be_a_list() -> None:
    with pytest.raises(InvalidParameterValue, match="list of strings"):
        sort_runs(SORTABLE, "metrics.m")


# ---------------------------------------------------------------- filter_and_sort


def test_filter_and_sort_with_max_results() -> None:
    found = filter_and_sort(SORTABLE, "metrics.m >= 1", ["metrics.m DESC"], max_results=2)
    assert ids(found) == ["r0", "r1"]
    assert filter_and_sort(SORTABLE, None, None, max_results=0) == []


def test_filter_and_sort_validates_before_reading_runs() -> None:
    with pytest.raises(InvalidParameterValue, match="unknown comparator"):
        filter_and_sort([], "metrics.m <> 1", None)
    with pytest.raises(InvalidParameterValue, match="ASC or DESC"):
        filter_and_sort([], None, ["metrics.m sideways"])
    with pytest.raises(InvalidParameterValue, match="max_results"):
        filter_and_sort([], None, None, max_results=-1)


# ---------------------------------------------------------------- properties

KEYS = st.text(
    alphabet="ABCXYZabcxyz0189_-./ ",
    min_size=1,
    max_size=12,
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXTS = st.text(max_size=12)


def _comparisons() -> st.SearchStrategy[Comparison]:
    numeric = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    string = st.sampled_from(["=", "!=", "LIKE", "ILIKE"])
    return st.one_of(
        st.builds(Comparison, st.just("metric"), KEYS, numeric, FLOATS),
        st.builds(Comparison, st.sampled_from(["param", "tag"]), KEYS, string, TEXTS),
        st.builds(
            Comparison,
            st.just("attribute"),
            st.sampled_from(["start_time", "end_time"]),
            numeric,
            FLOATS,
        ),
        st.builds(
            Comparison,
            st.just("attribute"),
            st.sampled_from(["run_id", "run_name", "status", "user_id", "artifact_uri"]),
            string,
            TEXTS,
        ),
        st.builds(
            Comparison,
            st.just("attribute"),
            st.just("run_id"),
            st.sampled_from(["IN", "NOT IN"]),
            st.lists(TEXTS, min_size=1, max_size=4).map(tuple),
        ),
    )


@given(st.lists(_comparisons(), max_size=5))
def test_filter_round_trips_through_its_canonical_form(comparisons: list[Comparison]) -> None:
    run_filter = RunFilter(tuple(comparisons))
    assert parse_filter(run_filter.to_string()) == run_filter


@given(
    st.lists(
        st.builds(OrderClause, st.sampled_from(["metric", "param", "tag"]), KEYS, st.booleans()),
        max_size=4,
        unique_by=lambda c: (c.entity, c.key),
    )
)
def test_order_by_round_trips(clauses: list[OrderClause]) -> None:
    assert parse_order_by([c.to_string() for c in clauses]) == tuple(clauses)


@given(st.text(alphabet=st.characters(blacklist_characters="%_"), max_size=15), TEXTS)
def test_like_without_wildcards_is_equality(pattern: str, other: str) -> None:
    run_filter = parse_filter(RunFilter((Comparison("param", "p", "LIKE", pattern),)).to_string())
    assert run_filter.matches(make_run("r", params={"p": pattern}))
    assert run_filter.matches(make_run("r", params={"p": other})) == (other == pattern)


OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le}


@given(
    st.sampled_from(sorted(OPS)),
    st.floats(allow_infinity=False),
    FLOATS,
    st.booleans(),
)
def test_metric_match_agrees_with_python(op: str, value: float, rhs: float, present: bool) -> None:
    run = make_run("r", metrics={"m": value} if present else {})
    expected = present and OPS[op](value, rhs)
    comparison = Comparison("metric", "m", op, rhs)
    assert RunFilter((comparison,)).matches(run) == expected


@given(st.lists(st.one_of(st.none(), st.just(math.nan), FLOATS), max_size=12), st.booleans())
def test_sort_puts_values_then_nan_then_missing(
    values: list[float | None], ascending: bool
) -> None:
    runs = [
        make_run(f"r{i:02d}", metrics={} if v is None else {"m": v}) for i, v in enumerate(values)
    ]
    direction = "ASC" if ascending else "DESC"
    got = [run.data.metrics.get("m") for run in sort_runs(runs, [f"metrics.m {direction}"])]
    ranks = [2 if v is None else 1 if math.isnan(v) else 0 for v in got]
    assert ranks == sorted(ranks)
    present = [v for v in got if v is not None and not math.isnan(v)]
    assert present == sorted(present, reverse=not ascending)
