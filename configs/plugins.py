"""Plugins: a researcher's own file or module (`--plugins`, the config key `plugins:`), imported so
that its `register_*` decorators add to the registries of models/registry.py.

A file plugin is recorded by its absolute path, so a run folder or a release file can name it later;
every failure (a missing file, an import error, a name that clashes with a built-in) is one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

from models import registry
from models.registry import RegistryError

_loaded: set[str] = set()  # plugin keys imported in this process


def load_plugins(specs: Sequence[str]) -> list[str]:
    """Import each plugin (a path to a .py file, or an importable module name) once; returns their
    keys (plugin_key)."""
    registry.load_builtins()  # a plugin name that clashes with a built-in fails at registration
    loaded = []
    for spec in specs:
        key = plugin_key(spec)
        if key not in _loaded:
            registry.LOADING.append(key)  # what registers meanwhile is recorded as this plugin's
            try:
                _import(key)
            except BaseException as err:  # a half-imported plugin leaves no names behind
                forget_plugin(key)
                if not isinstance(err, Exception):  # Ctrl-C, sys.exit(): theirs to end the run
                    raise
                if isinstance(err, RegistryError):
                    raise RegistryError(f"plugin {spec}: {err}") from None
                first = str(err).splitlines()[0] if str(err) else ""
                raise RegistryError(
                    f"plugin {spec} failed to import: {type(err).__name__}: {first}; fix the "
                    "file, or leave --plugins out"
                ) from None
            finally:
                registry.LOADING.pop()
            _loaded.add(key)
        loaded.append(key)
    return loaded


def forget_plugin(key: str) -> None:
    """Undo a plugin's registrations (a failed import, or a test's throw-away plugin)."""
    _loaded.discard(key)
    for table in registry.REGISTRIES.values():
        for name in [name for name, source in table.sources.items() if source == key]:
            table.remove(name)


def plugin_key(spec: str) -> str:
    """A file plugin's absolute path (the .py file must exist), or a module name as given."""
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise RegistryError(
                f"plugin file {spec} does not exist; pass a .py file or a module name"
            )
        return str(path.resolve())
    return spec


def _import(key: str) -> None:
    if not key.endswith(".py"):
        importlib.import_module(key)
        return
    name = "plugins." + Path(key).stem
    module_spec = importlib.util.spec_from_file_location(name, key)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    module_spec.loader.exec_module(module)
