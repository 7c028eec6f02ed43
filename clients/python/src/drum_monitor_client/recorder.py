"""Finished requests: their peak memory resolved off the request path, then handed to an
``on_complete`` callback and/or appended to a JSON-lines file.

One resolver per process: a background thread (started on first use, and again in a forked
child) waits until the daemon has sampled past a request's end, then takes the peak from the
samples covering it (see :mod:`.peaks`). A request in a fork-per-request child (werkzeug
``--max-workers``) resolves at once with what the daemon has, marked incomplete, since the
child exits right after its response.
"""
import atexit
import json
import logging
import math
import os
import threading
import time
from collections import deque
from typing import Callable, Deque, List, Optional, Tuple

from .client import Client, shared_client
from .errors import DaemonError, DaemonUnavailable
from .local import LocalReader
from .peaks import NO_PEAK, Peak, SampleRow, parse_samples, peak_over, sampled_past, spans
from .request_info import RequestInfo
from .target import normalise_verify, watches_this_server, VerifyMode

logger = logging.getLogger("drum_monitor_client")

OnComplete = Callable[[RequestInfo], None]
MAX_SAMPLES_PER_PAGE = 10_000


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


class SampleBuffer:
    """A contiguous run of the daemon's recent samples, fetched with ``/v1/samples?since=``.

    When the daemon gains ``/v1/window?from=&to=``, :meth:`peak` becomes one request per record
    and this buffer goes; callers only use :meth:`refresh`, :meth:`ready` and :meth:`peak`.
    """

    SNAPSHOT_EVERY_NS = 2_000_000_000

    def __init__(self, client: Client, verify: str) -> None:
        self._client = client
        self._verify = verify
        self.rows: List[SampleRow] = []
        self.interval_ns: Optional[int] = None
        self.watching: Optional[bool] = None
        self.cgroup_path: Optional[str] = None
        self._latest_sequence = 0
        self._snapshot_at = 0

    def refresh(self, oldest_start_ns: int) -> None:
        """Fetch what the daemon has sampled since the last call, reaching back to
        ``oldest_start_ns``. Raises DaemonUnavailable/DaemonError."""
        now = time.monotonic_ns()
        if self.interval_ns is None or now - self._snapshot_at >= self.SNAPSHOT_EVERY_NS:
            self._snapshot()
            self._snapshot_at = now
        if not self.watching or self.interval_ns is None:
            return
        if not self.rows:
            back = self._samples_back_to(oldest_start_ns, time.time_ns())
            self._fetch_forward(max(0, self._latest_sequence - back))
        else:
            first = self.rows[0]
            if first.sequence > 1 and spans(self.rows[:1], self.interval_ns)[0][0] >= oldest_start_ns:
                back = min(self._samples_back_to(oldest_start_ns, first.time_ns), MAX_SAMPLES_PER_PAGE)
                since = max(0, first.sequence - 1 - back)
                page = parse_samples(self._client.samples(since=since, limit=first.sequence - 1 - since))
                self.rows = [r for r in page.rows if r.sequence < first.sequence] + self.rows
            self._fetch_forward(self.rows[-1].sequence)

    def ready(self, info: RequestInfo) -> bool:
        return info.end_unix_ns is not None and sampled_past(self.rows, info.end_unix_ns)

    def peak(self, info: RequestInfo) -> Peak:
        if not self.watching or self.interval_ns is None or info.end_unix_ns is None:
            return NO_PEAK
        return peak_over(self.rows, self.interval_ns, info.start_unix_ns, info.end_unix_ns)

    def trim(self, oldest_start_ns: Optional[int]) -> None:
        """Drop samples no pending request can need (keep one before, for its span)."""
        if oldest_start_ns is None or self.interval_ns is None:
            self.rows = self.rows[-1:]
            return
        keep = 0
        for i, row in enumerate(self.rows):
            if row.time_ns < oldest_start_ns:
                keep = i
        self.rows = self.rows[keep:]

    def _samples_back_to(self, start_ns: int, from_ns: int) -> int:
        assert self.interval_ns
        return max(0, math.ceil((from_ns - start_ns) / self.interval_ns)) + 2

    def _snapshot(self) -> None:
        snapshot = self._client.snapshot()
        interval = snapshot.get("interval_seconds")
        sequence = snapshot.get("sequence")
        processes = snapshot.get("processes")
        if not isinstance(interval, (int, float)) or interval <= 0 or not isinstance(sequence, int):
            raise DaemonUnavailable("the daemon's /v1/snapshot lacks interval_seconds or sequence",
                                    "protocol", self._client.socket_path)
        if sequence < self._latest_sequence or (self.rows and sequence < self.rows[-1].sequence):
            self.rows = []  # the daemon restarted: sequences began again
        self.interval_ns = int(interval * 1e9)
        self._latest_sequence = sequence
        self.watching = watches_this_server(processes if isinstance(processes, list) else [], self._verify)
        cgroup = snapshot.get("cgroup")
        path = cgroup.get("path") if isinstance(cgroup, dict) else None
        self.cgroup_path = path if isinstance(path, str) else None

    def _fetch_forward(self, since: int) -> None:
        while True:
            page = parse_samples(self._client.samples(since=since, limit=MAX_SAMPLES_PER_PAGE))
            known = self.rows[-1].sequence if self.rows else -1
            self.rows.extend(r for r in page.rows if r.sequence > known)
            if self.rows:
                self._latest_sequence = max(self._latest_sequence, self.rows[-1].sequence)
            if len(page.rows) < MAX_SAMPLES_PER_PAGE:
                return
            since = page.next_since


class PeakResolver:
    """Resolves finished requests' peaks in a background thread and delivers them."""

    def __init__(self, client: Optional[Client] = None, verify: VerifyMode = "pid",
                 max_wait_seconds: float = 10.0, max_pending: int = 10_000) -> None:
        self._client = client if client is not None else shared_client()
        self._verify = normalise_verify(verify)
        self._max_wait_ns = int(max_wait_seconds * 1e9)
        self._max_pending = max_pending
        self._pending: Deque[Tuple[RequestInfo, RequestSink]] = deque()
        self._cond = threading.Condition()
        self._thread: Optional[threading.Thread] = None
        self._buffer = SampleBuffer(self._client, self._verify)
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
                # polls at the daemon's cadence (a busy server must not cost a query a request).
                self._cond.notify()
        for old, old_sink in overflow:
            _deliver(old, old_sink, NO_PEAK)

    def resolve_now(self, info: RequestInfo, sink: RequestSink) -> None:
        """For a process about to exit: the peak from what the daemon has now (incomplete
        unless it has already sampled past the end)."""
        buffer = SampleBuffer(self._client, self._verify)
        try:
            buffer.refresh(info.start_unix_ns)
            peak = buffer.peak(info)
        except (DaemonUnavailable, DaemonError, ValueError):
            peak = NO_PEAK
        if buffer.watching and not peak.complete:
            # The daemon has not sampled since the request began, as a rule: the cgroup's usage
            # now, read here, is a lower bound of its peak over the request.
            local = LocalReader().cgroup_memory("self")
            if local is not None and local.used_bytes is not None and local.path == buffer.cgroup_path:
                peak = Peak(max(peak.bytes or 0, local.used_bytes), False, False, peak.samples)
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
        buffer = SampleBuffer(self._client, self._verify)  # the thread may still use its own
        try:
            buffer.refresh(min(info.start_unix_ns for info, _ in batch))
        except (DaemonUnavailable, DaemonError, ValueError):
            pass
        for info, sink in batch:
            _deliver(info, sink, buffer.peak(info))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                batch = list(self._pending)
            try:
                self._buffer.refresh(min(info.start_unix_ns for info, _ in batch))
                failed = False
            except (DaemonUnavailable, DaemonError, ValueError) as error:
                logger.debug("drum-monitor: cannot resolve request peaks yet: %s", error)
                failed = True
            now = time.time_ns()
            done = []
            for info, sink in batch:
                end = info.end_unix_ns or info.start_unix_ns
                if self._buffer.watching is False:
                    done.append((info, sink, NO_PEAK))
                elif not failed and self._buffer.ready(info):
                    done.append((info, sink, self._buffer.peak(info)))
                elif now - end > self._max_wait_ns:
                    done.append((info, sink, self._buffer.peak(info)))
            finished = {id(info) for info, _, _ in done}
            with self._cond:
                # Only what is still pending: flush() at exit may have delivered it meanwhile.
                still = {id(info) for info, _ in self._pending}
                self._pending = deque(p for p in self._pending if id(p[0]) not in finished)
                remaining = [info.start_unix_ns for info, _ in self._pending]
            done = [d for d in done if id(d[0]) in still]
            self._buffer.trim(min(remaining) if remaining else None)
            for info, sink, peak in done:
                _deliver(info, sink, peak)
            with self._cond:
                if self._pending and not self._closed:
                    self._cond.wait(self._next_poll_seconds(failed))

    def _next_poll_seconds(self, failed: bool) -> float:
        interval = self._buffer.interval_ns
        if failed or interval is None:
            return 0.25
        if self._buffer.rows:
            # Just after the daemon's next sample is due.
            due = self._buffer.rows[-1].time_ns + interval - time.time_ns()
            return min(max(due / 1e9 + 0.002, 0.002), interval / 1e9)
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
