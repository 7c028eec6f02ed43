"""Switches DRUM to the drop-in without changing DRUM.

The package installs ``drum_monitor_client.pth``, which does nothing unless
``DRUM_MONITOR_PATCH=1`` is in the environment. Then, in every Python process of that
environment (the ``drum`` process, the gunicorn master it execs into, its forked workers,
spawned processes, which run ``site`` again), an import hook replaces ``ResourceMonitor`` in
``datarobot_drum.drum.resource_monitor`` and ``datarobot_drum.drum.root_predictors.prediction_server``
as those modules are imported, and installs the request-metadata hooks on the Flask app that
``datarobot_drum.drum.server.create_flask_app`` builds (``DRUM_MONITOR_REQUESTS=0`` turns that
off; ``DRUM_MONITOR_REQUESTS_JSONL=PATH`` appends finished requests to PATH).

``DRUM_MONITOR_SCOPE`` (``tree``/``self``) and ``DRUM_MONITOR_VERIFY`` (``pid``/``cmdline``/``off``)
set the patched monitor's options.
"""
import functools
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import threading
from types import ModuleType
from typing import Any, Callable, Dict, Optional, Sequence

from .resource_monitor import SCOPES, ResourceMonitor
from .target import VERIFY_MODES

logger = logging.getLogger("drum_monitor_client")

PATCH_ENV = "DRUM_MONITOR_PATCH"
REQUESTS_ENV = "DRUM_MONITOR_REQUESTS"
REQUESTS_JSONL_ENV = "DRUM_MONITOR_REQUESTS_JSONL"
SCOPE_ENV = "DRUM_MONITOR_SCOPE"
VERIFY_ENV = "DRUM_MONITOR_VERIFY"

RESOURCE_MONITOR_MODULE = "datarobot_drum.drum.resource_monitor"
PREDICTION_SERVER_MODULE = "datarobot_drum.drum.root_predictors.prediction_server"
SERVER_MODULE = "datarobot_drum.drum.server"
ORIGINAL_ATTRIBUTE = "_drum_monitor_original_ResourceMonitor"


def _option(name: str, allowed: Sequence[str], default: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if value not in allowed:
        logger.warning("drum-monitor: %s=%r is not one of %s; using %r", name, value, ", ".join(allowed), default)
        return default
    return value


class PatchedResourceMonitor(ResourceMonitor):
    """The drop-in with its options from the environment (DRUM passes none)."""

    def __init__(self, monitor_current_process: bool = False, **options: Any) -> None:
        options.setdefault("scope", _option(SCOPE_ENV, SCOPES, "tree"))
        options.setdefault("verify", _option(VERIFY_ENV, VERIFY_MODES, "pid"))
        super().__init__(monitor_current_process, **options)


def _patch_resource_monitor(module: ModuleType) -> None:
    original = getattr(module, "ResourceMonitor", None)
    if original is None or original is PatchedResourceMonitor:
        return
    setattr(module, ORIGINAL_ATTRIBUTE, original)
    setattr(module, "ResourceMonitor", PatchedResourceMonitor)


def _patch_prediction_server(module: ModuleType) -> None:
    # It did `from ...resource_monitor import ResourceMonitor`: normally already ours, unless
    # resource_monitor was imported before the hook.
    if hasattr(module, "ResourceMonitor"):
        setattr(module, "ResourceMonitor", PatchedResourceMonitor)


def _patch_server(module: ModuleType) -> None:
    if os.environ.get(REQUESTS_ENV, "").strip() == "0":
        return
    original = getattr(module, "create_flask_app", None)
    if original is None or getattr(original, "_drum_monitor_wrapped", False):
        return

    @functools.wraps(original)
    def create_flask_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        try:
            from .flask import init_app

            init_app(app, jsonl_path=os.environ.get(REQUESTS_JSONL_ENV) or None)
        except Exception:
            logger.exception("drum-monitor: cannot install the request hooks on DRUM's Flask app")
        return app

    setattr(create_flask_app, "_drum_monitor_wrapped", True)
    setattr(module, "create_flask_app", create_flask_app)


PATCHES: Dict[str, Callable[[ModuleType], None]] = {
    RESOURCE_MONITOR_MODULE: _patch_resource_monitor,
    PREDICTION_SERVER_MODULE: _patch_prediction_server,
    SERVER_MODULE: _patch_server,
}


def _apply(name: str, module: ModuleType) -> None:
    try:
        PATCHES[name](module)
    except Exception:
        logger.exception("drum-monitor: cannot patch %s", name)


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then patches the module (other attributes pass through)."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _apply(self._name, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _PatchingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname not in PATCHES:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _PatchingFinder):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, fullname)
                return spec  # type: ignore[no-any-return]
        return None


_lock = threading.Lock()


def installed() -> bool:
    return any(isinstance(finder, _PatchingFinder) for finder in sys.meta_path)


def install() -> None:
    """Patch DRUM's modules as they are imported (and those already imported). Idempotent."""
    with _lock:
        if not installed():
            sys.meta_path.insert(0, _PatchingFinder())
        for name in PATCHES:
            module = sys.modules.get(name)
            if module is not None:
                _apply(name, module)


def uninstall() -> None:
    """Stop patching future imports (modules already patched stay patched)."""
    with _lock:
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PatchingFinder)]


def install_from_pth() -> None:
    """Called by drum_monitor_client.pth when DRUM_MONITOR_PATCH=1; never breaks startup."""
    try:
        install()
    except Exception as error:  # pragma: no cover - would need a broken interpreter
        sys.stderr.write("drum-monitor: cannot install the DRUM patch: {}: {}\n".format(type(error).__name__, error))
