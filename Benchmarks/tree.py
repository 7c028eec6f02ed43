#!/usr/bin/env python3
"""Spawn a DRUM-shaped process tree for drum-monitor benchmarks (issue #7).

Shape: 1 master + N workers (default 8), master argv looks like
    /usr/bin/python3 <tmpdir>/bin/drum server --address unix:<tmpdir>/drum.sock ...
(the master is an executable script named `drum`, so its comm is "drum", which is
what DRUM's own ResourceMonitor matches on).  Workers are fork()ed from the master,
like gunicorn's, so they share its argv.  Each worker holds ~20 MB of touched memory
and idles with light periodic work (a small hash every 500 ms).

The master is placed, before exec, in fresh cgroup v1 groups
    /sys/fs/cgroup/memory/drum-monitor-bench-<tree.py pid>   (memory.limit_in_bytes = 2 GiB)
    /sys/fs/cgroup/cpu/drum-monitor-bench-<pid>
    /sys/fs/cgroup/cpuacct/drum-monitor-bench-<pid>          (skipped if cpuacct is co-mounted with cpu)

stdout: first line is the master pid (flushed).  Then tree.py waits; on SIGTERM/SIGINT/
SIGHUP/exit it SIGTERMs the master (which stops its workers), SIGKILLs any leftover pid
of the tree (checked by pid + starttime), waits for the cgroups to empty and rmdirs them.

Options:
  --workers N        (default 8)
  --worker-mb M      (default 20)
  --cgroup-root DIR  (default /sys/fs/cgroup)
  --real-drum        start real DRUM gunicorn from /var/cache/drum-monitor/drum-venv instead
                     (optional; falls back to the Python shape if the venv is unusable)
  --ready-file F     write "MASTER_PID CGROUP_NAME" to F once all workers are up
"""
import argparse
import os
import signal
import sys
import tempfile
import time

DRUM_SCRIPT = r'''#!{python}
# Fake `drum server` master: forks workers like gunicorn's arbiter.
import hashlib, os, signal, sys, time

args = sys.argv[1:]
workers = int(os.environ.get("BENCH_WORKERS", "8"))
worker_mb = int(os.environ.get("BENCH_WORKER_MB", "20"))
children = []

def worker_main():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    buf = bytearray(worker_mb * 1024 * 1024)
    for i in range(0, len(buf), 4096):   # touch every page so it is resident
        buf[i] = 1
    n = 0
    while True:
        time.sleep(0.5)
        n += 1
        buf[(n * 4096) % len(buf)] = n & 0xFF
        hashlib.sha256(bytes(buf[:4096])).digest()
        if os.getppid() == 1:
            os._exit(0)

def stop(*_):
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        worker_main()
        os._exit(0)
    children.append(pid)
while True:
    signal.pause()
'''


def cg_dirs(root, name):
    dirs = {"memory": os.path.join(root, "memory", name),
            "cpu": os.path.join(root, "cpu", name)}
    acct_root = os.path.join(root, "cpuacct")
    # When cpu and cpuacct are co-mounted (cpu,cpuacct), cpuacct is a symlink to the same hierarchy.
    if os.path.isdir(acct_root) and os.path.realpath(acct_root) != os.path.realpath(os.path.join(root, "cpu")):
        dirs["cpuacct"] = os.path.join(acct_root, name)
    return dirs


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def children_of(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def starttime(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def tree_pids(root):
    seen, stack = [], [root]
    while stack:
        p = stack.pop()
        seen.append(p)
        stack += children_of(p)
    return seen


def real_drum_cmd(tmp, workers):
    venv = "/var/cache/drum-monitor/drum-venv"
    drum = os.path.join(venv, "bin", "drum")
    if not os.access(drum, os.X_OK):
        return None, None
    model = os.path.join(tmp, "model")
    os.makedirs(model, exist_ok=True)
    with open(os.path.join(model, "custom.py"), "w") as f:
        f.write("import pandas as pd\n"
                "def load_model(code_dir):\n    return 'dummy'\n"
                "def score(data, model, **kw):\n"
                "    return pd.DataFrame({'Predictions': [0.0] * len(data)})\n")
    env = dict(os.environ, MAX_WORKERS=str(workers), DRUM_GUNICORN_WORKERS=str(workers))
    cmd = [drum, "server", "--code-dir", model, "--target-type", "regression",
           "--address", "127.0.0.1:%d" % (20000 + os.getpid() % 20000),
           "--max-workers", str(workers), "--logging-level", "warning"]
    return cmd, env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--worker-mb", type=int, default=20)
    ap.add_argument("--cgroup-root", default="/sys/fs/cgroup")
    ap.add_argument("--real-drum", action="store_true")
    ap.add_argument("--ready-file")
    a = ap.parse_args()

    name = f"drum-monitor-bench-{os.getpid()}"
    dirs = cg_dirs(a.cgroup_root, name)
    tmp = tempfile.mkdtemp(prefix="drum-bench-")
    state = {"master": None, "done": False}

    def cleanup(*_):
        if state["done"]:
            return
        state["done"] = True
        m = state["master"]
        if m:
            # Remember (pid, starttime) of the whole tree so we never signal a reused pid.
            known = {p: starttime(p) for p in (tree_pids(m.pid) if m.poll() is None else [])}
            try:
                m.terminate()          # master first: gunicorn / the fake master stop their workers
                m.wait(timeout=10)
            except Exception:
                pass
            for p, st in known.items():
                if st is not None and starttime(p) == st:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            try:
                m.wait(timeout=5)
            except Exception:
                pass
        for d in dirs.values():
            for _ in range(100):
                if not os.path.isdir(d):
                    break
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.05)   # tasks still exiting
            else:
                print(f"tree.py: could not rmdir {d}", file=sys.stderr)
        try:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        except Exception:
            pass

    def on_signal(signum, _frame):
        cleanup()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    import subprocess
    try:
        for ctrl, d in dirs.items():
            os.mkdir(d)
        write(os.path.join(dirs["memory"], "memory.limit_in_bytes"), 2 * 1024 ** 3)

        def enter_cgroups():
            me = str(os.getpid())
            for d in dirs.values():
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(me)

        cmd = env = None
        if a.real_drum:
            cmd, env = real_drum_cmd(tmp, a.workers)
            if cmd is None:
                print("tree.py: no usable DRUM venv; using the Python shape", file=sys.stderr)
        if cmd is None:
            bindir = os.path.join(tmp, "bin")
            os.makedirs(bindir)
            script = os.path.join(bindir, "drum")
            with open(script, "w") as f:
                f.write(DRUM_SCRIPT.replace("{python}", "/usr/bin/python3"))
            os.chmod(script, 0o755)
            cmd = [script, "server", "--address", f"unix:{tmp}/drum.sock",
                   "--code-dir", f"{tmp}/model", "--target-type", "regression"]
            env = dict(os.environ, BENCH_WORKERS=str(a.workers), BENCH_WORKER_MB=str(a.worker_mb))
        m = subprocess.Popen(cmd, env=env, preexec_fn=enter_cgroups,
                             stdin=subprocess.DEVNULL, close_fds=True)
        state["master"] = m
        print(m.pid, flush=True)
        # Wait until all workers exist and hold their memory.
        deadline = time.time() + 120
        want = a.workers + 1
        while time.time() < deadline:
            if m.poll() is not None:
                raise SystemExit(f"tree.py: master exited with {m.returncode}")
            pids = tree_pids(m.pid)
            if len(pids) >= want:
                break
            time.sleep(0.1)
        time.sleep(1.0 if not a.real_drum else 5.0)
        print(f"tree.py: master={m.pid} processes={len(tree_pids(m.pid))} cgroup={name}",
              file=sys.stderr, flush=True)
        if a.ready_file:
            with open(a.ready_file + ".tmp", "w") as f:
                f.write(f"{m.pid} {name}\n")
            os.rename(a.ready_file + ".tmp", a.ready_file)
        while m.poll() is None:
            time.sleep(0.5)
        print(f"tree.py: master exited with {m.returncode}", file=sys.stderr)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
