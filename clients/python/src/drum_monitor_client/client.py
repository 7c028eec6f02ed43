"""HTTP/1.1 with keep-alive over the daemon's Unix socket (see :mod:`.http11`), one connection
per process and thread.

The socket is the argument, else ``DRUM_MONITOR_SOCKET`` (one DRUM service, one daemon: set it
per service when a host runs several), else the daemon's default paths.
"""
import json
import os
import pwd
import socket
import threading
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from . import http11
from .errors import DaemonError, DaemonUnavailable

JSONObject = Dict[str, Any]

DEFAULT_TIMEOUT = 0.5
SOCKET_ENV = "DRUM_MONITOR_SOCKET"
# /v1/samples at its 10,000-sample limit is ~3 MB; anything far larger is not the daemon.
MAX_BODY_BYTES = 64 * 1024 * 1024

_fork_generation = [0]


def _after_fork_in_child() -> None:
    # A forked child must never write on its parent's connection (the parent reads the answer).
    _fork_generation[0] += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def default_socket_paths() -> List[str]:
    """Where the daemon listens by default: as root (the service), then `make run` as a user."""
    try:
        user = os.environ.get("USER") or pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        user = str(os.getuid())
    return ["/run/drum-monitor/drum-monitor.sock", "/tmp/drum-monitor-{}/drum-monitor.sock".format(user)]


def _unix_seconds(ns: int) -> str:
    """Nanoseconds since the epoch as the daemon reads Unix seconds: exact, no float."""
    return "{:d}.{:09d}".format(ns // 1_000_000_000, ns % 1_000_000_000)


class Response(NamedTuple):
    status: int
    headers: Dict[str, str]
    body: bytes


class Client:
    """Asks the daemon. Thread-safe and fork-safe: each process and thread has its own
    keep-alive connection, opened on first use.

    Raises :class:`DaemonUnavailable` when the daemon cannot be asked and :class:`DaemonError`
    when it answers an error status. A connection the daemon closed while idle is retried once
    on a new connection; a timeout is never retried.
    """

    def __init__(self, socket_path: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive, got {!r}".format(timeout))
        self._explicit_path = socket_path or os.environ.get(SOCKET_ENV) or None
        self.timeout = timeout
        self._local = threading.local()

    @property
    def socket_path(self) -> str:
        """The socket used for the next connection (the first default path that exists)."""
        if self._explicit_path:
            return self._explicit_path
        candidates = default_socket_paths()
        for path in candidates:
            if os.path.exists(path):
                return path
        return candidates[0]

    # -- endpoints ---------------------------------------------------------------------------

    def snapshot(self) -> JSONObject:
        """``GET /v1/snapshot``: the latest sample in full."""
        return self.get_json("/v1/snapshot")

    def window(self, seconds: Union[float, str, None] = None, samples: Optional[int] = None,
               from_ns: Optional[int] = None, to_ns: Optional[int] = None) -> JSONObject:
        """``GET /v1/window``: maxima, minima and averages over the last ``seconds`` (a number or
        a duration like ``"5m"``), the last ``samples`` samples, or any past wall-clock range
        ``from_ns`` … ``to_ns`` (nanoseconds since the epoch, e.g. ``time.time_ns()``): every
        sample whose interval overlaps it; ``window.covered`` says whether the history held all
        of it."""
        ranged = from_ns is not None or to_ns is not None
        if [seconds is not None, samples is not None, ranged].count(True) != 1:
            raise ValueError("give exactly one of seconds, samples, and from_ns with to_ns")
        if ranged:
            if from_ns is None or to_ns is None or from_ns < 0 or to_ns < from_ns:
                raise ValueError("give from_ns and to_ns, 0 <= from_ns <= to_ns")
            return self.get_json("/v1/window?from={}&to={}".format(_unix_seconds(from_ns), _unix_seconds(to_ns)))
        if seconds is not None:
            return self.get_json("/v1/window?seconds=" + quote(str(seconds), safe=""))
        return self.get_json("/v1/window?samples={:d}".format(int(samples or 0)))

    def samples(self, since: int = 0, limit: Optional[int] = None) -> JSONObject:
        """``GET /v1/samples``: compact samples after sequence ``since``, oldest first."""
        target = "/v1/samples?since={:d}".format(since)
        if limit is not None:
            target += "&limit={:d}".format(limit)
        return self.get_json(target)

    def events(self, since: int = 0, limit: Optional[int] = None,
               kinds: Optional[Sequence[str]] = None) -> JSONObject:
        """``GET /v1/events``: what happened after event ``since`` (OOM kills with their victims,
        worker replacements, limit crossings, stalls, memory growth), oldest first, only of
        ``kinds`` if given (e.g. ``["oom_kill"]``). To follow, pass the answer's ``next_since``
        as ``since``; ``truncated`` says events after ``since`` were already dropped."""
        target = "/v1/events?since={:d}".format(since)
        if limit is not None:
            target += "&limit={:d}".format(limit)
        if kinds:
            target += "&kind=" + quote(",".join(kinds), safe=",")
        return self.get_json(target)

    def stats(self) -> JSONObject:
        """``GET /stats/``: DRUM's ``/stats/`` body for the whole process tree."""
        return self.get_json("/stats/")

    def health(self) -> JSONObject:
        """``GET /healthz``: also returned (not raised) when the daemon answers 503 because its
        last sample is stale; look at ``status``."""
        return self.get_json("/healthz", accept=(503,))

    def metrics(self) -> str:
        """``GET /metrics``: Prometheus text."""
        response = self._checked("/metrics")
        return response.body.decode("utf-8", errors="replace")

    # -- plumbing ----------------------------------------------------------------------------

    def get_json(self, target: str, accept: Tuple[int, ...] = ()) -> JSONObject:
        """GET ``target`` and decode the JSON object it answers."""
        response = self._checked(target, accept)
        try:
            document = json.loads(response.body.decode("utf-8"))
        except ValueError as error:
            raise DaemonUnavailable(
                "the answer from {} to GET {} is not JSON ({})".format(self.socket_path, target, error),
                "protocol", self.socket_path) from None
        if not isinstance(document, dict):
            raise DaemonUnavailable(
                "the answer from {} to GET {} is not a JSON object".format(self.socket_path, target),
                "protocol", self.socket_path)
        return document

    def _checked(self, target: str, accept: Tuple[int, ...] = ()) -> Response:
        response = self.get(target)
        if response.status >= 400 and response.status not in accept:
            raise DaemonError(response.status, _error_message(response.body), target)
        return response

    def get(self, target: str) -> Response:
        """GET ``target`` (path and query) and return the answer whatever its status."""
        for attempt in (0, 1):
            connection = self._connection()
            reused = connection.requests_done > 0
            path = connection.path
            try:
                answer = connection.get(target)
            except socket.timeout:
                self._drop(connection)
                raise DaemonUnavailable(
                    "no answer from the daemon at {} within {:g} s".format(path, self.timeout),
                    "timeout", path) from None
            except FileNotFoundError:
                self._drop(connection)
                raise DaemonUnavailable(
                    "no socket at {}: is drum-monitor running? (set DRUM_MONITOR_SOCKET to its socket)".format(path),
                    "no_socket", path) from None
            except ConnectionRefusedError:
                self._drop(connection)
                raise DaemonUnavailable(
                    "connection refused at {}: nothing listens there (a stale socket file?)".format(path),
                    "refused", path) from None
            except PermissionError:
                self._drop(connection)
                raise DaemonUnavailable(
                    "permission denied on {}: join the socket's group (socket_group)".format(path),
                    "permission_denied", path) from None
            except (http11.ClosedBeforeAnswer, ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as error:
                # The daemon closes keep-alive connections that stay idle: retry that once, on
                # a new connection.
                self._drop(connection)
                if reused and attempt == 0:
                    continue
                raise DaemonUnavailable("the daemon at {} closed the connection{}".format(
                    path, " ({})".format(error) if str(error) else " without answering"), "closed", path) from None
            except http11.BodyTooLarge:
                self._drop(connection)
                raise DaemonUnavailable(
                    "the answer from {} is larger than {} bytes".format(path, MAX_BODY_BYTES), "protocol", path) from None
            except http11.ProtocolError as error:
                self._drop(connection)
                raise DaemonUnavailable(
                    "the answer from {} is not HTTP the client understands: {}".format(path, error),
                    "protocol", path) from None
            except OSError as error:
                self._drop(connection)
                raise DaemonUnavailable(
                    "cannot ask the daemon at {}: {}".format(path, error.strerror or error), "os_error", path) from None
            connection.requests_done += 1
            if not answer.keep_alive:
                self._drop(connection)
            return Response(answer.status, answer.headers, answer.body)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            self._drop(connection)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self) -> "_Connection":
        connection: Optional[_Connection] = getattr(self._local, "connection", None)
        if connection is not None:
            if connection.fork_generation == _fork_generation[0]:
                return connection
            # Inherited through fork: closing our copy of the descriptor leaves the parent's open.
            self._drop(connection)
        connection = _Connection(self.socket_path, self.timeout, MAX_BODY_BYTES)
        self._local.connection = connection
        return connection

    def _drop(self, connection: "_Connection") -> None:
        try:
            connection.close()
        finally:
            if getattr(self._local, "connection", None) is connection:
                self._local.connection = None


class _Connection(http11.Connection):
    def __init__(self, path: str, timeout: float, max_body: int) -> None:
        super().__init__(path, timeout, max_body)
        self.fork_generation = _fork_generation[0]
        self.requests_done = 0


def _error_message(body: bytes) -> str:
    try:
        document = json.loads(body.decode("utf-8"))
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            return str(document["error"])
    except ValueError:
        pass
    text = body.decode("utf-8", errors="replace").strip()
    return text[:200] if text else "(no message)"


_shared: Dict[Tuple[Optional[str], float], Client] = {}
_shared_lock = threading.Lock()


def shared_client(socket_path: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> Client:
    """The process-wide client for this socket (so a process keeps one connection per thread
    whatever asks: the drop-in, the request recorder, your code)."""
    key = (socket_path or os.environ.get(SOCKET_ENV) or None, timeout)
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = _shared[key] = Client(socket_path, timeout)
        return client
