"""Replacing scikit-learn methods and functions, and putting the originals back.

A method is found the way Python finds it (through the class's MRO, without calling
descriptors).  A plain function is replaced by a wrapper set on the class itself (and
removed again on revert, so an inherited method is inherited again); a method that
scikit-learn exposes through ``available_if`` (``Pipeline.predict``,
``GridSearchCV.predict_proba`` ...) has the function inside its descriptor replaced.

Wrappers are made by a factory ``make(original) -> wrapper`` and keep the original's
name, docstring and signature (``functools.wraps``), which scikit-learn inspects.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FunctionType
from typing import Any, ClassVar

WrapperFactory = Callable[[Callable[..., Any]], Callable[..., Any]]
_ORIGINAL = "__mltrail_autolog_original__"
_MISSING = object()


@dataclass(frozen=True)
class Patch:
    """One replaced attribute: ``owner.name`` held ``previous`` (``_MISSING``: inherited)."""

    owner: Any
    name: str
    previous: Any

    def revert(self) -> None:
        if self.previous is _MISSING:
            if self.name in vars(self.owner):
                delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self.previous)


def original_of(fn: Any) -> Any:
    """The unpatched function behind ``fn`` (``fn`` itself if it is no wrapper of ours)."""
    while callable(fn) and hasattr(fn, _ORIGINAL):
        fn = getattr(fn, _ORIGINAL)
    return fn


def _mark(wrapper: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    setattr(wrapper, _ORIGINAL, original)
    return wrapper


def patch_method(cls: type, name: str, make: WrapperFactory, seen: set[int]) -> Patch | None:
    """Wrap ``cls.name``; None when it has no such method or it is not a kind we patch.

    ``seen`` holds the ids of ``available_if`` descriptors already patched (one
    descriptor serves every subclass, so it is patched once).
    """
    try:
        raw = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(raw, FunctionType):
        original = original_of(raw)
        previous = vars(cls).get(name, _MISSING)
        setattr(cls, name, _mark(make(original), original))
        return Patch(cls, name, previous)
    fn = getattr(raw, "fn", None)
    if isinstance(fn, FunctionType) and hasattr(raw, "check") and id(raw) not in seen:
        seen.add(id(raw))
        original = original_of(fn)
        raw.fn = _mark(make(original), original)
        return Patch(raw, "fn", fn)
    return None


def patch_function(module: Any, name: str, make: WrapperFactory) -> Patch | None:
    """Wrap the module-level function ``module.name``."""
    current = getattr(module, name, None)
    if not callable(current) or inspect.isclass(current):
        return None
    original = original_of(current)
    setattr(module, name, _mark(make(original), original))
    return Patch(module, name, current)


def revert_all(patches: list[Patch]) -> None:
    """Undo ``patches`` (last first) and empty the list."""
    while patches:
        patches.pop().revert()


class TrainingSession:
    """One patched training call in progress; only the outermost one logs.

    Sessions form a process-wide stack (scikit-learn's worker threads see their
    parent's session): a ``fit`` called while another runs (a pipeline step, a search
    candidate, ``super().fit``) is not logged, as in MLflow.
    """

    _stack: ClassVar[list[TrainingSession]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.is_root = False

    def __enter__(self) -> TrainingSession:
        with self._lock:
            self.is_root = not self._stack
            self._stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            for i in range(len(self._stack) - 1, -1, -1):
                if self._stack[i] is self:
                    del self._stack[i]
                    break

    def should_log(self) -> bool:
        return self.is_root

    @classmethod
    def is_active(cls) -> bool:
        return bool(cls._stack)
