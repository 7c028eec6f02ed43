"""One HTTP/1.1 GET at a time on a connected stream socket, with keep-alive, every read bounded.

Not ``http.client``: it costs ~100 µs of CPU per request (buffered file objects, the email
header parser), ten times the exchange itself, and the drop-in runs on every DRUM ``/stats/``.
This reads the status line, the headers, and a body framed by Content-Length, chunked
encoding, or the connection's end — nothing more is needed from the daemon.
"""
import socket
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 100
_MAX_LINE = 4096
_RECV = 65536


class ProtocolError(Exception):
    """The answer is not HTTP/1.x this client understands."""


class BodyTooLarge(ProtocolError):
    pass


class ClosedBeforeAnswer(Exception):
    """The peer closed the connection before sending a byte of the answer (as a server does
    with a keep-alive connection that had been idle)."""


class Answer(NamedTuple):
    status: int
    headers: Dict[str, str]
    body: bytes
    keep_alive: bool


class Connection:
    """A stream socket to ``path``, opened on the first :meth:`get`."""

    def __init__(self, path: str, timeout: float, max_body: int) -> None:
        self.path = path
        self.timeout = timeout
        self.max_body = max_body
        self.sock: Optional[socket.socket] = None
        self._buffer = bytearray()
        self._deadline = 0.0

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            while True:
                try:
                    sock.connect(self.path)
                    break
                except BlockingIOError:
                    # A Unix socket whose listen backlog is full refuses at once with EAGAIN
                    # rather than waiting: wait for room, within the timeout.
                    if time.monotonic() >= self._deadline:
                        raise socket.timeout("the listen backlog stayed full") from None
                    time.sleep(0.001)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer = bytearray()

    def get(self, target: str) -> Answer:
        """Sends ``GET target`` and reads the answer, all within ``timeout`` seconds."""
        if not target.startswith("/") or any(c in target for c in " \r\n\t") or not target.isascii():
            raise ValueError("not a request target: {!r}".format(target))
        self._deadline = time.monotonic() + self.timeout
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.settimeout(self.timeout)
        self.sock.sendall(("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n")
                          .encode("ascii"))
        version, status, headers = self._read_head()
        if 100 <= status < 200:
            raise ProtocolError("unexpected interim answer {}".format(status))
        connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        if "transfer-encoding" in headers:
            if headers["transfer-encoding"].lower() != "chunked":
                raise ProtocolError("unsupported Transfer-Encoding {!r}".format(headers["transfer-encoding"]))
            body = self._read_chunked()
        elif "content-length" in headers:
            text = headers["content-length"]
            if not text.isdigit():
                raise ProtocolError("bad Content-Length {!r}".format(text))
            if int(text) > self.max_body:
                raise BodyTooLarge()
            body = self._read_exact(int(text))
        else:
            body, keep_alive = self._read_to_close(), False
        if self._buffer:  # bytes nobody asked for: do not reuse this connection
            keep_alive = False
        return Answer(status, headers, body, keep_alive)

    # -- reading -----------------------------------------------------------------------------

    def _recv(self, first: bool = False) -> bytes:
        assert self.sock is not None
        if not first:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out")
            self.sock.settimeout(remaining)
        return self.sock.recv(_RECV)

    def _read_head(self) -> Tuple[str, int, Dict[str, str]]:
        first = True
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self._buffer[:end])
                del self._buffer[:end + 4]
                return _parse_head(head)
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("the answer's head is larger than {} bytes".format(MAX_HEAD_BYTES))
            chunk = self._recv(first)
            if not chunk:
                if first and not self._buffer:
                    raise ClosedBeforeAnswer()
                raise ProtocolError("the connection closed in the middle of the answer's head")
            first = False
            self._buffer += chunk

    def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._recv()
            if not chunk:
                raise ProtocolError("the connection closed {} bytes before the end of the body"
                                    .format(size - len(self._buffer)))
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _read_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 2]
                return line
            if len(self._buffer) > _MAX_LINE:
                raise ProtocolError("a chunk line is longer than {} bytes".format(_MAX_LINE))
            chunk = self._recv()
            if not chunk:
                raise ProtocolError("the connection closed in the middle of a chunked body")
            self._buffer += chunk

    def _read_chunked(self) -> bytes:
        parts: List[bytes] = []
        total = 0
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError("bad chunk size {!r}".format(size_text[:40])) from None
            if size < 0:
                raise ProtocolError("bad chunk size {!r}".format(size_text[:40]))
            if size == 0:
                trailers = 0
                while self._read_line():
                    trailers += 1
                    if trailers > MAX_HEADERS:
                        raise ProtocolError("more than {} trailer lines".format(MAX_HEADERS))
                return b"".join(parts)
            total += size
            if total > self.max_body:
                raise BodyTooLarge()
            parts.append(self._read_exact(size))
            if self._read_exact(2) != b"\r\n":
                raise ProtocolError("a chunk does not end with CRLF")

    def _read_to_close(self) -> bytes:
        while True:
            if len(self._buffer) > self.max_body:
                raise BodyTooLarge()
            chunk = self._recv()
            if not chunk:
                data = bytes(self._buffer)
                self._buffer = bytearray()
                return data
            self._buffer += chunk


def _parse_head(head: bytes) -> Tuple[str, int, Dict[str, str]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    version = parts[0].decode("latin-1")
    if len(parts) < 2 or version not in ("HTTP/1.1", "HTTP/1.0") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise ProtocolError("bad status line {!r}".format(lines[0][:80]))
    if len(lines) - 1 > MAX_HEADERS:
        raise ProtocolError("more than {} header lines".format(MAX_HEADERS))
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name or b"\t" in name:
            raise ProtocolError("bad header line {!r}".format(line[:80]))
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        if key in headers:
            if key == "content-length" and headers[key] != text:
                raise ProtocolError("conflicting Content-Length headers")
            if key != "content-length":
                text = headers[key] + ", " + text
        headers[key] = text
    return version, int(parts[1]), headers
