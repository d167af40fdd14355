"""Every public name explains itself, and the example in its docstring runs.

The public names are those ``mltrail`` exports (its ``__all__``, ``infer_signature`` and
the ``pyfunc`` and ``sklearn`` flavors) and the public methods of ``Client``.  Each
docstring opens with a one-line summary; a function or method documents every argument
under ``Args:`` and, unless it returns None, what it returns under ``Returns:``; and
every one carries a ``>>>`` example.  The examples run here with doctest, each in a
fresh git repository and store (the ``tracking`` fixture), from the project folder, so
an example may write files beside the store and every run it leaves open is ended
afterwards.  They run as in an interactive session (no script name in ``sys.argv``), so
a run's source is that clean project folder, not pytest's checkout, and as in a fresh
process, so each once-per-process ``NoEffectWarning`` is given again.
"""

from __future__ import annotations

import doctest
import inspect
import re
import sys
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import pytest

import mltrail
from mltrail import Client
from mltrail.store import FileStore
from mltrail.tracking import unsupported

#: A section header of a Google-style docstring (MLflow's).
_SECTION = re.compile(r"^[ \t]*(Args|Returns|Raises|Example|Examples|Note):[ \t]*$", re.M)
#: ``name:`` or ``name (type):`` opening a line of an ``Args:`` section.
_ARG = re.compile(r"^[ \t]*\**(\w+)(?: \([^)]*\))?:", re.M)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public_api() -> dict[str, Any]:
    """Qualified name -> object, for each documented name (an alias is listed once)."""
    found: dict[str, Any] = {}
    seen: set[int] = set()
    # A class under its own name first: MlflowException is listed as MltrailError.
    for name in sorted(mltrail.__all__, key=lambda n: _is_alias(n, getattr(mltrail, n))):
        obj = getattr(mltrail, name)
        if isinstance(obj, str) or id(obj) in seen:  # __version__, and aliases
            continue
        seen.add(id(obj))
        found[f"mltrail.{name}"] = obj
    flavors = [
        f"{m.__name__[8:]}.{n}" for m in (mltrail.pyfunc, mltrail.sklearn) for n in m.__all__
    ]
    for name in ("infer_signature", *flavors):
        obj = attrgetter(name)(mltrail)
        if not isinstance(obj, str):  # FLAVOR_NAME, SERIALIZATION_FORMAT_*
            found[f"mltrail.{name}"] = obj
    for name, member in inspect.getmembers(Client):
        if not name.startswith("_") and (
            inspect.isfunction(member) or isinstance(member, property)
        ):
            found[f"mltrail.Client.{name}"] = member
    return found


def _is_alias(name: str, obj: Any) -> bool:
    return getattr(obj, "__name__", name) != name


def own_docstring(obj: Any) -> str:
    """The docstring written for ``obj`` ("" for none, or a dataclass's generated one)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    if not doc or (isinstance(obj, type) and doc.startswith(f"{obj.__name__}(")):
        return ""
    return str(doc)


def sections(doc: str) -> dict[str, str]:
    """Section name -> its text ("" holds the summary and description)."""
    parts = _SECTION.split(doc)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def problems(obj: Any) -> list[str]:
    """What the docstring of ``obj`` lacks (empty when it meets the contract above)."""
    doc = own_docstring(obj)
    if not doc:
        return ["no docstring"]
    found = []
    lines = doc.strip().splitlines()
    if len(lines) > 1 and lines[1].strip():
        found.append("the summary is more than one line")
    parts = sections(doc)
    if inspect.isfunction(obj):
        signature = inspect.signature(obj)
        arguments = [name for name in signature.parameters if name != "self"]
        documented = set(_ARG.findall(parts.get("Args", "")))
        missing = [name for name in arguments if name not in documented]
        if missing:
            found.append(f"Args: does not document {', '.join(missing)}")
        returns = signature.return_annotation
        if returns not in (None, "None", inspect.Signature.empty) and "Returns" not in parts:
            found.append("no Returns: section")
    if ">>>" not in doc:
        found.append("no >>> example")
    return found


API = public_api()


@pytest.mark.parametrize("name", sorted(API))
def test_docstring_is_complete(name: str) -> None:
    assert not (found := problems(API[name])), f"{name}: {'; '.join(found)}"


@pytest.mark.parametrize("name", sorted(API))
def test_docstring_example_runs(
    name: str, tracking: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [""])
    monkeypatch.setattr(unsupported, "_warned", set())  # warnings not yet given
    doc = own_docstring(API[name])
    test = doctest.DocTestParser().get_doctest(doc, {}, name, None, 0)
    if not test.examples:
        pytest.skip("no example (test_docstring_is_complete fails)")
    report: list[str] = []
    result = doctest.DocTestRunner(optionflags=_FLAGS).run(test, out=report.append)
    assert result.failed == 0, "".join(report)


def _undocumented(run_id: str, key: str) -> str:
    return key


def _documented(run_id: str, key: str) -> str:
    """Look up ``key``.

    Args:
        run_id: the run.

    Example:
        >>> 1
    """
    return key


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (_undocumented, ["no docstring"]),
        (_documented, ["Args: does not document key", "no Returns: section"]),
    ],
)
def test_the_contract_catches_what_is_missing(
    function: Callable[..., Any], expected: list[str]
) -> None:
    assert problems(function) == expected
