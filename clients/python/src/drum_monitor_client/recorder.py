"""Finished requests: their peak memory resolved off the request path, then handed to an
``on_complete`` callback and/or appended to a JSON-lines file.

One resolver per process: a background thread (started on first use, and again in a forked
child) waits until the daemon has sampled past a request's end, then asks for the range window
of the samples covering it (see :mod:`.peaks`). A request in a fork-per-request child (werkzeug
``--max-workers``) resolves at once with what the daemon has, marked incomplete, since the
child exits right after its response.
"""
import atexit
import json
import logging
import os
import threading
import time
from collections import deque
from typing import Callable, Deque, List, Optional, Tuple

from .client import Client, shared_client
from .errors import DaemonError, DaemonUnavailable
from .local import LocalReader
from .peaks import NO_PEAK, Peak, peak_from_window, window_range
from .request_info import RequestInfo
from .target import normalise_verify, watches_this_server, VerifyMode

logger = logging.getLogger("drum_monitor_client")

OnComplete = Callable[[RequestInfo], None]


class RequestSink:
    """Where finished records go. Inactive (no peak resolution at all) when it has neither a
    callback nor a file."""

    def __init__(self, on_complete: Optional[OnComplete] = None, jsonl_path: Optional[str] = None) -> None:
        self.on_complete = on_complete
        self.jsonl_path = jsonl_path or None
        self._fd: Optional[int] = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.on_complete is not None or self.jsonl_path is not None

    def deliver(self, info: RequestInfo) -> None:
        if self.on_complete is not None:
            try:
                self.on_complete(info)
            except Exception:
                logger.exception("drum-monitor: on_complete raised for request %s", info.request_id)
        if self.jsonl_path is not None:
            line = (json.dumps(info.to_dict(), separators=(",", ":")) + "\n").encode("utf-8")
            try:
                with self._lock:
                    if self._fd is None:
                        self._fd = os.open(self.jsonl_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                    # One write per line on an O_APPEND descriptor: lines from several workers
                    # never interleave.
                    os.write(self._fd, line)
            except OSError as error:
                logger.warning("drum-monitor: cannot append to %s: %s", self.jsonl_path, error)


class DaemonView:
    """What the resolver knows of the daemon, from its ``/v1/snapshot``: the newest sample's
    time, the sampling interval, whether it watches this server, and the watched cgroup."""

    def __init__(self, client: Client, verify: str) -> None:
        self._client = client
        self._verify = verify
        self.interval_ns: Optional[int] = None
        self.newest_time_ns: Optional[int] = None
        self.watching: Optional[bool] = None
        self.cgroup_path: Optional[str] = None

    def refresh(self) -> None:
        """Ask the daemon again. Raises DaemonUnavailable/DaemonError."""
        snapshot = self._client.snapshot()
        interval = snapshot.get("interval_seconds")
        newest = snapshot.get("time_unix_ns")
        processes = snapshot.get("processes")
        if (not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval <= 0
                or not isinstance(newest, int) or isinstance(newest, bool)):
            raise DaemonUnavailable("the daemon's /v1/snapshot lacks interval_seconds or time_unix_ns",
                                    "protocol", self._client.socket_path)
        self.interval_ns = int(interval * 1e9)
        self.newest_time_ns = newest
        self.watching = watches_this_server(processes if isinstance(processes, list) else [], self._verify)
        cgroup = snapshot.get("cgroup")
        path = cgroup.get("path") if isinstance(cgroup, dict) else None
        self.cgroup_path = path if isinstance(path, str) else None

    def sampled_past(self, end_ns: int) -> bool:
        """Whether the daemon has taken a sample at or after ``end_ns``: every sample covering a
        request that ended then exists (a sample taken later stands for a time after it)."""
        return self.newest_time_ns is not None and self.newest_time_ns >= end_ns


def request_peak(client: Client, info: RequestInfo) -> Peak:
    """The peak over ``info``'s [start, end] from one range window. Raises DaemonUnavailable,
    DaemonError or ValueError."""
    from_ns, to_ns = window_range(info.start_unix_ns, info.end_unix_ns or info.start_unix_ns)
    return peak_from_window(client.window(from_ns=from_ns, to_ns=to_ns))


class PeakResolver:
    """Resolves finished requests' peaks in a background thread and delivers them.

    While records wait, the thread asks for the daemon's snapshot about once per sampling
    interval, just after the next sample is due; a record whose end the daemon has sampled past
    is resolved with one range window (:func:`request_peak`). So the daemon is asked once per
    interval plus once per request, whatever the request rate.
    """

    # Records resolved at exit (flush) get at most this long, then are delivered as they are.
    FLUSH_SECONDS = 2.0

    def __init__(self, client: Optional[Client] = None, verify: VerifyMode = "pid",
                 max_wait_seconds: float = 10.0, max_pending: int = 10_000) -> None:
        self._client = client if client is not None else shared_client()
        self._verify = normalise_verify(verify)
        self._max_wait_ns = int(max_wait_seconds * 1e9)
        self._max_pending = max_pending
        self._pending: Deque[Tuple[RequestInfo, RequestSink]] = deque()
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._view = DaemonView(self._client, self._verify)
        self._closed = False

    def submit(self, info: RequestInfo, sink: RequestSink) -> None:
        overflow: List[Tuple[RequestInfo, RequestSink]] = []
        with self._cond:
            self._pending.append((info, sink))
            while len(self._pending) > self._max_pending:
                overflow.append(self._pending.popleft())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="drum-monitor-peaks", daemon=True)
                self._thread.start()
            if len(self._pending) == 1:
                # Wake the thread only when it sleeps for want of work; otherwise it already
                # polls at the daemon's cadence.
                self._cond.notify()
        for old, old_sink in overflow:
            _deliver(old, old_sink, NO_PEAK)

    def resolve_now(self, info: RequestInfo, sink: RequestSink) -> None:
        """For a process about to exit: resolved without waiting, from what the daemon has now,
        and marked incomplete (the daemon has, as a rule, not sampled past the end yet)."""
        view = DaemonView(self._client, self._verify)
        try:
            view.refresh()
            peak = request_peak(self._client, info) if view.watching else NO_PEAK
        except (DaemonUnavailable, DaemonError, ValueError):
            peak = NO_PEAK
        peak = peak._replace(complete=False, exact=False)
        if view.watching:
            # The cgroup's usage now, read here, is a lower bound of its peak over the request.
            local = LocalReader().cgroup_memory("self")
            if local is not None and local.used_bytes is not None and local.path == view.cgroup_path:
                peak = peak._replace(bytes=max(peak.bytes or 0, local.used_bytes))
        _deliver(info, sink, peak)

    def flush(self) -> None:
        """Deliver everything pending with what is known now (at interpreter exit)."""
        with self._cond:
            self._closed = True
            batch = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        if not batch:
            return
        view = DaemonView(self._client, self._verify)  # the thread may still use its own
        try:
            view.refresh()
            asking = bool(view.watching)
        except (DaemonUnavailable, DaemonError, ValueError):
            asking = False
        deadline = time.monotonic() + self.FLUSH_SECONDS
        for info, sink in batch:
            peak = NO_PEAK
            if asking and time.monotonic() < deadline:
                try:
                    peak = request_peak(self._client, info)
                except (DaemonUnavailable, DaemonError, ValueError):
                    asking = False
            _deliver(info, sink, peak)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = list(self._pending)
            try:
                self._view.refresh()
                failed = False
            except (DaemonUnavailable, DaemonError) as error:
                logger.debug("drum-monitor: cannot resolve request peaks yet: %s", error)
                failed = True
            done = []
            for info, sink in batch:
                end = info.end_unix_ns or info.start_unix_ns
                expired = time.time_ns() - end > self._max_wait_ns
                if not failed and self._view.watching is False:
                    done.append((info, sink, NO_PEAK))
                elif not failed and (self._view.sampled_past(end) or expired):
                    # Expired: what the daemon holds of it (not covered, so incomplete).
                    try:
                        done.append((info, sink, request_peak(self._client, info)))
                    except (DaemonUnavailable, DaemonError, ValueError) as error:
                        logger.debug("drum-monitor: cannot resolve request %s's peak yet: %s", info.request_id, error)
                        failed = True  # the rest wait for the next round
                        if expired:
                            done.append((info, sink, NO_PEAK))
                elif expired:
                    done.append((info, sink, NO_PEAK))
            finished = {id(info) for info, _, _ in done}
            with self._cond:
                # Only what is still pending: flush() at exit may have delivered it meanwhile.
                still = {id(info) for info, _ in self._pending}
                self._pending = deque(p for p in self._pending if id(p[0]) not in finished)
            for info, sink, peak in done:
                if id(info) in still:
                    _deliver(info, sink, peak)
            with self._cond:
                if self._pending and not self._closed:
                    self._cond.wait(self._next_poll_seconds(failed))

    def _next_poll_seconds(self, failed: bool) -> float:
        interval = self._view.interval_ns
        if failed or interval is None:
            return 0.25
        if self._view.newest_time_ns is not None:
            due = self._view.newest_time_ns + interval - time.time_ns()
            if due >= 0:
                return min(due / 1e9 + 0.002, interval / 1e9)  # just after the next sample is due
            # Overdue (a late tick, or a daemon whose sampler is stuck): ask again soon, not at once.
            return max(interval / 1e9 / 10, 0.002)
        return interval / 1e9


def _deliver(info: RequestInfo, sink: RequestSink, peak: Peak) -> None:
    info.peak_memory_bytes = peak.bytes
    info.peak_complete = peak.complete
    info.peak_exact = peak.exact
    info.peak_samples = peak.samples
    sink.deliver(info)


_resolver: Optional[PeakResolver] = None
_resolver_lock = threading.Lock()


def resolver() -> PeakResolver:
    """This process's resolver (a forked child gets a fresh one: the thread does not survive
    fork and the parent's pending records are the parent's)."""
    global _resolver
    with _resolver_lock:
        if _resolver is None:
            _resolver = PeakResolver()
        return _resolver


def configure(client: Optional[Client] = None, verify: VerifyMode = "pid", max_wait_seconds: float = 10.0,
              max_pending: int = 10_000) -> PeakResolver:
    """Replace this process's resolver: another daemon socket, another target check, how long
    a record waits for the daemon before it is delivered incomplete. Records pending in the old
    one are delivered with what is known."""
    global _resolver
    replacement = PeakResolver(client, verify, max_wait_seconds, max_pending)
    with _resolver_lock:
        old, _resolver = _resolver, replacement
    if old is not None:
        old.flush()
    return replacement


def _reset_after_fork() -> None:
    global _resolver, _resolver_lock
    _resolver = None
    _resolver_lock = threading.Lock()


def _flush_at_exit() -> None:
    current = _resolver
    if current is not None:
        current.flush()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
atexit.register(_flush_at_exit)


def finish_request(info: RequestInfo, sink: RequestSink, exiting_after: bool = False) -> None:
    """Called when the response has been sent: queue the record for its peak (or resolve it at
    once if this process exits right after the response)."""
    info.mark_end()
    if not sink.active:
        return
    if exiting_after:
        resolver().resolve_now(info, sink)
    else:
        resolver().submit(info, sink)
