"""FastAPI under `uvicorn --workers 3` and under gunicorn with `uvicorn_worker.UvicornWorker
-w 3`, each in its own v1 memory cgroup, the daemon on the master's pid."""
import os
import signal
import subprocess
import sys
import threading

import pytest

from real import (MiB, Cgroup, Daemon, cmdline, descendants, free_port, http_json, poll,
                  remove_directory, skip_reason, temporary_directory, wait_for_record)

APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "app")
SERVERS = {
    "uvicorn-3": lambda port: [sys.executable, "-m", "uvicorn", "app:app", "--workers", "3", "--host", "127.0.0.1",
                               "--port", str(port), "--app-dir", APP_DIR, "--log-level", "warning"],
    "gunicorn-uvicorn-worker-3": lambda port: [sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker",
                                               "-w", "3", "--bind", "127.0.0.1:{}".format(port), "--chdir", APP_DIR,
                                               "--log-level", "warning", "app:app"],
}


class Server:
    def __init__(self, name):
        self.name = name
        self.dir = temporary_directory()
        self.jsonl = os.path.join(self.dir, "requests.jsonl")
        self.cgroup = Cgroup(2048 * MiB)
        self.port = free_port()
        self.daemon = None
        self.process = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
        env.update(DRUM_MONITOR_SOCKET=os.path.join(self.dir, "daemon.sock"), APP_REQUESTS_JSONL=self.jsonl)
        command = " ".join("'{}'".format(a) for a in SERVERS[name](self.port))
        try:
            self.log = open(os.path.join(self.dir, "server.log"), "wb")
            self.process = subprocess.Popen(["/bin/sh", "-c", "{} && exec {}".format(self.cgroup.enter_command(), command)],
                                            env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
            poll(self._answers, timeout=60, what=name + " to answer")
            self.daemon = Daemon(self.dir, self.process.pid)
            assert self.daemon.socket == env["DRUM_MONITOR_SOCKET"]
            poll(self._daemon_has_the_tree, timeout=60, what="the daemon to list every process of " + name)
        except BaseException:
            self.close()
            raise

    def _answers(self):
        if self.process.poll() is not None:
            raise AssertionError("{} exited: {}".format(self.name, self.log_text()))
        try:
            status, _, _ = http_json(self.port, "/ids/ready", timeout=5)
            return status == 200 and len(self.workers()) == 3
        except OSError:
            return False

    def _daemon_has_the_tree(self):
        listed = {p["pid"] for p in self.daemon.client.snapshot()["processes"]}
        return self.tree() <= listed

    def tree(self):
        return {self.process.pid} | set(descendants(self.process.pid))

    def workers(self):
        return [p for p in descendants(self.process.pid)
                if not any("resource_tracker" in a for a in cmdline(p))]

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def record(self, request_id):
        return wait_for_record(self.jsonl, request_id)

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.daemon is not None:
            self.daemon.stop()
        self.cgroup.remove()
        self.log.close()
        remove_directory(self.dir)


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    s = Server(request.param)
    yield s
    s.close()


def test_every_process_is_listed_by_every_worker(server):
    answered = set()
    tree = server.tree()
    for n in range(40):
        status, headers, document = http_json(server.port, "/stats/", {"X-Request-ID": "stats-{}".format(n)})
        assert status == 200
        listed = {p["pid"] for p in document["drum_info"]}
        assert listed == tree, (listed, tree, server.name)
        assert document["mem_info"]["container_limit"] == 2048.0
        assert headers["x-request-id"] == document["request_id"] == "stats-{}".format(n)
        answered.add(document["pid"])
    assert answered <= set(server.workers())


def test_concurrent_requests_keep_their_own_ids(server):
    answers = {}

    def ask(n):
        answers[n] = http_json(server.port, "/ids/{}".format(n), {"X-Request-ID": "concurrent-{}".format(n)})

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids = set()
    for n, (status, headers, body) in answers.items():
        want = "concurrent-{}".format(n)
        assert status == 200
        assert (body["before"], body["after"], headers["x-request-id"], body["route"]) == \
            (want, want, want, "/ids/{name}")
        pids.add(body["pid"])
    for n in range(60):
        record = server.record("concurrent-{}".format(n))
        assert (record["route"], record["status"], record["path"]) == ("/ids/{name}", 200, "/ids/{}".format(n))


def test_an_allocation_held_for_two_intervals_shows_in_the_peak(server):
    baseline = server.daemon.client.snapshot()["memory"]["current_bytes"]
    status, _, body = http_json(server.port, "/hold?mib=300&intervals=2", {"X-Request-ID": "hold"})
    assert status == 200 and body["held"] == 300 * MiB
    record = server.record("hold")
    assert record["peak_complete"] is True, record
    assert record["peak_samples"] >= 3
    assert record["peak_memory_bytes"] >= baseline + 300 * MiB, (record, baseline)
