"""Request metadata in a ContextVar, the same for Flask (threads, gevent greenlets) and ASGI
(tasks, and sync endpoints in the threadpool): read it with :func:`current_request`."""
import contextvars
import os
import sys
import time
import uuid
from typing import Any, Callable, Dict, Optional

REQUEST_ID_HEADER = "X-Request-ID"
_DRUM_COMMON = "datarobot_drum.drum.common"


class RequestInfo:
    """One request: identity, outcome, times, and the cgroup's peak memory over it.

    ``peak_memory_bytes`` is the peak of the whole cgroup the daemon watches (every process of
    the server, not this request alone) over the samples that cover the request, filled in
    after the request, off its path. ``peak_complete``: those samples cover the whole request;
    ``peak_exact``: the value is the exact peak over them (otherwise a lower bound).
    """

    __slots__ = ("request_id", "method", "path", "_route", "_route_lookup", "status", "error",
                 "start_unix_ns", "end_unix_ns", "_start_perf_ns", "duration_seconds", "pid",
                 "peak_memory_bytes", "peak_complete", "peak_exact", "peak_samples", "server")

    def __init__(self, request_id: str, method: str, path: str, server: str,
                 route_lookup: Optional[Callable[[], Optional[str]]] = None) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path
        self.server = server
        self._route: Optional[str] = None
        self._route_lookup = route_lookup
        self.status: Optional[int] = None
        self.error: Optional[str] = None
        self.start_unix_ns = time.time_ns()
        self._start_perf_ns = time.perf_counter_ns()
        self.end_unix_ns: Optional[int] = None
        self.duration_seconds: Optional[float] = None
        self.pid = os.getpid()
        self.peak_memory_bytes: Optional[int] = None
        self.peak_complete = False
        self.peak_exact = False
        self.peak_samples = 0

    @property
    def route(self) -> Optional[str]:
        """The route template (``/items/{item_id}``, ``/predict/<path:p>``), once routed."""
        if self._route is None and self._route_lookup is not None:
            try:
                self._route = self._route_lookup()
            except Exception:
                self._route = None
        return self._route

    @route.setter
    def route(self, value: Optional[str]) -> None:
        self._route = value

    @property
    def finished(self) -> bool:
        return self.end_unix_ns is not None

    def mark_end(self) -> None:
        """The response has been sent (first call wins; the route is frozen here)."""
        if self.end_unix_ns is None:
            self.duration_seconds = (time.perf_counter_ns() - self._start_perf_ns) / 1e9
            self.end_unix_ns = time.time_ns()
            _ = self.route
            self._route_lookup = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "status": self.status,
            "error": self.error,
            "start_unix_ns": self.start_unix_ns,
            "end_unix_ns": self.end_unix_ns,
            "duration_seconds": self.duration_seconds,
            "pid": self.pid,
            "server": self.server,
            "peak_memory_bytes": self.peak_memory_bytes,
            "peak_complete": self.peak_complete,
            "peak_exact": self.peak_exact,
            "peak_samples": self.peak_samples,
        }

    def __repr__(self) -> str:
        return "RequestInfo({})".format(", ".join("{}={!r}".format(k, v) for k, v in self.to_dict().items()))


_current: "contextvars.ContextVar[Optional[RequestInfo]]" = contextvars.ContextVar(
    "drum_monitor_request", default=None)


def current_request() -> Optional[RequestInfo]:
    """The request being handled in this context (thread, greenlet or task), or None."""
    return _current.get()


def drum_request_id() -> Optional[str]:
    """DRUM's ``ctx_request_id`` in this context, when DRUM is loaded and has set it."""
    common = sys.modules.get(_DRUM_COMMON)
    variable = getattr(common, "ctx_request_id", None) if common is not None else None
    if variable is None:
        return None
    try:
        value = variable.get(None)
    except Exception:
        return None
    return value if isinstance(value, str) and value else None


def choose_request_id(header: Optional[str]) -> str:
    """``X-Request-ID`` if sent, else DRUM's request id when DRUM is loaded, else a new uuid4."""
    if header:
        return header
    return drum_request_id() or str(uuid.uuid4())
