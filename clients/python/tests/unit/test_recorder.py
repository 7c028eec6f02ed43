"""Peak resolution off the request path: waits for a sample past the end, asks for the range
window of the covering samples (one per request), delivers to on_complete and JSON lines;
never loses a record."""
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


def started(fake):
    """A request, begun before the next sample the fake takes (samples are stamped with the time
    they were due, which can be a little before they are taken)."""
    info = request()
    wait_for_sample(fake, lambda s: s["time_unix_ns"] >= info.start_unix_ns)
    return info


def window_bounds(target):
    query = dict(p.split("=", 1) for p in target.partition("?")[2].split("&"))
    return tuple(int(query[k].replace(".", "")) for k in ("from", "to"))


def test_peak_of_the_covering_samples_once_sampled_past_the_end(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    resolver = PeakResolver(Client(fake.path))
    info = started(fake)
    fake.interval_peak_next = 900 * MiB
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 900 * MiB)
    info.mark_end()
    resolver.submit(info, RequestSink(collected))
    (done, record), = collected.wait()
    assert done is info
    assert record["peak_memory_bytes"] == 900 * MiB
    assert record["peak_complete"] is True and record["peak_exact"] is True
    assert record["peak_samples"] >= 1
    # One range window, [start − 1 ns, end], asked once the daemon had sampled past the end.
    (target, newest), = fake.windows_asked()
    assert window_bounds(target) == (info.start_unix_ns - 1, info.end_unix_ns)
    assert newest >= info.end_unix_ns


def test_a_lower_bound_in_one_covering_sample_is_not_exact(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    info = started(fake)
    fake.exact_next = 0
    wait_for_sample(fake, lambda s: s["memory_interval_peak_exact"] == 0)
    info.mark_end()
    PeakResolver(Client(fake.path)).submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_complete"] is True and record["peak_exact"] is False


def test_a_new_generation_during_the_request_is_incomplete(fake):
    fake.start_sampling(0.01)
    collected = Collected()
    info = started(fake)
    fake.generation = 2  # DRUM restarted while the request ran
    wait_for_sample(fake, lambda s: s["generation"] == 2)
    info.mark_end()
    PeakResolver(Client(fake.path)).submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] == 100 * MiB
    assert record["peak_complete"] is False and record["peak_exact"] is False


def test_a_request_older_than_the_history_is_incomplete(fake):
    info = request()
    time.sleep(0.02)  # the request began before the daemon's first sample (and its interval)
    fake.start_sampling(0.01)
    wait_for_sample(fake, lambda s: True)
    info.mark_end()
    collected = Collected()
    PeakResolver(Client(fake.path)).submit(info, RequestSink(collected))
    (_, record), = collected.wait()
    assert record["peak_memory_bytes"] == 100 * MiB and record["peak_complete"] is False


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
    info = started(fake)
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
    info = started(fake)
    fake.interval_peak_next = 400 * MiB
    wait_for_sample(fake, lambda s: s["memory_interval_peak_bytes"] == 400 * MiB)
    info.mark_end()
    # Even when the daemon happens to have sampled past the end already (a race the real
    # per-request children lose or win by a few ms), the record says incomplete: always the same.
    wait_for_sample(fake, lambda s: s["time_unix_ns"] >= info.end_unix_ns)
    collected = Collected()
    PeakResolver(Client(fake.path)).resolve_now(info, RequestSink(collected))
    # Delivered synchronously: no waiting in a process about to exit.
    (_, record), = collected.records
    assert record["peak_memory_bytes"] == 400 * MiB
    assert record["peak_complete"] is False and record["peak_exact"] is False
    (target, _), = fake.windows_asked()
    assert window_bounds(target) == (info.start_unix_ns - 1, info.end_unix_ns)


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


def test_a_burst_of_requests_costs_one_window_each_and_a_snapshot_per_interval(fake):
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
        asked = fake.requests[before:]
        intervals = fake.samples[-1]["sequence"] - first_sequence
    windows = fake.windows_asked()
    # Exactly one window per request, each once the daemon had sampled past that request's end.
    assert sorted(window_bounds(t) for t, _ in windows) == sorted((i.start_unix_ns - 1, i.end_unix_ns) for i in infos)
    assert all(newest >= window_bounds(t)[1] for t, newest in windows)
    # Besides them, about one snapshot per sampling interval, not one per request.
    snapshots = [t for t in asked if t.startswith("/v1/snapshot")]
    assert len(snapshots) + len(windows) == len(asked), asked
    assert len(snapshots) <= 2 * intervals + 4, (len(snapshots), intervals)
