"""Real DRUM 1.18.1 with DRUM_MONITOR_PATCH=1 and a real daemon, in werkzeug ×1, werkzeug
--max-workers 2, gunicorn sync ×3 and gunicorn gevent ×2, each in its own v1 memory cgroup.

"Within one tick" is by the daemon's sample sequence numbers: the first sample taken after the
event shows it."""
import http.client
import json
import os
import signal
import socket
import threading
import uuid

import pytest

from drum_monitor_client import Client
from real import (MiB, Cgroup, Daemon, Drum, children, http_get, http_json, poll, read_jsonl,
                  remove_directory, skip_reason, temporary_directory, wait_for_record)

LIMIT_MIB = 1536
GEVENT = {"MLOPS_RUNTIME_PARAM_DRUM_GUNICORN_WORKER_CLASS": '{"type":"string","payload":"gevent"}'}
MODES = {
    "werkzeug-1": ("werkzeug", 1, {}),
    "werkzeug-2": ("werkzeug", 2, {}),
    "gunicorn-sync-3": ("gunicorn", 3, {}),
    "gunicorn-gevent-2": ("gunicorn", 2, GEVENT),
}
MEM_INFO_KEYS = {"total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used"}


class Scene:
    def __init__(self, name, patch=True):
        mode, workers, env = MODES[name]
        self.name, self.mode, self.workers = name, mode, workers
        self.dir = temporary_directory()
        self.jsonl = os.path.join(self.dir, "requests.jsonl")
        self.cgroup = Cgroup(LIMIT_MIB * MiB)
        self.daemon = None
        self.drum = None
        socket_path = os.path.join(self.dir, "daemon.sock")
        env = dict(env, DRUM_MONITOR_SOCKET=socket_path, DRUM_MONITOR_REQUESTS_JSONL=self.jsonl)
        if patch:
            env["DRUM_MONITOR_PATCH"] = "1"
        try:
            self.drum = Drum(mode, workers, self.cgroup, env, self.dir)
            self.daemon = Daemon(self.dir, self.drum.pid)
            assert self.daemon.socket == socket_path
            self.wait_for_full_tree()
        except BaseException:
            self.close()
            raise

    @property
    def root(self):
        return self.drum.pid

    def workers_now(self):
        return children(self.root) if self.mode == "gunicorn" else []

    def wait_for_full_tree(self):
        """Until the daemon's latest sample lists the master and every worker."""
        def complete():
            want = {self.root} | set(self.workers_now())
            if self.mode == "gunicorn" and len(want) != self.workers + 1:
                return False
            listed = {p["pid"] for p in self.daemon.client.snapshot()["processes"]}
            return want <= listed
        poll(complete, timeout=60, what="the daemon to list the whole tree of " + self.name)

    def stats(self, request_id=None):
        status, headers, document = http_json(self.drum.port, "/stats/",
                                              {"X-Request-ID": request_id} if request_id else None)
        assert status == 200, document
        return headers, document

    def record(self, request_id):
        return wait_for_record(self.jsonl, request_id)

    def close(self):
        if self.drum is not None:
            self.drum.stop()
        if self.daemon is not None:
            self.daemon.stop()
        self.cgroup.remove()
        remove_directory(self.dir)

    def describe(self):
        return "{}\n--- DRUM log ---\n{}\n--- daemon log ---\n{}".format(
            self.name, self.drum.log() if self.drum else "", self.daemon.log_text() if self.daemon else "")


@pytest.fixture(scope="module", params=list(MODES))
def scene(request):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    s = Scene(request.param)
    yield s
    s.close()


def assert_drum_types(document):
    assert set(document) == {"mem_info", "drum_info", "time_info"}
    assert isinstance(document["time_info"], dict)  # DRUM's own StatsCollector adds it
    mem = document["mem_info"]
    assert set(mem) == MEM_INFO_KEYS
    for key, value in mem.items():
        assert type(value) is float, (key, value)
    for process in document["drum_info"]:
        assert set(process) == {"pid", "cmdline", "mem", "cpu_percent"}
        assert type(process["pid"]) is int
        assert isinstance(process["cmdline"], list) and all(type(a) is str for a in process["cmdline"])
        assert type(process["mem"]) is float
        assert type(process["cpu_percent"]) is float


def stats_on_held_connections(scene, ids):
    """/stats/ requests whose heads are sent in two parts: every connection is accepted and
    held by a worker (a sync worker holds one, DRUM's gevent worker five) before any is
    completed, so the answers come from several workers."""
    held = []
    for request_id in ids:
        connection = socket.create_connection(("127.0.0.1", scene.drum.port), timeout=60)
        connection.sendall("GET /stats/ HTTP/1.1\r\nHost: drum\r\nX-Request-ID: {}\r\n".format(request_id).encode())
        held.append((request_id, connection))
    answers = {}
    for request_id, connection in held:
        with connection:
            connection.sendall(b"\r\n")
            response = http.client.HTTPResponse(connection)
            response.begin()
            assert response.status == 200
            answers[request_id] = ({k: v for k, v in response.getheaders()}, json.loads(response.read()))
    return answers


def test_stats_has_drums_shape_and_lists_the_whole_tree(scene):
    answered_by = set()
    for round_ in range(10):
        per_worker = 5 if scene.mode == "gunicorn" and "gevent" in scene.name else 1
        ids = ["stats-{}-{}-{}".format(scene.name, round_, n) for n in range(max(scene.workers * per_worker, 3))]
        answers = stats_on_held_connections(scene, ids)
        for request_id in ids:
            headers, document = answers[request_id]
            assert_drum_types(document)
            mem = document["mem_info"]
            assert mem["container_limit"] == float(LIMIT_MIB), scene.describe()
            assert mem["avail"] <= mem["total"]
            assert 0 < mem["container_used"] <= mem["container_limit"]
            assert mem["container_max_used"] >= mem["container_used"]
            listed = {p["pid"] for p in document["drum_info"]}
            assert scene.root in listed
            assert set(scene.workers_now()) <= listed, (listed, scene.workers_now())
            assert headers.get("X-Request-ID") == request_id
            answered_by.add(request_id)
        pids = {scene.record(rid)["pid"] for rid in answered_by}
        if scene.mode != "gunicorn" or len(pids) >= 2:
            break
    if scene.mode == "gunicorn":
        # Answered by several workers, every answer listing the master and all workers.
        assert pids <= set(scene.workers_now()) and len(pids) >= 2, pids
        assert len(document["drum_info"]) == scene.workers + 1
    elif scene.workers == 1:
        assert pids == {scene.root}
    else:  # werkzeug --max-workers: a child per request, the server listed
        assert scene.root not in pids


def test_mem_info_equals_the_daemons_within_one_tick(scene):
    for _ in range(100):
        before = scene.daemon.sequence()
        _, ours = scene.stats()
        daemons = scene.daemon.client.stats()
        if scene.daemon.sequence() == before:  # both answers come from the same sample
            assert ours["mem_info"] == {k: float(v) for k, v in daemons["mem_info"].items()}
            assert [p["pid"] for p in ours["drum_info"]] == [p["pid"] for p in daemons["drum_info"]]
            return
    pytest.fail("never got both answers within one sample")


def test_request_ids_and_records(scene):
    request_id = "predict-" + scene.name
    status, headers, body = http_get(scene.drum.port, "/predictUnstructured/", {"X-Request-ID": request_id},
                                     method="POST", body=b"hello")
    assert status == 200, body
    assert headers["X-Request-ID"] == request_id == headers["X_Request_ID"]
    # No header: our uuid4 is the id DRUM uses too.
    status, headers, _ = http_get(scene.drum.port, "/predictUnstructured/", method="POST", body=b"again")
    assert uuid.UUID(headers["X-Request-ID"]).version == 4
    assert headers["X_Request_ID"] == headers["X-Request-ID"]

    record = scene.record(request_id)
    assert (record["method"], record["path"], record["route"], record["status"], record["error"]) == \
        ("POST", "/predictUnstructured/", "/predictUnstructured/", 200, None)
    assert record["peak_memory_bytes"] and record["peak_memory_bytes"] >= 50 * MiB
    if scene.mode == "werkzeug" and scene.workers > 1:
        # The per-request child exits after the response: resolved at once, marked incomplete.
        assert record["peak_complete"] is False
        assert record["pid"] != scene.root
    else:
        assert record["peak_complete"] is True
        assert record["pid"] in {scene.root} | set(scene.workers_now())


def test_an_error_in_the_model_is_recorded(scene):
    # DRUM's error handler turns every exception into a 500: the record keeps the exception.
    status, _, _ = http_get(scene.drum.port, "/predict/", {"X-Request-ID": "bad-" + scene.name},
                            method="POST", body=b"not a csv for an unstructured model")
    record = scene.record("bad-" + scene.name)
    assert record["status"] == status and status >= 400
    assert record["route"] == "/predict/"


# -- gunicorn sync ×3 only: workers killed, OOM, the daemon stopped ---------------------------------

SYNC = pytest.mark.parametrize("scene", ["gunicorn-sync-3"], indirect=True)


@SYNC
def test_a_killed_worker_drops_out_and_its_replacement_appears_within_one_tick(scene):
    before = scene.workers_now()
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    replacement = poll(lambda: set(scene.workers_now()) - set(before), timeout=60, what="gunicorn to respawn")
    event = scene.daemon.sequence()  # the replacement exists from here on
    scene.daemon.wait_for_sequence(event + 1)
    _, document = scene.stats()
    listed = {p["pid"] for p in document["drum_info"]}
    assert victim not in listed
    assert replacement <= listed


@SYNC
def test_an_oom_killed_worker_is_respawned_and_counted(scene):
    snapshot = scene.daemon.client.snapshot()
    kills_before = snapshot["memory"]["oom_kills"]
    assert kills_before == scene.cgroup.oom_kills()
    before = scene.workers_now()

    def allocate():
        try:  # the worker dies mid-request: the connection breaks
            http_get(scene.drum.port, "/predictUnstructured/", method="POST", body=b"alloc:1300", timeout=120)
        except OSError:
            pass

    thread = threading.Thread(target=allocate)
    thread.start()
    poll(lambda: scene.cgroup.oom_kills() > kills_before, timeout=120, what="the kernel to OOM-kill a worker")
    thread.join(120)
    replacement = poll(lambda: set(scene.workers_now()) - set(before) if len(scene.workers_now()) == 3 else None,
                       timeout=60, what="gunicorn to respawn the OOM-killed worker")
    died = set(before) - set(scene.workers_now())
    assert len(died) == 1, (before, scene.workers_now())
    assert scene.drum.pid == scene.root and os.path.exists("/proc/{}".format(scene.root))  # the master lives on
    event = scene.daemon.sequence()
    scene.daemon.wait_for_sequence(event + 1)
    assert scene.daemon.client.snapshot()["memory"]["oom_kills"] == scene.cgroup.oom_kills() >= kills_before + 1
    _, document = scene.stats()
    listed = {p["pid"] for p in document["drum_info"]}
    assert replacement <= listed and not (died & listed)
    # Client.events(): the daemon's oom_kill names the worker that died.
    page = poll(lambda: (lambda p: p if p["events"] else None)(scene.daemon.client.events(kinds=["oom_kill"])),
                timeout=30, what="an oom_kill event")
    victims = {p["pid"] for e in page["events"] for p in e["processes"]}
    assert died <= victims, (died, page)


@SYNC
def test_the_daemon_stopped_mid_run_falls_back_and_comes_back(scene):
    scene.daemon.stop()
    for _ in range(5):
        headers, document = scene.stats()
        assert_drum_types(document)
        # This process's own view: the worker that answered, the cgroup it reads itself.
        assert len(document["drum_info"]) == 1
        assert document["drum_info"][0]["pid"] in scene.workers_now()
        assert document["mem_info"]["container_limit"] == float(LIMIT_MIB)
        assert document["mem_info"]["container_used"] > 0
    scene.daemon.start()
    poll(lambda: len(scene.stats()[1]["drum_info"]) == scene.workers + 1, timeout=60,
         what="DRUM's /stats/ to use the daemon again")


def test_without_the_variable_stats_is_drums_own():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    scene = Scene("gunicorn-gevent-2", patch=False)
    try:
        for n in range(10):
            _, document = scene.stats("own-{}".format(n))
            # DRUM's own monitor: the answering worker only, never the master.
            assert len(document["drum_info"]) == 1
            assert document["drum_info"][0]["pid"] in scene.workers_now()
            if os.path.exists("/.dockerenv"):  # DRUM then reads the root of the v1 hierarchy
                with open("/sys/fs/cgroup/memory/memory.limit_in_bytes") as f:
                    assert document["mem_info"]["container_limit"] == int(f.read()) / 1024 / 1024
            else:
                assert document["mem_info"]["container_limit"] is None
        assert read_jsonl(scene.jsonl) == []  # and no request hooks
        assert Client(scene.daemon.socket).stats()["mem_info"]["container_limit"] == float(LIMIT_MIB)
    finally:
        scene.close()
