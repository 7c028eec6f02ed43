"""Real processes for the real-kernel tiers: v1 memory cgroups, the drum-monitor daemon, DRUM
(through Tests/Drum/start-drum.sh) and plain servers, HTTP on 127.0.0.1. Everything started here
is stopped by pid; cgroups are named with the pid and a random number and removed after."""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from drum_monitor_client import Client, DaemonError, DaemonUnavailable

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
V1_MEMORY = "/sys/fs/cgroup/memory"
MiB = 1024 * 1024


def skip_reason() -> Optional[str]:
    """Why the real-kernel tiers cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (creates v1 memory cgroups)"
    if not os.path.exists(os.path.join(V1_MEMORY, "cgroup.procs")):
        return "no cgroup v1 memory hierarchy at " + V1_MEMORY
    return None


def poll(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.02, what: str = "condition") -> Any:
    """Polls until ``condition()`` is truthy and returns it; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after {:g} s waiting for {}".format(timeout, what))
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> List[int]:
    found: List[int] = []
    try:
        for task in os.listdir("/proc/{}/task".format(pid)):
            with open("/proc/{}/task/{}/children".format(pid, task)) as f:
                found.extend(int(p) for p in f.read().split())
    except OSError:
        pass
    return sorted(found)


def descendants(pid: int) -> List[int]:
    out, todo = [], children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return sorted(out)


def cmdline(pid: int) -> List[str]:
    try:
        with open("/proc/{}/cmdline".format(pid), "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        with open("/proc/{}/stat".format(pid)) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class Cgroup:
    """A v1 memory cgroup for one test; every process in it is killed and it is removed after."""

    def __init__(self, limit_bytes: Optional[int] = None) -> None:
        self.name = "drum-monitor-pyclient-{}-{}".format(os.getpid(), random.randrange(1 << 30))
        self.directory = os.path.join(V1_MEMORY, self.name)
        os.mkdir(self.directory)
        if limit_bytes is not None:
            self.write("memory.limit_in_bytes", str(limit_bytes))
        try:
            self.write("memory.swappiness", "0")  # reach the limit, not the swap
        except OSError:
            pass

    @property
    def path(self) -> str:
        return "/" + self.name

    def write(self, name: str, value: str) -> None:
        with open(os.path.join(self.directory, name), "w") as f:
            f.write(value)

    def read_int(self, name: str) -> int:
        with open(os.path.join(self.directory, name)) as f:
            return int(f.read().split()[0])

    def oom_kills(self) -> int:
        with open(os.path.join(self.directory, "memory.oom_control")) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        return 0

    def enter_command(self) -> str:
        """Shell code that moves the shell into this cgroup; `exec` the rest after it."""
        return "echo $$ > {}/cgroup.procs".format(self.directory)

    def pids(self) -> List[int]:
        try:
            with open(os.path.join(self.directory, "cgroup.procs")) as f:
                return [int(p) for p in f.read().split()]
        except OSError:
            return []

    def remove(self) -> None:
        deadline = time.monotonic() + 30
        while self.pids() and time.monotonic() < deadline:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(self.directory)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.02)


def daemon_binary() -> str:
    binary = os.environ.get("DRUM_MONITOR_BIN") or os.path.join(REPO, ".build", "debug", "drum-monitor")
    if not os.access(binary, os.X_OK):
        raise AssertionError("no drum-monitor binary at {} (make test-python builds it; or set DRUM_MONITOR_BIN)"
                             .format(binary))
    return binary


class Daemon:
    """``drum-monitor serve --pid PID`` on a socket in ``directory``, sampling every 100 ms."""

    def __init__(self, directory: str, pid: int, interval: str = "100ms") -> None:
        self.socket = os.path.join(directory, "daemon.sock")
        self.log = os.path.join(directory, "daemon.log")
        self.pid = pid
        self.interval = interval
        self.process: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self.client = Client(self.socket, timeout=5)
        self.start()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [daemon_binary(), "serve", "--socket", self.socket, "--pid", str(self.pid),
                 "--interval", self.interval, "--retention", "10m", "--config", "/dev/null"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        poll(self._ready, timeout=30, what="the daemon to answer on " + self.socket)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError("drum-monitor exited with {}:\n{}".format(self.process.returncode, self.log_text()))
        try:
            self.client.snapshot()
            return True
        except (DaemonUnavailable, DaemonError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sequence(self) -> int:
        return int(self.client.snapshot()["sequence"])

    def wait_for_sequence(self, at_least: int) -> int:
        return int(poll(lambda: (lambda s: s if s >= at_least else 0)(self.sequence()), timeout=30,
                        every=0.01, what="sample {}".format(at_least)))

    def log_text(self) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""


def http_get(port: int, path: str, headers: Optional[Dict[str, str]] = None, method: str = "GET",
             body: Optional[bytes] = None, timeout: float = 60) -> Tuple[int, Dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k: v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def http_json(port: int, path: str, headers: Optional[Dict[str, str]] = None,
              timeout: float = 60) -> Tuple[int, Dict[str, str], Any]:
    status, answer_headers, body = http_get(port, path, headers, timeout=timeout)
    return status, answer_headers, json.loads(body.decode())


class Drum:
    """Real DRUM started by Tests/Drum/start-drum.sh inside ``cgroup``, stopped by stop-drum.sh."""

    def __init__(self, mode: str, workers: int, cgroup: Cgroup, env: Dict[str, str], log_dir: str,
                 extra_args: Tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        script = os.path.join(REPO, "Tests", "Drum", "start-drum.sh")
        base = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
        base.update(env)
        base["DRUM_LOG_DIR"] = log_dir
        command = "{} && exec {} {} {} {} {}".format(
            cgroup.enter_command(), script, mode, workers, self.port, " ".join(extra_args))
        done = subprocess.run(["/bin/sh", "-c", command], env=base, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=240)
        if done.returncode != 0:
            raise AssertionError("start-drum.sh {} {} failed:\n{}".format(mode, workers, done.stderr.decode()[-6000:]))
        self.pid = int(done.stdout.decode().strip())
        self.stderr = done.stderr.decode()

    def log(self) -> str:
        for line in self.stderr.splitlines():
            if line.startswith("drum log: "):
                try:
                    with open(line[len("drum log: "):], errors="replace") as f:
                        return f.read()[-6000:]
                except OSError:
                    pass
        return self.stderr

    def stop(self) -> None:
        subprocess.run([os.path.join(REPO, "Tests", "Drum", "stop-drum.sh"), str(self.pid)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def temporary_directory() -> str:
    return tempfile.mkdtemp(prefix="dmc-real-", dir="/tmp")


def remove_directory(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def read_jsonl(path: str) -> List[Dict[str, Any]]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def wait_for_record(path: str, request_id: str) -> Dict[str, Any]:
    """The JSON-lines record of ``request_id`` in ``path``, once it has been written."""
    return dict(poll(lambda: next((r for r in read_jsonl(path) if r["request_id"] == request_id), None),
                     timeout=30, what="the record of request " + request_id))
