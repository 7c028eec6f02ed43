"""Peak resolution off the request path: waits for a sample past the end, takes the covering
samples, delivers to on_complete and JSON lines; never loses a record."""
import json
import os
import threading
import time

import pytest

from drum_monitor_client import Client
from drum_monitor_client import recorder as rec
from drum_monitor_client.recorder import PeakResolver, RequestSink, configure, finish_request
from drum_monitor_client.request_info import RequestInfo

from conftest import run_in_fork

MiB = 1024 * 1024


class Collected:
    def __init__(self):
        self.records = []
        self.event = threading.Event()

    def __call__(self, info):
        self.records.append((info, info.to_dict()))
        self.event.set()

    def wait(self, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.records) < count and time.monotonic() < deadline:
            self.event.wait(0.05)
            self.event.clear()
        assert len(self.records) >= count, "only {} records delivered".format(len(self.records))
        return self.records


def wait_for_sample(fake, predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with fake.lock:
            found = [s for s in fake.samples if predicate(s)]
        if found:
            return found[0]
        time.sleep(0.002)
    raise AssertionError("no such sample")


def request(server="test"):
    return RequestInfo("id-{}".format(time.perf_counter_ns()), "GET", "/x", server)


def test_peak_of_the_covering_samples_once_sampled_past_the_end(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    resolver = PeakResolver(Client(fake.path))
    info = request()
    fake.interval_peak_next = 900 * MiB
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 900 * MiB)
    info.mark_end()
    resolver.submit(info, RequestSink(collected))
    (done, record), = collected.wait()
    assert done is info
    assert record["peak_memory_bytes"] == 900 * MiB
    assert record["peak_complete"] is True
    assert record["peak_samples"] >= 1
    # Resolved only once the daemon had sampled past the end.
    with fake.lock:
        assert any(s["time_unix_ns"] >= info.end_unix_ns for s in fake.samples)


def test_a_spike_after_the_request_does_not_count(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    resolver = PeakResolver(Client(fake.path))
    wait_for_sample(fake, lambda s: True)
    info = request()
    info.mark_end()
    wait_for_sample(fake, lambda s: s["time_unix_ns"] >= info.end_unix_ns)
    fake.interval_peak_next = 5000 * MiB  # an interval wholly after the request
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 5000 * MiB)
    resolver.submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] == 100 * MiB


def test_a_request_that_began_long_ago_reaches_back(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    info = request()
    fake.interval_peak_next = 700 * MiB
    first = wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 700 * MiB)
    wait_for_sample(fake, lambda s: s["sequence"] >= first["sequence"] + 50)
    info.mark_end()
    PeakResolver(Client(fake.path)).submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] == 700 * MiB
    assert record["peak_complete"] is True
    assert record["peak_samples"] >= 50


def test_not_watching_this_server_delivers_without_a_peak(fake):
    fake.watched_pids = [1]
    fake.start_sampling(0.01)
    wait_for_sample(fake, lambda s: True)
    collected = Collected()
    info = request()
    info.mark_end()
    PeakResolver(Client(fake.path), max_wait_seconds=600).submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] is None and record["peak_complete"] is False


def test_daemon_down_delivers_after_max_wait(short_dir):
    collected = Collected()
    info = request()
    info.mark_end()
    PeakResolver(Client(os.path.join(short_dir, "none.sock")), max_wait_seconds=0.05).submit(
        info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] is None and record["peak_complete"] is False


def test_resolve_now_for_a_process_about_to_exit(fake):
    fake.start_sampling(0.01)
    fake.interval_peak_next = 300 * MiB
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 300 * MiB)
    info = request()
    fake.interval_peak_next = 400 * MiB
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 400 * MiB)
    fake._sampling.clear()  # nothing is sampled past the end
    info.mark_end()
    collected = Collected()
    PeakResolver(Client(fake.path)).resolve_now(info, RequestSink(collected))
    # Delivered synchronously: no waiting in a process about to exit.
    (_, record), = collected.records
    assert record["peak_memory_bytes"] == 400 * MiB
    assert record["peak_complete"] is False


def test_jsonl_lines_and_a_raising_callback(fake, short_dir):
    fake.start_sampling(0.01)
    path = os.path.join(short_dir, "requests.jsonl")
    calls = []

    def explode(info):
        calls.append(info.request_id)
        raise RuntimeError("callback bug")

    resolver = PeakResolver(Client(fake.path))
    sink = RequestSink(explode, path)
    infos = [request() for _ in range(3)]
    for info in infos:
        info.status = 200
        info.mark_end()
        resolver.submit(info, sink)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(path) and len(open(path).read().splitlines()) == 3:
            break
        time.sleep(0.01)
    lines = [json.loads(line) for line in open(path).read().splitlines()]
    assert [line["request_id"] for line in lines] == [i.request_id for i in infos]
    assert calls == [i.request_id for i in infos]
    assert set(lines[0]) == {"request_id", "method", "path", "route", "status", "error", "start_unix_ns",
                             "end_unix_ns", "duration_seconds", "pid", "server", "peak_memory_bytes",
                             "peak_complete", "peak_exact", "peak_samples"}
    assert all(line["peak_memory_bytes"] == 100 * MiB for line in lines)


def test_overflow_delivers_the_oldest_instead_of_dropping(short_dir):
    collected = Collected()
    resolver = PeakResolver(Client(os.path.join(short_dir, "none.sock")), max_wait_seconds=600, max_pending=2)
    infos = [request() for _ in range(3)]
    for info in infos:
        info.mark_end()
        resolver.submit(info, RequestSink(collected))
    (first, record), = collected.wait()
    assert first is infos[0] and record["peak_complete"] is False
    resolver.flush()
    assert [i for i, _ in collected.records] == infos


def test_an_inactive_sink_costs_nothing(monkeypatch):
    monkeypatch.setattr(rec, "resolver", lambda: pytest.fail("no resolver without a consumer"))
    info = request()
    finish_request(info, RequestSink())
    assert info.end_unix_ns is not None and info.duration_seconds is not None


def test_configure_and_fork(fake):
    replacement = configure(Client(fake.path), max_wait_seconds=1)
    assert rec.resolver() is replacement
    assert run_in_fork(lambda: b"fresh" if rec.resolver() is not replacement else b"inherited") == b"fresh"
    configure()


def test_pending_records_are_delivered_at_exit(short_dir):
    import subprocess
    import sys

    path = os.path.join(short_dir, "at-exit.jsonl")
    script = """
from drum_monitor_client import Client
from drum_monitor_client.recorder import RequestSink, configure, finish_request
from drum_monitor_client.request_info import RequestInfo
configure(Client({socket!r}), max_wait_seconds=600)
info = RequestInfo("exiting", "GET", "/x", "test")
finish_request(info, RequestSink(jsonl_path={path!r}))
""".format(socket=os.path.join(short_dir, "none.sock"), path=path)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with open(path) as f:
        record = json.loads(f.read())
    assert record["request_id"] == "exiting" and record["peak_memory_bytes"] is None


def test_a_burst_of_requests_does_not_query_the_daemon_per_request(fake):
    fake.start_sampling(0.05)
    wait_for_sample(fake, lambda s: True)
    collected = Collected()
    resolver = PeakResolver(Client(fake.path))
    infos = [request() for _ in range(200)]
    with fake.lock:
        before = len(fake.requests)
        first_sequence = fake.samples[-1]["sequence"]
    for info in infos:
        info.mark_end()
        resolver.submit(info, RequestSink(collected))
        time.sleep(0.001)  # requests arriving over a few sampling intervals, not all at once
    collected.wait(200)
    with fake.lock:
        queries = len(fake.requests) - before
        intervals = fake.samples[-1]["sequence"] - first_sequence
    # About one query per sampling interval (plus a snapshot every 2 s), not one per request.
    assert queries <= 2 * intervals + 4, (queries, intervals)
