"""``mltrail.autolog()``: autologging for every supported library (today: scikit-learn).

As ``mlflow.autolog``: if scikit-learn is already imported, its integration is set up
at once; otherwise when the program first imports it (an import hook), so calling
``mltrail.autolog()`` costs nothing in a program that never uses scikit-learn.  A
configuration made with ``mltrail.sklearn.autolog(...)`` takes precedence over this
function's, except that ``disable=True`` turns every integration off.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

#: Library module -> the mltrail integration module that autologs it.
INTEGRATIONS = {"sklearn": "mltrail.sklearn"}
OnImport = Callable[[ModuleType | None], None]


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: Sequence[str] | None = None,
) -> None:
    """Enable (or disable) autologging for all supported libraries, with MLflow's options.

    ``exclude_flavors=["sklearn"]`` leaves scikit-learn out; ``log_traces`` and
    ``log_datasets`` are accepted for compatibility and have no effect.
    """
    options = {
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_models": log_models,
        "log_datasets": log_datasets,
        "exclusive": exclusive,
        "disable_for_unsupported_versions": disable_for_unsupported_versions,
        "silent": silent,
        "extra_tags": extra_tags,
    }
    excluded = set(exclude_flavors or ())
    for library, integration in INTEGRATIONS.items():
        if library in excluded:
            continue
        setup = _setup_for(library, integration, options, disable)
        if library in sys.modules or disable:
            setup(sys.modules.get(library))
        elif importlib.util.find_spec(library) is not None:
            when_imported(library, setup)


def _setup_for(library: str, integration: str, options: dict[str, Any], disable: bool) -> OnImport:
    def setup(_module: ModuleType | None) -> None:
        _forget_hook(library)
        try:
            module = importlib.import_module(f"{integration}.autolog")
            config = module.make_config(**options, from_global=True)
            module.configure(None if disable else config, explicit=False)
        except Exception as e:  # may run inside the user's `import sklearn`: never break it
            if not options.get("silent"):
                log.warning("Could not set up autologging for %s: %s", library, e)

    return setup


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Runs a callback right after a given top-level module is first imported."""

    def __init__(self, name: str, callback: OnImport) -> None:
        self.name = name
        self.callback = callback

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        _remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _CallbackLoader(loader, self.callback)
        return spec


class _CallbackLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, callback: OnImport) -> None:
        self.loader = loader
        self.callback = callback

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader  # the module keeps its real loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.callback(module)

    def __getattr__(self, name: str) -> Any:  # resource readers, is_package, get_code ...
        return getattr(self.loader, name)


def when_imported(name: str, callback: OnImport) -> None:
    """Call ``callback(module)`` once ``name`` is imported (replacing an earlier hook)."""
    _forget_hook(name)
    sys.meta_path.insert(0, _PostImportFinder(name, callback))


def _forget_hook(name: str) -> None:
    for finder in list(sys.meta_path):
        if isinstance(finder, _PostImportFinder) and finder.name == name:
            _remove(finder)


def _remove(finder: object) -> None:
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(finder)  # type: ignore[arg-type]
