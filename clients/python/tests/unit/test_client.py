"""Client against a fake daemon: keep-alive reuse, idle-close retry, timeouts, every error, a
forked child, 32 threads."""
import os
import socket
import threading

import pytest

from drum_monitor_client import Client, DaemonError, DaemonUnavailable, default_socket_paths, shared_client
from drum_monitor_client.client import SOCKET_ENV

from conftest import run_in_fork


def test_keep_alive_reuses_one_connection(fake):
    client = Client(fake.path)
    for _ in range(5):
        assert client.stats()["mem_info"]["total"] == 24000
    assert fake.connections == 1
    assert len(fake.requests) == 5


def test_every_endpoint_sends_its_request(fake):
    client = Client(fake.path)
    fake.add_sample()
    client.snapshot()
    client.samples(since=3, limit=7)
    client.stats()
    client.health()
    fake.routes["/v1/window"] = lambda target: (200, {"window": {}})
    client.window(seconds="5m")
    client.window(samples=10)
    client.window(seconds=0.5)
    client.window(from_ns=1_777_644_000_000_000_001, to_ns=1_777_644_005_250_000_000)
    fake.routes["/metrics"] = lambda target: (200, b"drum_monitor_up 1\n")
    assert client.metrics() == "drum_monitor_up 1\n"
    assert fake.requests == ["/v1/snapshot", "/v1/samples?since=3&limit=7", "/stats/", "/healthz",
                             "/v1/window?seconds=5m", "/v1/window?samples=10", "/v1/window?seconds=0.5",
                             "/v1/window?from=1777644000.000000001&to=1777644005.250000000", "/metrics"]
    with pytest.raises(ValueError):
        client.window()
    with pytest.raises(ValueError):
        client.window(seconds=1, samples=1)
    with pytest.raises(ValueError):
        client.window(from_ns=5)
    with pytest.raises(ValueError):
        client.window(from_ns=5, to_ns=4)
    with pytest.raises(ValueError):
        client.window(seconds=1, from_ns=1, to_ns=2)


def test_events_sends_since_limit_and_kinds(fake):
    client = Client(fake.path)
    page = {"truncated": False, "next_since": 9, "newest_sequence": 9, "events": [{"sequence": 9, "kind": "oom_kill"}]}
    fake.routes["/v1/events"] = lambda target: (200, page)
    assert client.events() == page
    assert client.events(since=4, limit=10, kinds=["oom_kill", "worker_replaced"])["next_since"] == 9
    assert fake.requests == ["/v1/events?since=0", "/v1/events?since=4&limit=10&kind=oom_kill,worker_replaced"]
    fake.routes["/v1/events"] = lambda target: (400, {"error": "parameter 'kind' must be event kinds"})
    with pytest.raises(DaemonError) as raised:
        client.events(kinds=["oom"])
    assert raised.value.status == 400 and "'kind'" in raised.value.message


def test_an_idle_connection_closed_by_the_daemon_is_retried_once(fake):
    client = Client(fake.path)
    client.stats()
    fake.close_idle_connections()
    assert client.stats()["mem_info"]["container_limit"] == 2048
    assert fake.connections == 2
    assert fake.requests == ["/stats/", "/stats/"]


def test_a_reused_connection_closed_again_on_retry_is_an_error(fake):
    client = Client(fake.path)
    client.stats()
    fake.close_without_answer = True
    with pytest.raises(DaemonUnavailable) as raised:
        client.stats()
    assert raised.value.reason == "closed"
    # The request on the old connection and exactly one retry on a new one.
    assert fake.requests == ["/stats/", "/stats/", "/stats/"]
    assert fake.connections == 2


def test_a_fresh_connection_closed_without_answer_is_not_retried(fake):
    fake.close_without_answer = True
    with pytest.raises(DaemonUnavailable) as raised:
        Client(fake.path).stats()
    assert raised.value.reason == "closed"
    assert fake.connections == 1
    assert "closed the connection" in str(raised.value)


def test_a_timeout_is_reported_and_not_retried(fake):
    fake.hold.clear()
    client = Client(fake.path, timeout=0.2)
    with pytest.raises(DaemonUnavailable) as raised:
        client.stats()
    fake.hold.set()
    assert raised.value.reason == "timeout"
    assert "within 0.2 s" in str(raised.value)
    assert fake.requests == ["/stats/"]
    # The next call uses a new connection and works.
    assert client.stats()["mem_info"]["total"] == 24000
    assert fake.connections == 2


def test_the_default_timeout_is_half_a_second():
    assert Client("/nonexistent").timeout == 0.5


def test_no_socket(short_dir):
    path = os.path.join(short_dir, "missing.sock")
    with pytest.raises(DaemonUnavailable) as raised:
        Client(path).stats()
    assert raised.value.reason == "no_socket"
    assert raised.value.socket_path == path
    assert "no socket at " + path in str(raised.value)


def test_connection_refused_on_a_stale_socket_file(short_dir):
    path = os.path.join(short_dir, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)  # bound, never listening: connect is refused
    try:
        with pytest.raises(DaemonUnavailable) as raised:
            Client(path).stats()
        assert raised.value.reason == "refused"
        assert "connection refused at " + path in str(raised.value)
    finally:
        s.close()


def test_permission_denied(fake):
    os.chmod(fake.path, 0o600)

    def ask_as_another_user():
        if os.getuid() == 0:
            os.setgid(65534)
            os.setuid(65534)  # root would bypass the socket file's mode
        else:
            os.chmod(fake.path, 0)
        try:
            Client(fake.path).stats()
        except DaemonUnavailable as error:
            return (error.reason + "|" + str(error)).encode()
        return b"no error"

    answer = run_in_fork(ask_as_another_user).decode()
    assert answer.startswith("permission_denied|permission denied on " + fake.path), answer


def test_garbage_is_a_protocol_error(fake):
    fake.garbage = True
    with pytest.raises(DaemonUnavailable) as raised:
        Client(fake.path).stats()
    assert raised.value.reason == "protocol"


def test_non_json_answer_is_a_protocol_error(fake):
    fake.routes["/stats/"] = lambda target: (200, b"<html>")
    with pytest.raises(DaemonUnavailable) as raised:
        Client(fake.path).stats()
    assert raised.value.reason == "protocol"
    assert "not JSON" in str(raised.value)


def test_error_status_carries_the_daemons_message(fake):
    client = Client(fake.path)
    with pytest.raises(DaemonError) as raised:
        client.get_json("/nope")
    assert raised.value.status == 404
    assert raised.value.message == "no such endpoint: /nope"
    fake.routes["/v1/samples"] = lambda target: (400, {"error": "parameter 'since' must be a whole number"})
    with pytest.raises(DaemonError) as raised:
        client.samples(since=1)
    assert raised.value.status == 400
    assert "parameter 'since'" in str(raised.value)
    # 503 without a sample yet (no samples in the fake).
    with pytest.raises(DaemonError) as raised:
        client.snapshot()
    assert raised.value.status == 503
    assert raised.value.message == "no sample taken yet"
    # The connection survives error answers.
    assert fake.connections == 1


def test_error_status_with_a_non_json_body(fake):
    fake.routes["/stats/"] = lambda target: (500, b"boom\n")
    with pytest.raises(DaemonError) as raised:
        Client(fake.path).stats()
    assert raised.value.message == "boom"


def test_health_returns_the_stale_answer_instead_of_raising(fake):
    fake.routes["/healthz"] = lambda target: (503, {"status": "stale", "last_sample_age_seconds": 9.0})
    assert Client(fake.path).health()["status"] == "stale"


def test_socket_from_argument_then_environment_then_defaults(monkeypatch, fake):
    monkeypatch.setenv(SOCKET_ENV, fake.path)
    assert Client().socket_path == fake.path
    assert Client("/elsewhere.sock").socket_path == "/elsewhere.sock"
    monkeypatch.delenv(SOCKET_ENV)
    assert Client().socket_path in default_socket_paths()
    assert default_socket_paths()[0] == "/run/drum-monitor/drum-monitor.sock"


def test_shared_client_is_one_per_socket(fake, short_dir):
    assert shared_client(fake.path) is shared_client(fake.path)
    assert shared_client(fake.path) is not shared_client(os.path.join(short_dir, "other.sock"))


def test_a_forked_child_opens_its_own_connection(fake):
    client = Client(fake.path)
    client.stats()

    def ask_twice():
        ok = client.stats()["mem_info"]["total"] == 24000 and client.stats()["mem_info"]["total"] == 24000
        return b"ok" if ok else b"wrong"

    assert run_in_fork(ask_twice) == b"ok"
    # The parent's connection is untouched: its next request goes on it.
    assert client.stats()["mem_info"]["total"] == 24000
    assert fake.connections == 2
    assert len(fake.requests) == 4


def test_32_threads_each_have_one_connection(fake):
    client = Client(fake.path, timeout=5)
    fake.routes["/echo"] = lambda target: (200, {"target": target})
    errors = []
    barrier = threading.Barrier(32)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(20):
                target = "/echo?thread={}&i={}".format(n, i)
                assert client.get_json(target)["target"] == target
        except BaseException as error:  # collected, asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert fake.connections == 32
    assert len(fake.requests) == 32 * 20


def test_an_oversized_answer_is_refused_without_reading_it(fake, monkeypatch):
    import drum_monitor_client.client as client_module

    monkeypatch.setattr(client_module, "MAX_BODY_BYTES", 1000)
    fake.routes["/stats/"] = lambda target: (200, b"x" * 5000)
    with pytest.raises(DaemonUnavailable) as raised:
        Client(fake.path).stats()
    assert raised.value.reason == "protocol" and "larger than 1000 bytes" in str(raised.value)
