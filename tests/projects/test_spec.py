"""The MLproject file as MLflow reads it, and every mistake refused before anything runs."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mltrail.projects import ProjectError, load_project
from mltrail.projects.spec import PARAMETER_TYPES, Parameter, parse_mlproject


def _project(tmp_path: Path, mlproject: str | None, **files: str) -> Path:
    if mlproject is not None:
        (tmp_path / "MLproject").write_text(mlproject)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


SPEC = """
name: demo
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.1}
      depth: int
      data: {type: path, default: data.csv}
      source: {type: uri, default: "s3://bucket/x"}
      label: string
    command: "python train.py --alpha {alpha} --depth {depth} --data {data} --label {label}"
  other:
    command: "bash other.sh"
"""


def test_reads_name_environment_entry_points_and_parameters(tmp_path: Path) -> None:
    root = _project(tmp_path, SPEC, **{"python_env.yaml": "python: '3.11'\n", "data.csv": "x"})
    project = load_project(root)
    assert project.name == "demo" and project.env_type == "python_env"
    assert project.env_file == root / "python_env.yaml"
    main = project.entry_point("main")
    assert [(p.name, p.type, p.default) for p in main.parameters.values()] == [
        ("alpha", "float", "0.1"), ("depth", "int", None), ("data", "path", "data.csv"),
        ("source", "uri", "s3://bucket/x"), ("label", "string", None),
    ]  # fmt: skip
    declared, extra = main.values(
        {"depth": "3", "label": "a b; rm -rf /", "seed": 7}, tmp_path, root
    )
    assert declared["data"] == str(root / "data.csv")
    line = main.command_line(declared, extra)
    assert shlex.split(line) == [
        "python", "train.py", "--alpha", "0.1", "--depth", "3", "--data", str(root / "data.csv"),
        "--label", "a b; rm -rf /", "--seed", "7",
    ]  # fmt: skip


def test_a_folder_without_mlproject_runs_its_scripts(tmp_path: Path) -> None:
    root = _project(tmp_path, None, **{"train.py": "", "run.sh": "", "conda.yaml": "name: x\n"})
    project = load_project(root)
    assert project.env_type == "conda_env" and project.env_file == root / "conda.yaml"
    assert project.entry_point("train.py").command == f"{shlex.quote(sys.executable)} train.py"
    assert project.entry_point("run.sh").command == "bash run.sh"
    with pytest.raises(ProjectError, match="No entry point 'main'"):
        project.entry_point("main")
    with pytest.raises(ProjectError, match="outside the project"):
        project.entry_point("../escape.py")


MAIN = "entry_points:\n  main:\n    command: "


@pytest.mark.parametrize(
    ("mlproject", "says"),
    [
        ("entry_points: [\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("python_env: a.yaml\nconda_env: b.yaml\n", "one environment"),
        ("python_env: missing.yaml\n", "not a file in the project"),
        ("python_env: ../../etc/passwd\n", "outside the project folder"),
        ("docker_env: {}\n", "docker_env needs an image"),
        ("entry_points:\n  main: {}\n", "needs a command"),
        ("entry_points:\n  main:\n    command: run {x}\n", "uses {x}, which is not one"),
        (f"{MAIN}run {{x\n    parameters: {{x: int}}\n", "not a valid template"),
        (f"{MAIN}run\n    parameters: {{x: number}}\n", "has type 'number'"),
        (f"{MAIN}run\n    parameters: {{x: [1]}}\n", "must be a type"),
    ],
)  # fmt: skip
def test_a_malformed_mlproject_is_one_clear_error(
    tmp_path: Path, mlproject: str, says: str
) -> None:
    with pytest.raises(ProjectError, match=None) as caught:
        load_project(_project(tmp_path, mlproject))
    assert says in str(caught.value)
    assert "MLproject" in str(caught.value)


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({}, "needs a value for 'depth', 'label'"),
        ({"depth": "2.5", "label": "x"}, "'depth' (int) must be an integer; got '2.5'"),
        ({"depth": "2", "label": "x", "alpha": "fast"}, "'alpha' (float) must be a number"),
        ({"depth": "2", "label": "x", "data": "nowhere.csv"}, "'nowhere.csv' does not exist"),
        ({"depth": "2", "label": "x", "source": "no-scheme"}, "must be a URI"),
        ({"depth": "2", "label": "x", "data": "s3://b/k"}, "does not download"),
    ],
)
def test_bad_values_are_refused_by_name(tmp_path: Path, values: dict[str, str], says: str) -> None:
    root = _project(tmp_path, SPEC, **{"python_env.yaml": "", "data.csv": "x"})
    with pytest.raises(ProjectError) as caught:
        load_project(root).entry_point("main").values(values, tmp_path, root)
    assert says in str(caught.value)


def test_mlproject_is_found_in_any_letter_case(tmp_path: Path) -> None:
    (tmp_path / "mlproject").write_text("name: lower\n")
    assert load_project(tmp_path).name == "lower"


text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)


@given(
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), text, max_size=4),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), text, max_size=3),
)
def test_any_values_reach_the_command_as_one_word_each(
    declared: dict[str, str], extra: dict[str, str]
) -> None:
    from mltrail.projects import EntryPoint, Parameter

    extra = {k: v for k, v in extra.items() if k not in declared}
    template = " ".join(["run", *(f"{{{k}}}" for k in declared)])
    entry = EntryPoint("main", template, {k: Parameter(k) for k in declared})
    words = shlex.split(entry.command_line(declared, extra))
    expected = ["run", *declared.values()]
    for k, v in extra.items():
        expected += [f"--{k}", v]
    assert words == expected


#: YAML 1.1 line breaks other than \n: PyYAML's emitter writes them raw inside quotes with
#: allow_unicode, where its loader folds them into a space (its quirk, not the parser's).
_YAML_BREAKS = "\x85\u2028\u2029"
_NAMES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters=_YAML_BREAKS),
    min_size=1,
)
_IDENTIFIERS = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_DEFAULTS = st.one_of(
    st.none(),
    st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters=_YAML_BREAKS), max_size=20
    ),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
)


@given(
    name=st.none() | _NAMES,
    entry_points=st.dictionaries(
        _NAMES,
        st.dictionaries(
            _IDENTIFIERS, st.tuples(st.sampled_from(PARAMETER_TYPES), _DEFAULTS), max_size=4
        ),
        max_size=4,
    ),
)
def test_parsing_an_mlproject_gives_back_what_it_declares(
    name: str | None, entry_points: dict[str, dict[str, tuple[str, object]]]
) -> None:
    """parse_mlproject(yaml of a spec) is that spec: names, types, defaults as text, commands."""
    record: dict[str, object] = {"name": name} if name is not None else {}
    record["entry_points"] = {
        ep: {
            "parameters": {p: {"type": t, "default": d} for p, (t, d) in params.items()},
            "command": "run " + " ".join(f"{{{p}}}" for p in params),
        }
        for ep, params in entry_points.items()
    }
    spec = parse_mlproject(
        yaml.safe_dump(record, allow_unicode=True, sort_keys=False), "MLproject", aliases=False
    )
    assert spec.name == name
    assert list(spec.entry_points) == list(entry_points)
    for ep, params in entry_points.items():
        parsed = spec.entry_points[ep]
        assert parsed.command == record["entry_points"][ep]["command"]  # type: ignore[index]
        for p, (kind, default) in params.items():
            expected = (
                None
                if default is None
                else (str(default).lower() if isinstance(default, bool) else str(default))
            )
            assert parsed.parameters[p] == Parameter(p, kind, expected)


@given(st.text(max_size=200))
def test_any_text_is_a_spec_or_one_project_error(text: str) -> None:
    try:
        parse_mlproject(text, "MLproject", aliases=False)
    except ProjectError as e:
        assert str(e).startswith("MLproject")


def test_the_site_refuses_yaml_aliases_that_mltrail_run_reads() -> None:
    text = "entry_points:\n  a: &ep {command: go}\n  b: *ep\n"
    assert list(parse_mlproject(text, "MLproject").entry_points) == ["a", "b"]
    with pytest.raises(ProjectError, match="aliases"):
        parse_mlproject(text, "MLproject", aliases=False)
