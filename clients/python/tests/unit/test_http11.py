"""The HTTP/1.1 exchange on answers the daemon does not send but a server may: split reads,
chunked bodies, close-delimited bodies, HTTP/1.0, extra bytes, and malformed or oversized
answers (each an error naming what was wrong, never a hang)."""
import os
import socket
import threading

import pytest

from drum_monitor_client import Client, DaemonUnavailable
from drum_monitor_client.http11 import MAX_HEAD_BYTES


class ScriptedServer:
    """Answers each request on a connection with the next scripted reply, sent in pieces; a
    None after a reply closes the connection once it is sent."""

    def __init__(self, directory, replies, piece=None):
        self.path = os.path.join(directory, "scripted.sock")
        self.replies = list(replies)
        self.piece = piece
        self.requests = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.replies:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                while self.replies:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = connection.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        break
                    self.requests.append(data)
                    reply = self.replies.pop(0)
                    if reply is None:
                        break
                    step = self.piece or len(reply) or 1
                    for i in range(0, len(reply), step):
                        connection.sendall(reply[i:i + step])
                    if self.replies and self.replies[0] is None:  # close right after this one
                        self.replies.pop(0)
                        break

    def close(self):
        self.listener.close()


@pytest.fixture
def scripted(short_dir):
    servers = []

    def make(replies, piece=None):
        server = ScriptedServer(short_dir, replies, piece)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


OK = b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{"a": [1]}\n'


def test_the_request_it_sends(scripted):
    server = scripted([OK])
    assert Client(server.path).get_json("/v1/samples?since=3") == {"a": [1]}
    assert server.requests == [b"GET /v1/samples?since=3 HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"]


def test_one_byte_at_a_time(scripted):
    server = scripted([OK, OK], piece=1)
    client = Client(server.path, timeout=5)
    assert client.get_json("/x") == {"a": [1]} and client.get_json("/y") == {"a": [1]}
    assert len(server.requests) == 2  # one connection, kept alive


def test_chunked_body_with_extension_and_trailer(scripted):
    reply = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"4;ext=1\r\n{\"a\"\r\n7\r\n: [1]}\n\r\n0\r\nX-Trailer: t\r\n\r\n")
    server = scripted([reply, OK], piece=3)
    client = Client(server.path, timeout=5)
    assert client.get_json("/x") == {"a": [1]}
    assert client.get_json("/y") == {"a": [1]}


def test_close_delimited_body_and_connection_close(scripted):
    server = scripted([b'HTTP/1.0 200 OK\r\n\r\n{"old": true}', None, b'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}'])
    client = Client(server.path)
    assert client.get_json("/x") == {"old": True}
    assert client.get_json("/y") == {}  # a new connection: the first ended with the body


def test_duplicate_headers_join_and_names_are_case_insensitive(scripted):
    server = scripted([b"HTTP/1.1 404 Not Found\r\nX-A: 1\r\nx-a: 2\r\ncontent-LENGTH: 2\r\n\r\n{}"])
    response = Client(server.path).get("/x")
    assert (response.status, response.headers["x-a"], response.body) == (404, "1, 2", b"{}")


@pytest.mark.parametrize("reply, message", [
    (b"HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\n{}", "bad status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "conflicting Content-Length"),
    (b"HTTP/1.1 200 OK\r\n no-name\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", "does not end with CRLF"),
    (b"HTTP/1.1 100 Continue\r\n\r\n", "interim answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", "bytes before the end of the body"),
    (b"HTTP/1.1 200 OK\r\nContent-Le", "in the middle of the answer's head"),
])
def test_malformed_answers_are_protocol_errors(scripted, reply, message):
    # The server closes after the scripted bytes, so incomplete answers end instead of hanging.
    server = scripted([reply, None])
    with pytest.raises(DaemonUnavailable) as raised:
        Client(server.path, timeout=2).get("/x")
    assert raised.value.reason == "protocol", raised.value
    assert message in str(raised.value)


def test_an_endless_head_is_refused(scripted):
    server = scripted([b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * (MAX_HEAD_BYTES + 10) + b"\r\n"], piece=8192)
    with pytest.raises(DaemonUnavailable) as raised:
        Client(server.path, timeout=5).get("/x")
    assert "larger than" in str(raised.value)


def test_a_trickling_answer_times_out_as_a_whole(scripted, short_dir):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(short_dir, "trickle.sock")
    listener.bind(path)
    listener.listen(1)
    stop = threading.Event()

    def trickle():
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            while not stop.wait(0.05):  # one byte every 50 ms, never finishing the head
                try:
                    connection.sendall(b"H")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        with pytest.raises(DaemonUnavailable) as raised:
            Client(path, timeout=0.3).get("/x")
        assert raised.value.reason == "timeout"
    finally:
        stop.set()
        listener.close()


def test_request_targets_are_checked():
    with pytest.raises(ValueError):
        Client("/nonexistent").get("/a b")
    with pytest.raises(ValueError):
        Client("/nonexistent").get("/a\r\nX: y")
