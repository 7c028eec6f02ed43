"""A request's peak against the live daemon: the range window the client asks for holds exactly
the samples the documented rule picks from ``/v1/samples`` (a sample at t stands for the time
since the sample before it, (t_prev, t], and covers [start, end] if that overlaps it), at every
edge, with the daemon's real timer jitter, and the resolver delivers the peak, complete and
exact that rule gives. The daemon watches a process whose memory
rises and falls in a v1 memory cgroup, so interval peaks are exact in some samples and lower
bounds in others."""
import os
import subprocess
import sys
import time

import pytest

from drum_monitor_client import Client, RequestInfo
from drum_monitor_client.peaks import Peak, peak_from_window, window_range
from drum_monitor_client.recorder import PeakResolver, RequestSink
from real import MiB, Cgroup, Daemon, poll, remove_directory, skip_reason, temporary_directory
from window_rule import covered, covering, expected_peak, rows_from_samples

# Holds 4 MiB more than ever before for 100 ms, then nothing for 100 ms, and again: the lifetime
# peak rises in every other interval (its interval peak exact), not in the others (lower bounds).
ALLOCATOR = """
import time
size = 0
while True:
    size = min(size + 4, 400)
    held = b"x" * (size << 20)
    time.sleep(0.1)
    del held
    time.sleep(0.1)
"""


class Live:
    def __init__(self):
        self.dir = temporary_directory()
        self.cgroup = Cgroup(512 * MiB)
        self.process = None
        self.daemon = None
        try:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", "{} && exec {} -c '{}'".format(self.cgroup.enter_command(), sys.executable, ALLOCATOR)],
                stdin=subprocess.DEVNULL)
            self.daemon = Daemon(self.dir, self.process.pid, interval="50ms")
            self.client = Client(self.daemon.socket, timeout=5)
            self.interval_ns = int(self.client.snapshot()["interval_seconds"] * 1e9)
        except BaseException:
            self.close()
            raise

    def rows(self, at_least):
        """The daemon's samples from its first, once it holds ``at_least`` of them."""
        self.daemon.wait_for_sequence(at_least)
        rows = rows_from_samples(self.client.samples(since=0, limit=10_000))
        assert rows[0].sequence == 1 and [r.sequence for r in rows] == list(range(1, len(rows) + 1))
        return rows

    def close(self):
        if self.daemon is not None:
            self.daemon.stop()
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.cgroup.remove()
        remove_directory(self.dir)


@pytest.fixture(scope="module")
def live():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    scene = Live()
    yield scene
    scene.close()


def ask(client, start, end):
    """The window the client asks for a request's [start, end]."""
    from_ns, to_ns = window_range(start, end)
    return client.window(from_ns=from_ns, to_ns=to_ns)


def edges(rows, interval):
    """(start, end) pairs at every edge of samples 10…16: at a sample's time and a nanosecond
    either side, at t − interval (where a sample on time would be) and a nanosecond either side,
    in the middle of its interval, single instants and spans."""
    cases = []
    for previous, r in zip(rows[9:16], rows[10:17]):
        t = r.time_ns
        for start in (t - 1, t, t + 1, (previous.time_ns + t) // 2):
            cases.append((start, start))
        for end in (t - interval - 1, t - interval, t - interval + 1, previous.time_ns + 1):
            cases.append((t - 3 * interval, end))
        cases.append((t, t + interval))
        cases.append((t + 1, t + 2 * interval - 1))
    # Reaching back before the daemon's first sample (not covered), and from its first instant.
    first = rows[0].time_ns
    cases += [(first - interval - 1, first + 1), (first - interval, first + 1), (first - interval + 1, first + 1)]
    return cases


def test_the_window_holds_exactly_the_samples_covering_the_request(live):
    rows = live.rows(40)
    interval = live.interval_ns
    exact_flags = {r.exact for r in rows[1:40]}
    assert exact_flags == {0, 1}, "the scene must have exact and lower-bound interval peaks: {}".format(exact_flags)
    for start, end in edges(rows, interval):
        expected = covering(rows, interval, start, end)
        answer = ask(live.client, start, end)
        window = answer["window"]
        got = (window["samples"], window["from_sequence"], window["to_sequence"], window["covered"])
        want = (len(expected), expected[0].sequence if expected else None, expected[-1].sequence if expected else None,
                covered(rows, interval, start, end))
        assert got == want, (start - rows[0].time_ns, end - rows[0].time_ns, got, want)
        assert peak_from_window(answer) == expected_peak(rows, interval, start, end), (start, end)
    peaks = [expected_peak(rows, interval, start, end) for start, end in edges(rows, interval)]
    assert any(p.exact for p in peaks) and any(p.complete and not p.exact for p in peaks)
    assert any(not p.complete for p in peaks)


def test_a_window_past_the_newest_sample_is_not_covered(live):
    rows = live.rows(20)
    start = rows[15].time_ns
    answer = ask(live.client, start, time.time_ns() + 60 * 10**9)
    assert answer["window"]["covered"] is False and answer["window"]["from_sequence"] == 16
    assert peak_from_window(answer).complete is False


def test_the_resolver_delivers_the_rules_peak(live):
    rows = live.rows(40)
    interval = live.interval_ns
    cases = edges(rows, interval)
    delivered = []
    resolver = PeakResolver(Client(live.daemon.socket, timeout=5), verify=False)
    for k, (start, end) in enumerate(cases):
        info = RequestInfo("edge-{}".format(k), "GET", "/x", "test")
        info.start_unix_ns, info.end_unix_ns, info.duration_seconds = start, end, (end - start) / 1e9
        resolver.submit(info, RequestSink(delivered.append))
    poll(lambda: len(delivered) == len(cases), timeout=30, what="every record")
    by_id = {info.request_id: info for info in delivered}
    for k, (start, end) in enumerate(cases):
        info = by_id["edge-{}".format(k)]
        got = Peak(info.peak_memory_bytes, info.peak_complete, info.peak_exact, info.peak_samples)
        assert got == expected_peak(rows, interval, start, end), (k, start, end)
    assert any(i.peak_exact for i in delivered) and any(i.peak_complete and not i.peak_exact for i in delivered)
