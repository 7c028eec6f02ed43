#!/usr/bin/env python3
"""The Python client's benchmarks (issue 13), side by side in one run; prints a markdown report.

Real DRUM 1.18.1, gunicorn ×3, three times: as released, with DRUM_MONITOR_PATCH=1 and a daemon
watching it, and patched without the request hooks (DRUM_MONITOR_REQUESTS=0, its own daemon). Measures
  1. ResourceMonitor.collect_resources_info() per call, CPU and latency: the drop-in (answering
     from the daemon) against DRUM's own (one process) and against psutil covering the whole
     tree as the drop-in does (Benchmarks/psutil_sampler.py's DRUM-style monitor);
  2. DRUM's /stats/ end to end, each way, beside DRUM's /ping/ and the daemon's /stats/ over
     its socket;
  3. the request-metadata hooks' added latency per request, Flask (WSGI) and FastAPI (ASGI),
     called in-process against the same app without them.
Variants alternate within each round (these machines are shared and noisy); CPU per call is
the median over rounds, latencies are percentiles over every call.

usage: python3 Benchmarks/python_client_bench.py [--daemon BIN] [--rounds 5] [--calls 400]
                                                  [--requests 400] [--hook-calls 20000]
environment: DRUM_MONITOR_BIN (the daemon; default .build/debug/drum-monitor),
             DRUM_VENV / PYCLIENT_FASTAPI_VENV (default: built by Tests/Drum/venv.sh and
             clients/python/tests/venv.sh). The package is reinstalled into both venvs.
The inner measurements run as `--inner MODE` in those venvs and print JSON.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PKG = os.path.join(REPO, "clients", "python")


def log(message):
    sys.stderr.write("python_client_bench: {}\n".format(message))
    sys.stderr.flush()


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------------------------------------
# Inner measurements (run inside the venvs)


def schedstat_ns(pid):
    total = 0
    for task in os.listdir("/proc/{}/task".format(pid)):
        with open("/proc/{}/task/{}/schedstat".format(pid, task)) as f:
            total += int(f.read().split()[0])
    return total


def inner_collect(args):
    """collect_resources_info(): DRUM's own (this process), the drop-in (the daemon's tree),
    psutil over the whole tree."""
    sys.path.insert(0, HERE)
    from datarobot_drum.drum.resource_monitor import ResourceMonitor as DrumMonitor
    from psutil_sampler import ResourceMonitor as PsutilTree, memory_cgroup_dir

    from drum_monitor_client import Client, ResourceMonitor

    variants = {
        "drum_own": DrumMonitor(monitor_current_process=True),
        # verify=False: this benchmark process is not in the tree the daemon watches.
        "drop_in": ResourceMonitor(True, verify=False, client=Client(args.socket)),
        "psutil_tree": PsutilTree(args.pid, memory_cgroup_dir(args.pid)),
    }
    for monitor in variants.values():
        monitor.collect_resources_info()  # warm: connections, psutil's first cpu_percent
    assert len(variants["drop_in"].collect_resources_info()["drum_info"]) >= 4, "the drop-in fell back"
    cpu = {name: [] for name in variants}
    wall = {name: [] for name in variants}
    daemon_cpu = []
    for _ in range(args.rounds):
        for name, monitor in variants.items():
            samples = wall[name]
            before_daemon = schedstat_ns(args.daemon_pid) if name == "drop_in" else 0
            start_cpu = time.process_time_ns()
            for _ in range(args.calls):
                t0 = time.perf_counter_ns()
                monitor.collect_resources_info()
                samples.append(time.perf_counter_ns() - t0)
            cpu[name].append((time.process_time_ns() - start_cpu) / args.calls)
            if name == "drop_in":
                daemon_cpu.append((schedstat_ns(args.daemon_pid) - before_daemon) / args.calls)
    result = {name: {"cpu_ns": statistics.median(cpu[name]), "p50_ns": percentile(wall[name], 0.5),
                     "p99_ns": percentile(wall[name], 0.99)} for name in variants}
    result["drop_in"]["daemon_cpu_ns"] = statistics.median(daemon_cpu)
    result["processes"] = len(variants["drop_in"].collect_resources_info()["drum_info"])
    print(json.dumps(result))


def inner_e2e(args):
    """DRUM's /stats/ both ways over TCP (a new connection each: DRUM's gunicorn closes them),
    DRUM's /ping/, and the daemon's /stats/ over its socket (keep-alive)."""
    import http.client

    from drum_monitor_client import Client

    def tcp(port, path):
        def call():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            connection.close()
            assert answer.status == 200, (port, path, answer.status)
        return call

    client = Client(args.socket, timeout=5)
    variants = {
        "ping_own": tcp(args.port_own, "/ping/"),
        "stats_own": tcp(args.port_own, "/stats/"),
        "ping_patched": tcp(args.port_patched, "/ping/"),
        "stats_patched": tcp(args.port_patched, "/stats/"),
        "ping_no_hooks": tcp(args.port_no_hooks, "/ping/"),
        "stats_no_hooks": tcp(args.port_no_hooks, "/stats/"),
        "daemon_stats": client.stats,
    }
    for call in variants.values():
        call()
    wall = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, call in variants.items():
            for _ in range(args.requests):
                t0 = time.perf_counter_ns()
                call()
                wall[name].append(time.perf_counter_ns() - t0)
    print(json.dumps({name: {"p50_ns": percentile(v, 0.5), "p99_ns": percentile(v, 0.99)} for name, v in wall.items()}))


def inner_flask(args):
    """A WSGI request through Flask in-process, with and without init_app."""
    import io

    import flask

    from drum_monitor_client import Client, recorder
    from drum_monitor_client.flask import init_app

    recorder.configure(Client(args.socket))

    def make(hooks, on_complete=None):
        app = flask.Flask("bench")

        @app.route("/items/<int:item_id>")
        def item(item_id):
            return "ok"

        if hooks:
            init_app(app, on_complete=on_complete)
        return app

    variants = {"plain": make(False), "hooks": make(True), "hooks_on_complete": make(True, lambda info: None)}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/items/7", "SCRIPT_NAME": "", "QUERY_STRING": "",
               "SERVER_NAME": "bench", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
               "wsgi.multiprocess": True, "wsgi.run_once": False, "SERVER_SOFTWARE": "bench",
               "HTTP_X_REQUEST_ID": "bench-id"}

    def start_response(status, headers, exc_info=None):
        return None

    def call(app):
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(b"")
        body = app.wsgi_app(env, start_response)
        for _ in body:
            pass
        body.close()

    measure_hooks(variants, call, args)


def inner_asgi(args):
    """An ASGI request through FastAPI in-process, with and without the middleware."""
    import asyncio

    from fastapi import FastAPI

    from drum_monitor_client import Client, recorder
    from drum_monitor_client.asgi import init_app

    recorder.configure(Client(args.socket))

    def make(hooks, on_complete=None):
        app = FastAPI()

        @app.get("/items/{item_id}")
        async def item(item_id: int):
            return "ok"

        if hooks:
            init_app(app, on_complete=on_complete)
        return app

    variants = {"plain": make(False), "hooks": make(True), "hooks_on_complete": make(True, lambda info: None)}
    scope_template = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                      "scheme": "http", "path": "/items/7", "raw_path": b"/items/7", "root_path": "",
                      "query_string": b"", "headers": [(b"host", b"bench"), (b"x-request-id", b"bench-id")],
                      "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    loop = asyncio.new_event_loop()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    def call(app):
        loop.run_until_complete(app(dict(scope_template), receive, send))

    measure_hooks(variants, call, args)


def measure_hooks(variants, call, args):
    for app in variants.values():
        for _ in range(200):
            call(app)
    wall = {name: [] for name in variants}
    per_round = max(1, args.hook_calls // args.rounds)
    for _ in range(args.rounds):
        for name, app in variants.items():
            samples = wall[name]
            for _ in range(per_round):
                t0 = time.perf_counter_ns()
                call(app)
                samples.append(time.perf_counter_ns() - t0)
    print(json.dumps({name: {"p50_ns": percentile(v, 0.5), "p99_ns": percentile(v, 0.99)} for name, v in wall.items()}))


# ---------------------------------------------------------------------------------------------
# The orchestrator


def run(command, **kwargs):
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    if done.returncode != 0:
        raise SystemExit("python_client_bench: {} failed:\n{}".format(" ".join(command), done.stderr.decode()[-4000:]))
    return done.stdout.decode()


def find_python(version):
    """pythonX.Y on PATH if it runs (pyenv shims refuse unselected versions), else pyenv's."""
    candidates = [shutil.which("python" + version), "/usr/bin/python" + version]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
        versions = os.path.join(root, "versions")
        if os.path.isdir(versions):
            candidates += [os.path.join(versions, v, "bin", "python" + version)
                           for v in sorted(os.listdir(versions)) if v.startswith(version + ".")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate) and subprocess.run(
                [candidate, "-c", "pass"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
            return candidate
    raise SystemExit("python_client_bench: python{} not found".format(version))


def venvs():
    drum = os.environ.get("DRUM_VENV") or run([os.path.join(REPO, "Tests", "Drum", "venv.sh")]).strip()
    fastapi = os.environ.get("PYCLIENT_FASTAPI_VENV") or run(
        [os.path.join(PKG, "tests", "venv.sh"), "fastapi-3.11", find_python("3.11"),
         os.path.join(PKG, "tests", "requirements-fastapi.txt")]).strip()
    for venv in (drum, fastapi):
        install = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                   "--force-reinstall", "--no-build-isolation", "--no-index", PKG]
        with open(venv + ".lock", "a") as lock:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
            run(install)
    return drum, fastapi


class Started:
    """Processes this run started, stopped by pid."""

    def __init__(self):
        self.drums = []
        self.daemons = []

    def drum(self, venv, env, log_dir):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
        base.update(env, DRUM_VENV=venv, DRUM_LOG_DIR=log_dir)
        pid = int(run([os.path.join(REPO, "Tests", "Drum", "start-drum.sh"), "gunicorn", "3", str(port)], env=base,
                      timeout=300).strip())
        self.drums.append(pid)
        return pid, port

    def daemon(self, binary, pid, socket_path, log_dir):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
        log_file = open(os.path.join(log_dir, "daemon-{}.log".format(pid)), "wb")
        process = subprocess.Popen([binary, "serve", "--config", "/dev/null", "--socket", socket_path,
                                    "--pid", str(pid)], env=env, stdout=log_file, stderr=log_file)
        self.daemons.append(process)
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("python_client_bench: the daemon did not start (see {})".format(log_dir))
            time.sleep(0.05)
        return process

    def stop(self):
        for pid in self.drums:
            subprocess.run([os.path.join(REPO, "Tests", "Drum", "stop-drum.sh"), str(pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for process in self.daemons:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)


def wait_for_tree(venv, socket_path, pid):
    """Until the daemon lists the master and 3 workers, each with a CPU reading (read twice)."""
    probe = ("import sys, time\nfrom drum_monitor_client import Client\nc = Client(sys.argv[1], timeout=5)\n"
             "deadline = time.monotonic() + 60\n"
             "while time.monotonic() < deadline:\n"
             "    try:\n        p = c.snapshot()['processes']\n    except Exception:\n        p = []\n"
             "    if len(p) >= 4 and all(x['cpu_cores'] is not None for x in p):\n        sys.exit(0)\n"
             "    time.sleep(0.1)\nsys.exit('the daemon never listed the whole tree')\n")
    run([os.path.join(venv, "bin", "python"), "-c", probe, socket_path])


def inner(venv, mode, args, **extra):
    command = [os.path.join(venv, "bin", "python"), os.path.abspath(__file__), "--inner", mode,
               "--rounds", str(args.rounds), "--calls", str(args.calls), "--requests", str(args.requests),
               "--hook-calls", str(args.hook_calls)]
    for key, value in extra.items():
        command += ["--" + key.replace("_", "-"), str(value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
    return json.loads(run(command, env=env).strip().splitlines()[-1])


def us(ns):
    return "{:.0f}".format(ns / 1000) if ns >= 10_000 else "{:.1f}".format(ns / 1000)


def report(args, collect, e2e, flask_hooks, asgi_hooks, drum_venv, fastapi_venv):
    def version(venv, module):
        return run([os.path.join(venv, "bin", "python"), "-c",
                    "import importlib.metadata as m; print(m.version({!r}))".format(module)]).strip()

    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu_model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    lines = ["## Python client (drum_monitor_client)", "",
             "Machine: {}, {} cores, Linux {}; python {}; datarobot-drum {}, psutil {}, Flask {}, FastAPI {}; "
             "{} rounds, variants interleaved.".format(
                 cpu_model or "?", os.cpu_count(), platform.release(),
                 run([os.path.join(drum_venv, "bin", "python"), "-c", "import sys; print(sys.version.split()[0])"]).strip(),
                 version(drum_venv, "datarobot-drum"), version(drum_venv, "psutil"), version(drum_venv, "flask"),
                 version(fastapi_venv, "fastapi"), args.rounds), ""]
    d, own, ps = collect["drop_in"], collect["drum_own"], collect["psutil_tree"]
    lines += ["### `collect_resources_info()` per call (DRUM gunicorn ×3, {} processes)".format(collect["processes"]), "",
              "| variant | covers | CPU µs/call (caller) | CPU µs/call (+ daemon) | p50 µs | p99 µs |",
              "|---|---|---|---|---|---|",
              "| drum-monitor drop-in | whole tree, from the daemon | {} | {} | {} | {} |".format(
                  us(d["cpu_ns"]), us(d["cpu_ns"] + d["daemon_cpu_ns"]), us(d["p50_ns"]), us(d["p99_ns"])),
              "| DRUM's own (psutil) | one process | {} | | {} | {} |".format(us(own["cpu_ns"]), us(own["p50_ns"]), us(own["p99_ns"])),
              "| psutil, whole tree | whole tree | {} | | {} | {} |".format(us(ps["cpu_ns"]), us(ps["p50_ns"]), us(ps["p99_ns"])),
              ""]
    ratio_psutil = ps["cpu_ns"] / d["cpu_ns"]
    ratio_psutil_total = ps["cpu_ns"] / (d["cpu_ns"] + d["daemon_cpu_ns"])
    lines += ["Targets (CPU per call): ≥ 5× cheaper than whole-tree psutil: {:.1f}× caller, {:.1f}× with the daemon's "
              "share → {}; no more than DRUM's one-process call: {} vs {} µs → {}. Latency includes the socket round "
              "trip, which psutil does not pay.".format(
                  ratio_psutil, ratio_psutil_total, "met" if ratio_psutil_total >= 5 else "NOT met",
                  us(d["cpu_ns"]), us(own["cpu_ns"]), "met" if d["cpu_ns"] <= own["cpu_ns"] else "NOT met"), ""]
    lines += ["### `/stats/` end to end ({} requests per variant, a new TCP connection each)".format(args.rounds * args.requests), "",
              "| request | p50 µs | p99 µs |", "|---|---|---|"]
    for name, label in (("ping_own", "DRUM `/ping/`, as released"), ("stats_own", "DRUM `/stats/`, as released (one worker)"),
                        ("ping_patched", "DRUM `/ping/`, `DRUM_MONITOR_PATCH=1`"),
                        ("stats_patched", "DRUM `/stats/`, `DRUM_MONITOR_PATCH=1` (whole tree)"),
                        ("ping_no_hooks", "DRUM `/ping/`, `DRUM_MONITOR_PATCH=1 DRUM_MONITOR_REQUESTS=0`"),
                        ("stats_no_hooks", "DRUM `/stats/`, `DRUM_MONITOR_PATCH=1 DRUM_MONITOR_REQUESTS=0`"),
                        ("daemon_stats", "daemon `/stats/` over its socket (keep-alive)")):
        lines.append("| {} | {} | {} |".format(label, us(e2e[name]["p50_ns"]), us(e2e[name]["p99_ns"])))
    lines += ["", "### Request-metadata hooks, added latency per request (in-process, {} requests per variant)".format(
        args.hook_calls), "", "| framework | without p50 µs | with hooks p50 µs (added) | with hooks + on_complete p50 µs (added) | p99 µs without / with |",
        "|---|---|---|---|---|"]
    verdicts = []
    for label, result in (("Flask {}".format(version(drum_venv, "flask")), flask_hooks),
                          ("FastAPI {}".format(version(fastapi_venv, "fastapi")), asgi_hooks)):
        base = result["plain"]["p50_ns"]
        added = result["hooks"]["p50_ns"] - base
        added_recorded = result["hooks_on_complete"]["p50_ns"] - base
        lines.append("| {} | {} | {} ({:+.1f}) | {} ({:+.1f}) | {} / {} |".format(
            label, us(base), us(result["hooks"]["p50_ns"]), added / 1000, us(result["hooks_on_complete"]["p50_ns"]),
            added_recorded / 1000, us(result["plain"]["p99_ns"]), us(result["hooks_on_complete"]["p99_ns"])))
        verdicts.append("{} {:+.1f} µs → {}".format(label.split()[0], max(added, added_recorded) / 1000,
                                                    "met" if max(added, added_recorded) <= 50_000 else "NOT met"))
    lines += ["", "Target (≤ 50 µs p50 added): " + "; ".join(verdicts) + ".", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inner", choices=["collect", "e2e", "flask", "asgi"])
    parser.add_argument("--daemon", default=os.environ.get("DRUM_MONITOR_BIN") or os.path.join(REPO, ".build", "debug", "drum-monitor"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--hook-calls", type=int, default=20000)
    parser.add_argument("--socket")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--daemon-pid", type=int)
    parser.add_argument("--port-own", type=int)
    parser.add_argument("--port-patched", type=int)
    parser.add_argument("--port-no-hooks", type=int)
    args = parser.parse_args()
    if args.inner:
        {"collect": inner_collect, "e2e": inner_e2e, "flask": inner_flask, "asgi": inner_asgi}[args.inner](args)
        return
    if not os.access(args.daemon, os.X_OK):
        raise SystemExit("python_client_bench: no daemon binary at {} (--daemon or DRUM_MONITOR_BIN)".format(args.daemon))
    drum_venv, fastapi_venv = venvs()
    work = tempfile.mkdtemp(prefix="pyclient-bench-", dir="/tmp")
    socket_path = os.path.join(work, "daemon.sock")
    started = Started()
    try:
        log("starting DRUM gunicorn ×3 three times (as released; DRUM_MONITOR_PATCH=1; also DRUM_MONITOR_REQUESTS=0)")
        own_pid, own_port = started.drum(drum_venv, {}, work)
        patched = {"DRUM_MONITOR_PATCH": "1", "DRUM_MONITOR_SOCKET": socket_path}
        patched_pid, patched_port = started.drum(drum_venv, patched, work)
        # Its own daemon: a daemon answers only for the tree it watches.
        no_hooks_socket = os.path.join(work, "daemon-no-hooks.sock")
        no_hooks_pid, no_hooks_port = started.drum(
            drum_venv, {"DRUM_MONITOR_PATCH": "1", "DRUM_MONITOR_SOCKET": no_hooks_socket, "DRUM_MONITOR_REQUESTS": "0"}, work)
        daemon = started.daemon(args.daemon, patched_pid, socket_path, work)
        started.daemon(args.daemon, no_hooks_pid, no_hooks_socket, work)
        wait_for_tree(drum_venv, socket_path, patched_pid)
        wait_for_tree(drum_venv, no_hooks_socket, no_hooks_pid)
        log("collect_resources_info()")
        collect = inner(drum_venv, "collect", args, socket=socket_path, pid=patched_pid, daemon_pid=daemon.pid)
        log("/stats/ end to end")
        e2e = inner(drum_venv, "e2e", args, socket=socket_path, port_own=own_port, port_patched=patched_port,
                    port_no_hooks=no_hooks_port)
        log("request hooks: Flask")
        flask_hooks = inner(drum_venv, "flask", args, socket=socket_path)
        log("request hooks: FastAPI")
        asgi_hooks = inner(fastapi_venv, "asgi", args, socket=socket_path)
    finally:
        started.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(report(args, collect, e2e, flask_hooks, asgi_hooks, drum_venv, fastapi_venv))


if __name__ == "__main__":
    main()
