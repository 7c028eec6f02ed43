#!/usr/bin/env python3
"""drum-monitor system test: runs as root inside the test VM (see ../vm-run.sh).

Each assertion prints one line, "PASS name: detail" or "FAIL name: detail";
the last line is "N passed, N failed". Exit status 1 if anything failed.

    test.py              full test: installs ./drum-monitor.deb with apt first, upgrades it
                         to ./drum-monitor-upgrade.deb, removes and purges it last
    test.py --env-only   only the checks of the VM itself (kernel, cgroup v2, ...);
                         so does a file named env-only beside test.py
"""
import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEB = os.path.join(HERE, "drum-monitor.deb")
UPGRADE_DEB = os.path.join(HERE, "drum-monitor-upgrade.deb")
BIN = "/usr/bin/drum-monitor"
UNITS = "/lib/systemd/system"
CONFIG = "/etc/drum-monitor/drum-monitor.yaml"
GROUP = "drum-monitor"
READER, OUTSIDER = "dmreader", "dmoutsider"  # a user in the group and one outside it
SVC, SOCKET_UNIT = "drum-monitor.service", "drum-monitor.socket"
FAKE, SLICE = "fake-drum.service", "drumtest.slice"  # no dash: "a-b.slice" nests in "a.slice"
CTL = "/run/fake-drum"
MiB = 1 << 20
MEMORY_MAX = 256 * MiB
SLICE_MEMORY_MAX = 300 * MiB

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    detail = " ".join(str(detail).split())  # one line per check
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def info(text):
    print(f"# {text}", flush=True)


# ---------------------------------------------------------------- helpers


def run(*cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def systemctl(*args, timeout=120):
    return run("systemctl", *args, timeout=timeout)


def prop(unit, name):
    return systemctl("show", "-p", name, "--value", unit).stdout.strip()


def cgroup_dir(unit):
    return "/sys/fs/cgroup" + prop(unit, "ControlGroup")


def cg_read(unit, name):
    with open(os.path.join(cgroup_dir(unit), name)) as f:
        return f.read().strip()


def cg_keyed(unit, name, key):
    for line in cg_read(unit, name).splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    raise KeyError(key)


def wait_for(fn, timeout, step=0.5):
    """Poll fn() until it returns something truthy; returns that or the last value."""
    end = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except Exception:
            value = None
        if value or time.monotonic() > end:
            return value
        time.sleep(step)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def socket_path():
    listen = prop(SOCKET_UNIT, "Listen")  # "/run/drum-monitor/drum-monitor.sock (Stream)"
    return listen.split()[0] if listen.startswith("/") else "/run/drum-monitor/drum-monitor.sock"


def get(path, timeout=20, sock=None):
    """GET over the daemon's Unix socket (SOCK unless given): (status, parsed JSON or text)."""
    conn = UnixHTTP(sock or SOCK, timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(body)
    except ValueError:
        return resp.status, body


def snapshot(sock=None):
    status, body = get("/v1/snapshot", sock=sock)
    assert status == 200, f"/v1/snapshot: HTTP {status}"
    return body


def window(seconds, sock=None):
    status, body = get(f"/v1/window?seconds={seconds}", sock=sock)
    assert status == 200, f"/v1/window: HTTP {status}"
    return body["fields"]


def answers(sock=None):
    try:
        return get("/healthz", timeout=10, sock=sock)[0] in (200, 503)
    except OSError:
        return False


def mib(n):
    return "null" if n is None else f"{n / MiB:.1f}MiB"


# ---------------------------------------------------------------- the fake DRUM


def write_fake_unit(memory_max=None, slice_=None, cpu_quota="150%", unit=FAKE, ctl=CTL, port=6789, extra=()):
    lines = [
        "[Unit]",
        "Description=DRUM-shaped fake model server (system test)",
        "[Service]",
        f"ExecStart=/usr/bin/python3 /opt/fake-drum/bin/drum server --address 127.0.0.1:{port} --control {ctl} --workers 3",
        "OOMPolicy=continue",
        f"CPUQuota={cpu_quota}",
        *extra,
    ]
    if memory_max:
        lines.append(f"MemoryMax={memory_max}")
    if slice_:
        lines.append(f"Slice={slice_}")
    with open(f"/run/systemd/system/{unit}", "w") as f:
        f.write("\n".join(lines) + "\n")
    systemctl("daemon-reload")


def clear_control(ctl):
    for name in os.listdir(ctl) if os.path.isdir(ctl) else []:
        os.unlink(os.path.join(ctl, name))


def workers_up(ctl):
    return wait_for(lambda: all(os.path.exists(f"{ctl}/w{i}.pid") for i in range(3)), 30)


def start_fake(unit=FAKE, ctl=CTL):
    systemctl("stop", unit)
    clear_control(ctl)
    r = systemctl("start", unit)
    assert r.returncode == 0, r.stderr
    assert workers_up(ctl), "workers not up"
    return int(prop(unit, "MainPID"))


_cmd_id = [0]


def command(worker, verb, *args, wait=True, timeout=60, ctl=CTL, host_pid=lambda pid: pid):
    """Send a command to fake worker i; returns the milliseconds it took (or None). host_pid maps
    the pid the worker wrote (in its own pid namespace) to ours."""
    _cmd_id[0] += 1
    cid = str(_cmd_id[0])
    with open(f"{ctl}/w{worker}.cmd.tmp", "w") as f:
        f.write(" ".join([cid, verb, *map(str, args)]))
    os.rename(f"{ctl}/w{worker}.cmd.tmp", f"{ctl}/w{worker}.cmd")
    pid = host_pid(int(open(f"{ctl}/w{worker}.pid").read()))
    os.kill(pid, signal.SIGUSR1)
    if not wait:
        return pid

    def done():
        words = open(f"{ctl}/w{worker}.done").read().split()
        return words if words[0] == cid else None

    words = wait_for(done, timeout, step=0.01)
    assert words, f"worker {worker} did not finish '{verb}'"
    return int(words[1])


def wait_target(pid, timeout=60, sock=None):
    """Wait until the daemon's snapshot targets pid; returns that snapshot or None."""
    return wait_for(lambda: (lambda s: s if s["target"]["found"] and s["target"]["root_pid"] == pid else None)(snapshot(sock)), timeout)


# ---------------------------------------------------------------- checks of the VM itself


def test_environment():
    check("env.systemd-pid1", open("/proc/1/comm").read().strip() == "systemd")
    release = os.uname().release
    major, minor = map(int, re.match(r"(\d+)\.(\d+)", release).groups())
    check("env.kernel>=6.12", (major, minor) >= (6, 12), release)
    mounts = [line.split() for line in open("/proc/mounts")]
    check("env.cgroup2-mounted", any(m[1] == "/sys/fs/cgroup" and m[2] == "cgroup2" for m in mounts))
    controllers = open("/sys/fs/cgroup/cgroup.controllers").read().split()
    check("env.memory-controller", "memory" in controllers and "cpu" in controllers, " ".join(controllers))
    check("env.systemd-analyze", run("systemd-analyze", "--version").returncode == 0)

    # Kernel >= 6.12: "reset" written to an open memory.peak resets the peak seen through that fd only.
    own = "/sys/fs/cgroup" + open("/proc/self/cgroup").read().strip().split("::", 1)[1]
    peak = os.path.join(own, "memory.peak")
    old = os.open(peak, os.O_RDONLY)
    block = bytearray(b"\x01") * (64 * MiB)
    del block
    fd = os.open(peak, os.O_RDWR)
    try:
        before = int(os.pread(fd, 64, 0))
        os.write(fd, b"reset")
        after = int(os.pread(fd, 64, 0))
        other = int(os.pread(old, 64, 0))
        check(
            "env.memory.peak-fd-reset",
            after < before - 48 * MiB and other >= before - MiB,
            f"peak {mib(before)} -> {mib(after)} after reset on this fd, {mib(other)} on another fd",
        )
    finally:
        os.close(fd)
        os.close(old)


# ---------------------------------------------------------------- daemon tests


def apt(*args, timeout=600):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The VM has no network: anything apt would need to download fails the install.
    return subprocess.run(["apt-get", "-y", "-q", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def dpkg_status():
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", "drum-monitor")
    return r.stdout.strip() if r.returncode == 0 else "not-installed"


def test_install():
    r = apt("install", DEB)
    check("deb.apt-install", r.returncode == 0, (r.stdout + r.stderr).strip()[-600:])
    check("deb.installed", dpkg_status().startswith("ii"), dpkg_status())
    for path in [BIN, f"{UNITS}/{SVC}", f"{UNITS}/{SOCKET_UNIT}", f"{UNITS}/drum-monitor@.service",
                 f"{UNITS}/drum-monitor@.socket", CONFIG, "/usr/lib/sysusers.d/drum-monitor.conf",
                 "/usr/share/man/man8/drum-monitor.8.gz", "/usr/share/bash-completion/completions/drum-monitor"]:
        check(f"layout {path}", os.path.isfile(path) and (path != BIN or os.access(path, os.X_OK)))
    r = run("getent", "group", GROUP)
    check("deb.group-created", r.returncode == 0, r.stdout.strip())
    version = run(BIN, "--version").stdout.strip()
    check("cli.--version", version.split()[0] == dpkg_status()[3:].strip(), f"{version!r} vs package {dpkg_status()}")
    r = run(BIN, "check-config", CONFIG)
    check("cli.check-config", r.returncode == 0, (r.stdout + r.stderr).strip()[-200:])
    check("unit.type-notify", prop(SVC, "Type") == "notify", prop(SVC, "Type"))
    check("deb.enabled-and-started", prop(SOCKET_UNIT, "UnitFileState") == "enabled" and prop(SOCKET_UNIT, "ActiveState") == "active",
          f"{SOCKET_UNIT}: {prop(SOCKET_UNIT, 'UnitFileState')}/{prop(SOCKET_UNIT, 'ActiveState')}")
    for unit in (SVC, SOCKET_UNIT, "drum-monitor@a.service", "drum-monitor@a.socket"):
        r = run("systemd-analyze", "verify", "--man=no", unit)  # the image has no man-db; the page is checked above
        check(f"unit.verify {unit}", r.returncode == 0, r.stderr.strip()[-300:])


def socket_owner(path):
    st = os.stat(path)
    group = run("getent", "group", str(st.st_gid)).stdout.split(":")[0]
    return stat.S_ISSOCK(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, group


def check_socket_owner(name, path):
    is_sock, mode, uid, group = socket_owner(path)
    check(name, is_sock and mode == "0o660" and uid == 0 and group == GROUP, f"{path}: {mode} uid {uid} group {group}")


def test_socket_activation():
    systemctl("stop", SOCKET_UNIT, SVC)
    r = systemctl("start", SOCKET_UNIT)
    check("socket.start", r.returncode == 0, r.stderr.strip())
    check("socket.service-not-started-yet", prop(SVC, "ActiveState") != "active", prop(SVC, "ActiveState"))
    status, body = get("/healthz", timeout=90)
    check("socket.on-demand-query", status in (200, 503), f"HTTP {status}")
    # READY=1 follows the first answer by moments; systemd records it asynchronously.
    state = wait_for(lambda: prop(SVC, "ActiveState") == "active" and "active", timeout=10) or prop(SVC, "ActiveState")
    check("socket.service-active-after-query", state == "active", state)
    check_socket_owner("socket.0660-root-drum-monitor-by-systemd", SOCK)
    test_group_permissions("socket-unit")


def test_daemon_bound_socket():
    """Without its .socket unit the daemon binds the socket itself: the same owner, group and mode."""
    systemctl("stop", SOCKET_UNIT, SVC)
    systemctl("mask", "--runtime", SOCKET_UNIT)
    try:
        r = systemctl("start", SVC)
        check("socket.daemon-binds", r.returncode == 0 and prop(SOCKET_UNIT, "ActiveState") != "active",
              f"{r.stderr.strip()} socket unit {prop(SOCKET_UNIT, 'ActiveState')}")
        check_socket_owner("socket.0660-root-drum-monitor-by-daemon", SOCK)
        test_group_permissions("daemon")
    finally:
        systemctl("stop", SVC)
        systemctl("unmask", "--runtime", SOCKET_UNIT)


def as_user(user, *cmd):
    return run("runuser", "-u", user, "--", *cmd)


def test_group_permissions(how):
    """A member of drum-monitor can query; a user outside it cannot even connect."""
    r = as_user(READER, BIN, "query", "health", "--json", "--socket", SOCK)
    try:
        ok = r.returncode == 0 and json.loads(r.stdout)["status"] in ("ok", "stale", "starting")
    except (ValueError, KeyError):
        ok = False
    check(f"permissions.{how}.member-queries", ok, (r.stderr or r.stdout).strip()[-200:])
    r = as_user(OUTSIDER, BIN, "query", "health", "--json", "--socket", SOCK)
    check(f"permissions.{how}.outsider-refused", r.returncode != 0 and "ermission denied" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()[-200:]}")
    probe = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({SOCK!r})"
    r = as_user(OUTSIDER, "python3", "-c", probe)
    check(f"permissions.{how}.outsider-connect-EACCES", r.returncode != 0 and "PermissionError" in r.stderr, r.stderr.strip()[-200:])


def test_start_ready():
    systemctl("stop", SOCKET_UNIT, SVC)
    t = time.monotonic()
    r = systemctl("start", SVC)
    took = time.monotonic() - t
    state = prop(SVC, "ActiveState") + "/" + prop(SVC, "SubState")  # right after start returned
    check("start.returns-after-ready", r.returncode == 0 and state == "active/running", f"{state} after {took:.1f}s {r.stderr.strip()}")
    check("start.answers-at-once", answers())
    wd = prop(SVC, "WatchdogUSec")  # only known once started
    check("unit.watchdog", wd not in ("", "0", "infinity"), f"WatchdogUSec={wd} Restart={prop(SVC, 'Restart')}")
    status, body = wait_for(lambda: (lambda s: s if s[0] == 200 else None)(get("/healthz")), 30) or (None, None)
    check("healthz.200", status == 200, json.dumps(body)[:300])
    r = run(BIN, "query", "snapshot", "--json", "--socket", SOCK)
    try:
        ok = r.returncode == 0 and json.loads(r.stdout)["sequence"] > 0
    except (ValueError, KeyError, TypeError):
        ok = False
    check("cli.query-snapshot-json", ok, (r.stderr or r.stdout).strip()[-200:])
    r = run(BIN, "sample", "--json")
    try:
        ok = r.returncode == 0 and isinstance(json.loads(r.stdout), dict)
    except ValueError:
        ok = False
    check("cli.sample-json", ok, (r.stderr or r.stdout).strip()[-200:])


def test_target_and_memory(pid):
    snap = wait_target(pid)
    check("target.found", bool(snap), f"root_pid {pid}")
    if not snap:
        info(json.dumps(snapshot())[:1500])
        return
    info("snapshot: " + json.dumps(snap)[:1500])
    path = prop(FAKE, "ControlGroup")
    cg = snap["cgroup"]
    check("target.cgroup", cg["path"] == path and cg["version"] == 2, json.dumps(cg))
    check("target.process_count", snap["target"]["process_count"] == 4, str(snap["target"]["process_count"]))
    time.sleep(2)
    before = int(cg_read(FAKE, "memory.current"))
    mem = snapshot()["memory"]
    after = int(cg_read(FAKE, "memory.current"))
    lo, hi = min(before, after), max(before, after)
    tol = max(8 * MiB, hi // 20)
    check(
        "memory.current",
        lo - tol <= (mem["current_bytes"] or -1) <= hi + tol,
        f"daemon {mib(mem['current_bytes'])}, memory.current {mib(before)}..{mib(after)}",
    )
    check("memory.limit", mem["limit_bytes"] == int(cg_read(FAKE, "memory.max")) == MEMORY_MAX, mib(mem["limit_bytes"]))
    check("memory.limit_source-own", mem["limit_source"] == path, str(mem["limit_source"]))
    check("memory.interval_peak_exact", mem["interval_peak_exact"] is True, str(mem["interval_peak_exact"]))


def test_interval_peak():
    """A +100 MiB / 50 ms spike between two 1 s ticks: caught by the interval peak, missed by current."""
    for attempt in range(1, 4):
        snap = snapshot()
        interval = snap["interval_seconds"]
        base = int(cg_read(FAKE, "memory.current"))
        # Fire 0.3 interval after a tick, so that the spike lies between two ticks.
        phase = ((time.time_ns() - snap["time_unix_ns"]) / 1e9) % interval
        time.sleep((0.3 * interval - phase) % interval)
        ms = command(0, "spike", 100, 50)
        time.sleep(3 * interval)
        fields = window(5 * interval)
        peak, current = fields["memory_interval_peak_bytes"]["max"], fields["memory_current_bytes"]["max"]
        info(f"spike attempt {attempt}: took {ms} ms; base {mib(base)}, window max interval_peak {mib(peak)}, current {mib(current)}")
        if current is not None and current < base + 50 * MiB:
            break
    check("peak.interval-peak-catches-spike", peak is not None and peak >= base + 90 * MiB, f"{mib(peak)} vs base {mib(base)}")
    check(
        "peak.current-misses-spike",
        current is not None and current < base + 50 * MiB,
        f"{mib(current)} vs base {mib(base)} (spike took {ms} ms, {attempt} attempt(s))",
    )


def measure_cpu(seconds=5):
    """(kernel's cgroup cores, daemon's window averages) over the same seconds."""
    u0, t0 = cg_keyed(FAKE, "cpu.stat", "usage_usec"), time.monotonic()
    time.sleep(seconds)
    u1, t1 = cg_keyed(FAKE, "cpu.stat", "usage_usec"), time.monotonic()
    return (u1 - u0) / 1e6 / (t1 - t0), window(seconds - 1)


def test_cpu():
    command(1, "burn")
    time.sleep(3)
    kernel, fields = measure_cpu()
    daemon = fields["cgroup_cpu_cores"]["avg"]
    limit = snapshot()["cpu"]["limit_cores"]
    check("cpu.limit-cores", limit is not None and abs(limit - 1.5) < 0.01, str(limit))
    check(
        "cpu.burning-worker-one-core",
        daemon is not None and abs(daemon - kernel) < 0.25 and kernel > 0.6,
        f"daemon {daemon}, kernel {kernel:.2f} cores (quota 1.5)",
    )
    systemctl("set-property", "--runtime", FAKE, "CPUQuota=50%")
    time.sleep(3)
    kernel, fields = measure_cpu()
    daemon = fields["cgroup_cpu_cores"]["avg"]
    throttled = fields["cpu_throttled_fraction"]["max"]
    limit = snapshot()["cpu"]["limit_cores"]
    check("cpu.limit-cores-after-set-property", limit is not None and abs(limit - 0.5) < 0.01, str(limit))
    check(
        "cpu.quota-caps-at-half-core",
        daemon is not None and abs(daemon - kernel) < 0.2 and kernel < 0.65,
        f"daemon {daemon}, kernel {kernel:.2f} cores (quota 0.5)",
    )
    check("cpu.throttled", throttled is not None and throttled > 0, f"window max throttled_fraction {throttled}")
    command(1, "idle")
    systemctl("set-property", "--runtime", FAKE, "CPUQuota=150%")


def test_oom():
    before = snapshot()["memory"]["oom_kills"]
    kernel_before = cg_keyed(FAKE, "memory.events", "oom_kill")
    victim = command(2, "hog", 400, wait=False)
    killed = wait_for(lambda: cg_keyed(FAKE, "memory.events", "oom_kill") > kernel_before, 60)
    try:
        gone = "zombie" in open(f"/proc/{victim}/status").read()
    except FileNotFoundError:
        gone = True
    kernel_after = cg_keyed(FAKE, "memory.events", "oom_kill")
    check("oom.worker-killed", bool(killed) and gone, f"worker {victim}: memory.events oom_kill {kernel_before} -> {kernel_after}")
    after = wait_for(lambda: (lambda n: n if n is not None and n > (before or 0) else None)(snapshot()["memory"]["oom_kills"]), 20)
    check("oom.snapshot-oom_kills-up", after is not None and before is not None and after > before, f"{before} -> {after}")
    check("oom.service-survives", prop(FAKE, "ActiveState") == "active", prop(FAKE, "ActiveState"))
    test_oom_events(victim)


# The MESSAGE_ID drum-monitor gives every oom_kill entry (SampleModel EventKind.messageID).
OOM_KILL_MESSAGE_ID = "680fe2d57e644f7cb5bd2d882102563a"


def test_oom_events(victim):
    """Issue 14 on cgroup v2 under systemd: the kill is an event in /v1/events, one journal entry
    with its MESSAGE_ID and fields, and a line of `query events`."""
    def oom_event():
        _, body = get("/v1/events?kind=oom_kill")
        return next((e for e in body["events"] if any(p["pid"] == victim for p in e["processes"])), None)
    event = wait_for(oom_event, 30)
    check("events.oom_kill-names-victim", bool(event), json.dumps(get("/v1/events")[1])[:1500])
    if event:
        p = event["processes"][0]
        check("events.oom_kill-last-rss", p["pid"] == victim and p["role"] == "worker" and (p["rss_bytes"] or 0) > 0, json.dumps(p))
        check("events.oom_kill-limit", event.get("memory_limit_bytes") == MEMORY_MAX, json.dumps(event)[:500])
    replaced = wait_for(lambda: next((e for e in get("/v1/events?kind=worker_replaced")[1]["events"] if e["previous_pid"] == victim), None), 30)
    check("events.worker_replaced", bool(replaced) and (not event or replaced["sample_sequence"] - event["sample_sequence"] <= 2),
          json.dumps(replaced)[:500])

    def journal_entry():
        r = run("journalctl", "-b", "-o", "json", "--no-pager", f"MESSAGE_ID={OOM_KILL_MESSAGE_ID}")
        for line in r.stdout.splitlines():
            entry = json.loads(line)
            pids = entry.get("DRUM_PID")
            if str(victim) in (pids if isinstance(pids, list) else [pids]):
                return entry
        return None
    entry = wait_for(journal_entry, 30)
    check("journal.oom_kill-message-id", bool(entry), run("journalctl", "-b", "-u", SVC, "--no-pager", "-n", "30").stdout[-1500:])
    if entry:
        first = lambda v: v[0] if isinstance(v, list) else v
        check("journal.oom_kill-fields",
              entry.get("PRIORITY") == "4" and entry.get("DRUM_EVENT") == "oom_kill" and first(entry.get("DRUM_ROLE")) == "worker"
              and int(first(entry.get("DRUM_RSS_BYTES")) or 0) > 0
              and int(entry.get("CGROUP_MEMORY_LIMIT_BYTES", 0)) == MEMORY_MAX and "CGROUP_MEMORY_CURRENT_BYTES" in entry
              and entry.get("_SYSTEMD_UNIT") == SVC,
              json.dumps({k: v for k, v in entry.items() if not k.startswith("__")})[:1500])
    r = run(BIN, "query", "events", "--kind", "oom_kill", "--socket", SOCK)
    check("cli.query-events", r.returncode == 0 and f"worker {victim}" in r.stdout and "oom_kill" in r.stdout, (r.stdout + r.stderr)[-500:])
    # STATUS= is refreshed every few seconds.
    status = wait_for(lambda: (lambda t: t if "last OOM kill" in t else None)(prop(SVC, "StatusText")), 20)
    check("status.last-oom-kill", bool(status) and f"worker {victim}" in status, str(status or prop(SVC, "StatusText")))


def test_drum_restart():
    snap = snapshot()
    old_pid, old_gen = snap["target"]["root_pid"], snap["target"]["generation"]
    new_pid = start_fake()
    snap = wait_target(new_pid)
    check("restart.followed", bool(snap) and new_pid != old_pid, f"root_pid {old_pid} -> {new_pid}")
    gen = snap["target"]["generation"] if snap else None
    check("restart.generation-increments", gen is not None and old_gen is not None and gen > old_gen, f"{old_gen} -> {gen}")


def test_slice_limit():
    with open(f"/run/systemd/system/{SLICE}", "w") as f:
        f.write(f"[Slice]\nMemoryMax={SLICE_MEMORY_MAX}\n")
    write_fake_unit(memory_max=None, slice_=SLICE)
    pid = start_fake()
    check("slice.service-memory.max-unset", cg_read(FAKE, "memory.max") == "max", cg_read(FAKE, "memory.max"))
    snap = wait_target(pid)
    if not check("slice.target-found", bool(snap), f"root_pid {pid}"):
        return
    mem = snap["memory"]
    check("slice.cgroup", snap["cgroup"]["path"] == f"/{SLICE}/{FAKE}", snap["cgroup"]["path"])
    check("slice.effective-limit", mem["limit_bytes"] == SLICE_MEMORY_MAX, mib(mem["limit_bytes"]))
    check("slice.limit_source", mem["limit_source"] == f"/{SLICE}", str(mem["limit_source"]))


def test_reload():
    pid = prop(SVC, "MainPID")
    r = systemctl("reload", SVC)
    time.sleep(2)
    check(
        "reload.sighup",
        r.returncode == 0 and prop(SVC, "MainPID") == pid and prop(SVC, "ActiveState") == "active" and answers(),
        f"{r.stderr.strip()} pid {pid} -> {prop(SVC, 'MainPID')}",
    )


METRICS_SOCKET_UNIT = "drum-monitor-metrics.socket"
METRICS_PORT = 10042
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
TEXTFILE = TEXTFILE_DIR + "/drum-monitor.prom"
CONFIG = "/etc/drum-monitor/drum-monitor.yaml"


def metrics_get(path, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", METRICS_PORT, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


def exposition_value(text, name):
    """The value of the first sample of `name` (any labels) in a text exposition, or None."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics():
    """Issue 17: the metrics socket unit passes its socket to the hardened service (which keeps
    PrivateNetwork=yes and RestrictAddressFamilies=AF_UNIX), and the textfile for node_exporter."""
    original = open(CONFIG).read()
    os.makedirs(TEXTFILE_DIR, mode=0o755, exist_ok=True)  # as Debian's prometheus-node-exporter makes it
    config = original.replace('textfile: ""', f"textfile: {TEXTFILE}").replace("textfile_interval: 15s", "textfile_interval: 2s")
    config = config.replace("labels: {}", "labels: {fleet: vm}")
    check("metrics.config-keys", config != original and f"textfile: {TEXTFILE}" in config, "textfile and labels set in the example config")
    with open(CONFIG, "w") as f:
        f.write(config)
    try:
        # What the README tells an operator: systemd refuses to start a socket unit while its service
        # runs ("Socket service … already active, refusing"), so the service stops first.
        refused = systemctl("start", METRICS_SOCKET_UNIT) if prop(SVC, "ActiveState") == "active" else None
        check("metrics.socket-refused-while-service-runs", refused is None or refused.returncode != 0,
              "if this starts passing, the README's stop-first instruction can go")
        systemctl("stop", SVC)
        r = systemctl("start", METRICS_SOCKET_UNIT)
        check("metrics.socket-start", r.returncode == 0 and prop(METRICS_SOCKET_UNIT, "ActiveState") == "active",
              f"{r.stderr.strip()} {prop(METRICS_SOCKET_UNIT, 'Listen')}")
        r = systemctl("start", SVC)
        check("metrics.service-restart", r.returncode == 0 and wait_for(answers, 60), r.stderr.strip())
        found = wait_for(lambda: metrics_get("/metrics"), 60)
        status, ctype, text = found if found else (None, None, "")
        check("metrics.tcp-200", status == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8", f"HTTP {status} {ctype}")
        check("metrics.target-found", 'drum_monitor_target_found{fleet="vm"} 1' in text, text[:300])
        check("metrics.only-metrics-and-healthz", metrics_get("/v1/snapshot")[0] == 404 and metrics_get("/healthz")[0] == 200)
        pid = int(prop(SVC, "MainPID"))
        own_net, host_net = os.readlink(f"/proc/{pid}/ns/net"), os.readlink("/proc/1/ns/net")
        check("metrics.hardening-kept",
              prop(SVC, "PrivateNetwork") == "yes" and "AF_UNIX" in prop(SVC, "RestrictAddressFamilies") and own_net != host_net,
              f"PrivateNetwork={prop(SVC, 'PrivateNetwork')} RestrictAddressFamilies={prop(SVC, 'RestrictAddressFamilies')} "
              f"netns {own_net} vs {host_net}")
        log = run("journalctl", "-b", "-u", SVC, "--no-pager", "-n", "100").stdout
        check("metrics.socket-by-name", "serving /metrics and /healthz on socket fd" in log, "journal: the passed metrics socket is used")
        # Counters against the kernel's own, read after the scrape: never ahead of it.
        usage = cg_keyed(FAKE, "cpu.stat", "usage_usec") / 1e6
        cpu = exposition_value(text, "drum_monitor_cgroup_cpu_seconds_total")
        check("metrics.cgroup-cpu-seconds", cpu is not None and 0 < cpu <= usage, f"{cpu} <= {usage}")
        some_total = int(cg_read(FAKE, "memory.pressure").split("\n")[0].split("total=")[1]) / 1e6
        waiting = exposition_value(text, "drum_monitor_pressure_memory_waiting_seconds_total")
        check("metrics.psi-total-v2", waiting is not None and 0 <= waiting <= some_total, f"{waiting} <= {some_total}")
        check("metrics.no-nan", not any(line.rsplit(" ", 1)[-1].lower() == "nan" for line in text.splitlines() if not line.startswith("#")))

        present = wait_for(lambda: os.path.exists(TEXTFILE), 30)
        mode = stat.S_IMODE(os.stat(TEXTFILE).st_mode) if present else None
        check("textfile.written-0644-under-umask-0077", present and mode == 0o644, f"mode {oct(mode) if mode else None}")
        first = open(TEXTFILE).read() if present else ""
        check("textfile.no-process-series", "drum_monitor_memory_current_bytes" in first
              and not any(line.startswith(("process_", "# HELP process_", "# TYPE process_")) for line in first.splitlines()))
        stamp = exposition_value(first, "drum_monitor_last_sample_timestamp_seconds")
        newer = wait_for(lambda: (exposition_value(open(TEXTFILE).read(), "drum_monitor_last_sample_timestamp_seconds") or 0) > (stamp or 0), 20)
        check("textfile.rewritten", bool(newer) and not os.path.exists(os.path.join(TEXTFILE_DIR, ".drum-monitor.prom.tmp")))
    finally:
        with open(CONFIG, "w") as f:
            f.write(original)
        systemctl("reload", SVC)


HISTORY = "/run/drum-monitor/drum-monitor.history"


def held(path, items, sequence, limit):
    """Every item `path` holds, by sequence, followed with since= and next_since."""
    found, since = {}, 0
    while True:
        status, body = get(f"{path}?since={since}&limit={limit}")
        assert status == 200, f"{path}: HTTP {status}"
        for item in body[items]:
            found[sequence(item)] = item
        if not body[items]:
            return found
        since = body["next_since"]


def held_samples():
    """Every held sample as {sequence: row} ([sequence, time_unix_ns, generation, metrics...])."""
    return held("/v1/samples", "samples", lambda row: row[0], 10000)


def check_history_kept(name, before, after, interval_ns):
    """The samples of `before` are all in `after`, unchanged; sequences go on by one; the first
    sample after the restart has a new generation and comes at least an interval later."""
    missing = [q for q in before if q not in after]
    changed = [q for q in before if q in after and after[q] != before[q]]
    check(f"{name}.samples-kept", before and not missing and not changed,
          f"{len(before)} before, {len(missing)} missing (e.g. {missing[:3]}), {len(changed)} changed")
    seqs = sorted(after)
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    check(f"{name}.sequences-continue", not gaps and seqs and seqs[-1] > max(before), f"{seqs[:1]}..{seqs[-1:]}, gaps {gaps[:3]}")
    last = max(before)
    first_new = next((after[q] for q in seqs if q > last and after[q][2] != before[last][2]), None)
    check(f"{name}.restart-shows", first_new is not None and first_new[1] - before[last][1] >= 0.9 * interval_ns,
          f"last before: seq {last} gen {before[last][2]}; first of a new generation: "
          + (f"seq {first_new[0]} gen {first_new[2]}, {(first_new[1] - before[last][1]) / 1e9:.2f}s later" if first_new else "none"))


def held_events():
    """Every held event as {sequence: event}."""
    return held("/v1/events", "events", lambda e: e["sequence"], 1000)


def check_events_kept(name, before):
    """The events of `before` are all held after a restart, unchanged (the event ring is in the
    history file); a client following since the newest of them gets the restart next, with the
    following sequence, and misses nothing (issues 14 and 15)."""
    last = max(before) if before else 0
    after = wait_for(lambda: (lambda e: e if any(q > last for q in e) else None)(held_events()), 30) or held_events()
    missing = [q for q in before if q not in after]
    changed = [q for q in before if q in after and after[q] != before[q]]
    check(f"{name}.events-kept", before and not missing and not changed,
          f"{len(before)} before, {len(missing)} missing (e.g. {missing[:3]}), {len(changed)} changed")
    status, body = get(f"/v1/events?since={last}")
    first = body["events"][0] if status == 200 and body["events"] else None
    check(f"{name}.events-continue",
          first is not None and first["sequence"] == last + 1 and not body["truncated"]
          and any(e["kind"] == "daemon_restarted" for e in body["events"]),
          json.dumps(body)[:800])


def test_history_restart():
    """systemctl restart: the new daemon adopts the history file (issue 15), its events too."""
    check("history.file", os.path.isfile(HISTORY) and stat.S_IMODE(os.stat(HISTORY).st_mode) == 0o600,
          f"{HISTORY}: {oct(stat.S_IMODE(os.stat(HISTORY).st_mode)) if os.path.exists(HISTORY) else 'absent'}")
    interval_ns = int(snapshot()["interval_seconds"] * 1e9)
    wait_for(lambda: len(held_samples()) >= 5, 30)
    before = held_samples()
    events = held_events()
    check("history.events-before-restart", any(e["kind"] == "oom_kill" for e in events.values()),
          f"{len(events)} events: {sorted({e['kind'] for e in events.values()})}")
    r = systemctl("restart", SVC)
    check("history.restart", r.returncode == 0 and bool(wait_for(answers, 60)), r.stderr.strip())
    time.sleep(2)
    check_history_kept("history.restart", before, held_samples(), interval_ns)
    check_events_kept("history.restart", events)
    r = run(BIN, "query", "events", "--kind", "oom_kill", "--socket", SOCK)
    check("history.restart-query-events", r.returncode == 0 and "oom_kill" in r.stdout, (r.stdout + r.stderr)[-500:])
    log = run("journalctl", "-b", "-u", SVC, "--no-pager", "-n", "50").stdout
    check("history.restart-journal", "adopted" in log and " events (sequences " in log, "journal says what was adopted")


def test_history_reload():
    """systemctl reload with a new retention: a new file of the new size, the samples kept."""
    config = "/etc/drum-monitor/drum-monitor.yaml"
    original = open(config).read()
    size = os.path.getsize(HISTORY)
    capacity = get("/healthz")[1]["capacity"]
    interval_ns = int(snapshot()["interval_seconds"] * 1e9)
    before = held_samples()
    events = held_events()
    try:
        hours = re.search(r"^retention: *([0-9]+)h *$", original, re.M)
        assert hours, f"no 'retention: Nh' line in {config}"
        with open(config, "w") as f:
            f.write(original[:hours.start()] + f"retention: {2 * int(hours.group(1))}h" + original[hours.end():])
        r = systemctl("reload", SVC)
        new_capacity = wait_for(lambda: (lambda c: c if c != capacity else None)(get("/healthz")[1]["capacity"]), 30)
        check("history.reload-capacity", r.returncode == 0 and new_capacity == 2 * capacity, f"{capacity} -> {new_capacity}")
        check("history.reload-file-resized", os.path.getsize(HISTORY) > size, f"{size} -> {os.path.getsize(HISTORY)} bytes")
        after = held_samples()
        missing = [q for q in before if q not in after or after[q] != before[q]]
        check("history.reload-samples-kept", not missing, f"{len(before)} before, {len(missing)} missing or changed")
        kept = held_events()
        check("history.reload-events-kept", all(kept.get(q) == e for q, e in events.items()), f"{len(events)} before, {len(kept)} after")
        # And the reloaded history is adopted by the next start too.
        systemctl("restart", SVC)
        wait_for(answers, 60)
        time.sleep(2)
        check_history_kept("history.reload-then-restart", after, held_samples(), interval_ns)
    finally:
        with open(config, "w") as f:
            f.write(original)
        systemctl("reload", SVC)


def test_security():
    r = run("systemd-analyze", "security", "--no-pager", SVC)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    exposure = float(m.group(1)) if m else None
    check("security.exposure<=2.0", exposure is not None and exposure <= 2.0, f"{exposure}")
    if exposure is None or exposure > 2.0:
        info(r.stdout[-3000:] + r.stderr[-500:])


def test_watchdog():
    pid = int(prop(SVC, "MainPID"))
    restarts = int(prop(SVC, "NRestarts") or 0)
    interval_ns = int(snapshot()["interval_seconds"] * 1e9)
    before = held_samples()
    events = held_events()
    os.kill(pid, signal.SIGSTOP)
    t = time.monotonic()
    ok = wait_for(
        lambda: int(prop(SVC, "NRestarts")) > restarts and prop(SVC, "ActiveState") == "active" and int(prop(SVC, "MainPID")) not in (0, pid),
        300,
        step=1,
    )
    took = time.monotonic() - t
    new = prop(SVC, "MainPID")
    check("watchdog.restarts", bool(ok), f"NRestarts {restarts} -> {prop(SVC, 'NRestarts')}, pid {pid} -> {new} after {took:.0f}s")
    check("watchdog.restarted-answers", bool(wait_for(answers, 60)))
    log = run("journalctl", "-b", "-u", SVC, "--no-pager", "-n", "200").stdout
    check("watchdog.journal", "watchdog" in log.lower(), "journal mentions the watchdog")
    time.sleep(2)
    check_history_kept("watchdog.history", before, held_samples(), interval_ns)
    check_events_kept("watchdog.history", events)


def test_stop():
    # Stop the service only: with its socket still active the unit is not
    # garbage-collected, so its exit status can still be read.
    t = time.monotonic()
    r = systemctl("stop", SVC)
    took = time.monotonic() - t
    code, status, result = prop(SVC, "ExecMainCode"), prop(SVC, "ExecMainStatus"), prop(SVC, "Result")
    check(
        "stop.clean-exit",
        r.returncode == 0 and code == "1" and status == "0" and result == "success" and took < 20,
        f"ExecMainCode={code} (1=exited) ExecMainStatus={status} Result={result} in {took:.1f}s",
    )
    systemctl("stop", SOCKET_UNIT)
    systemctl("stop", METRICS_SOCKET_UNIT)


# ---------------------------------------------------------------- several DRUM servers: drum-monitor@NAME


INSTANCES = {"a": (200 * MiB, 6790), "b": (240 * MiB, 6791)}  # name: (MemoryMax of its DRUM, port)


def test_instances():
    """Two DRUM-shaped services with their own pidfiles; drum-monitor@a and @b each report their own."""
    pids = {}
    for name, (limit, port) in INSTANCES.items():
        ctl = f"/run/fake-{name}"
        write_fake_unit(memory_max=limit, unit=f"fake-{name}.service", ctl=ctl, port=port)
        pids[name] = start_fake(unit=f"fake-{name}.service", ctl=ctl)
        with open(f"/etc/drum-monitor/{name}.yaml", "w") as f:
            f.write(f"# instance {name} of the system test\npidfile: {ctl}/master.pid\n")
    r = systemctl("start", "drum-monitor@a.socket", "drum-monitor@b.socket")
    check("instances.sockets-start", r.returncode == 0, r.stderr.strip())
    for name, (limit, _) in INSTANCES.items():
        sock = f"/run/drum-monitor/{name}.sock"
        check_socket_owner(f"instances.{name}.socket-0660-root-drum-monitor", sock)
        snap = wait_target(pids[name], sock=sock)  # the first query starts drum-monitor@NAME.service
        if not check(f"instances.{name}.own-target", bool(snap), f"root_pid {pids[name]} via {sock}"):
            info(json.dumps(snapshot(sock))[:1000])
            continue
        unit = f"fake-{name}.service"
        check(f"instances.{name}.active", prop(f"drum-monitor@{name}.service", "ActiveState") == "active")
        check(f"instances.{name}.own-cgroup", snap["cgroup"]["path"] == prop(unit, "ControlGroup"), snap["cgroup"]["path"])
        check(f"instances.{name}.own-tree", snap["target"]["process_count"] == 4, str(snap["target"]["process_count"]))
        check(f"instances.{name}.own-limit", snap["memory"]["limit_bytes"] == limit, mib(snap["memory"]["limit_bytes"]))
    # `query --instance NAME` finds /run/drum-monitor/NAME.sock (from the command-line work of issue 16).
    if "--instance" in run(BIN, "query", "--help").stdout:
        r = run(BIN, "query", "snapshot", "--json", "--instance", "b")
        try:
            ok = r.returncode == 0 and json.loads(r.stdout)["target"]["root_pid"] == pids["b"]
        except (ValueError, KeyError, TypeError):
            ok = False
        check("instances.query--instance", ok, (r.stderr or r.stdout).strip()[-200:])
    else:
        info("query --instance is not in this build; not checked")
    systemctl("stop", "drum-monitor@a.service", "drum-monitor@b.service", "drum-monitor@a.socket", "drum-monitor@b.socket",
              "fake-a.service", "fake-b.service")
    for name in INSTANCES:
        os.unlink(f"/etc/drum-monitor/{name}.yaml")


# ---------------------------------------------------------------- several DRUM servers found by `match`


# name: (its DRUM's MemoryMax, port, the instance's match). The DRUM of mb sets FAKE_INSTANCE=mb
# and runs without capabilities: the instance (root, no capabilities) may read the environment
# of a root process only if that process has no capabilities it lacks (the kernel's ptrace rule).
MATCHED = {
    "ma": (200 * MiB, 6792, "--address 127.0.0.1:6792"),
    "mb": (240 * MiB, 6793, "env:FAKE_INSTANCE=mb"),
}
ENV_LINES = ("Environment=FAKE_INSTANCE=mb", "CapabilityBoundingSet=")


def test_instances_match():
    """Two DRUM-shaped services found by discovery: drum-monitor@ma by its address, @mb by its
    environment; each reports its own tree and cgroup, waits (never taking the other) while its DRUM
    is stopped, finds it again, and says Permission denied for an environment it may not read."""
    pids = {}
    for name, (limit, port, match) in MATCHED.items():
        write_fake_unit(memory_max=limit, unit=f"fake-{name}.service", ctl=f"/run/fake-{name}", port=port,
                        # ma without capabilities too: @mb (root, no capabilities) may then read
                        # its environment and tell that it does not match.
                        extra=ENV_LINES if name == "mb" else ENV_LINES[1:])
        pids[name] = start_fake(unit=f"fake-{name}.service", ctl=f"/run/fake-{name}")
        with open(f"/etc/drum-monitor/{name}.yaml", "w") as f:
            f.write(f"# instance {name} of the system test: the DRUM that matches\nmatch: {match}\n")
    r = systemctl("start", *(f"drum-monitor@{name}.socket" for name in MATCHED))
    check("instances-match.sockets-start", r.returncode == 0, r.stderr.strip())
    for name, (limit, _, _) in MATCHED.items():
        sock = f"/run/drum-monitor/{name}.sock"
        snap = wait_target(pids[name], sock=sock)
        if not check(f"instances-match.{name}.own-target", bool(snap), f"root_pid {pids[name]} via {sock}"):
            info(json.dumps(snapshot(sock))[:1000])
            continue
        unit = f"fake-{name}.service"
        check(f"instances-match.{name}.own-cgroup", snap["cgroup"]["path"] == prop(unit, "ControlGroup"), snap["cgroup"]["path"])
        check(f"instances-match.{name}.own-tree", snap["target"]["process_count"] == 4, str(snap["target"]["process_count"]))
        check(f"instances-match.{name}.own-limit", snap["memory"]["limit_bytes"] == limit, mib(snap["memory"]["limit_bytes"]))

    # mb's DRUM stops: @mb waits for it (ma's DRUM does not match) and says what it waits for.
    sock = "/run/drum-monitor/mb.sock"
    systemctl("stop", "fake-mb.service")

    def waiting():
        t = snapshot(sock)["target"]
        return t if not t["found"] else None

    t = wait_for(waiting, 30)
    message = (t or {}).get("message") or ""
    check("instances-match.mb.waits", bool(t) and "whose environment has FAKE_INSTANCE=mb" in message, message)
    check("instances-match.mb.not-the-other", bool(t) and "does not match" in message and str(pids["ma"]) in message, message)

    # Started again with every capability: its environment cannot be read by the instance.
    write_fake_unit(memory_max=MATCHED["mb"][0], unit="fake-mb.service", ctl="/run/fake-mb", port=MATCHED["mb"][1],
                    extra=ENV_LINES[:1])
    full = start_fake(unit="fake-mb.service", ctl="/run/fake-mb")
    t = wait_for(lambda: (lambda t: t if "Permission denied" in (t.get("message") or "") else None)(snapshot(sock)["target"]), 30)
    check("instances-match.mb.eacces-shown", bool(t) and not t["found"] and str(full) in t["message"], (t or {}).get("message"))

    # Without capabilities again: found.
    write_fake_unit(memory_max=MATCHED["mb"][0], unit="fake-mb.service", ctl="/run/fake-mb", port=MATCHED["mb"][1],
                    extra=ENV_LINES)
    again = start_fake(unit="fake-mb.service", ctl="/run/fake-mb")
    check("instances-match.mb.found-again", bool(wait_target(again, sock=sock)), f"root_pid {again}")

    systemctl("stop", *(f"drum-monitor@{name}.service" for name in MATCHED), *(f"drum-monitor@{name}.socket" for name in MATCHED),
              *(f"fake-{name}.service" for name in MATCHED))
    for name in MATCHED:
        os.unlink(f"/etc/drum-monitor/{name}.yaml")


# ---------------------------------------------------------------- inside a container (no systemd)


CTR_CG, CTR_CTL, CTR_LIMIT = "/sys/fs/cgroup/drumctr", "/run/ctr", 300 * MiB


def ns_to_host_pid(ns_pid, unshare_pid):
    """Our pid of the process that is ns_pid in the pid namespace unshare_pid made for its children."""
    ns = os.readlink(f"/proc/{unshare_pid}/ns/pid_for_children")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != ns:
                continue
            for line in open(f"/proc/{entry}/status"):
                if line.startswith("NSpid:") and int(line.split()[-1]) == ns_pid:
                    return int(entry)
        except OSError:
            continue
    raise LookupError(f"no process {ns_pid} in the pid namespace of {unshare_pid}'s children")


# How /sys/fs/cgroup is mounted inside the container. "runtime": the inherited mount replaced by
# the container's own, one cgroup2 mount, as runc and other runtimes leave it. "stacked": a fresh
# cgroup2 mount over the inherited one, as in the set-up (the same superblock cannot be
# stacked on its own root, hence the tmpfs between): mountinfo lists the inherited mount (root
# /..) first and the container's (root /) last; the last one is the visible one.
CGROUP_MOUNTS = {
    "runtime": "umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup",
    "stacked": "mount -t tmpfs tmpfs /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup",
}


def start_container(mounts):
    """A container as a runtime makes one: its own cgroup (limited from outside), cgroup, pid and
    mount namespaces, cgroup2 mounted at /sys/fs/cgroup inside, a fresh /proc, no systemd, no
    NOTIFY_SOCKET. Inside: the fake DRUM and drum-monitor as a sidecar started by the entrypoint."""
    os.makedirs(CTR_CG, exist_ok=True)
    with open(f"{CTR_CG}/memory.max", "w") as f:
        f.write(str(CTR_LIMIT))
    os.makedirs(CTR_CTL, exist_ok=True)
    clear_control(CTR_CTL)
    with open(f"{CTR_CTL}/dm.yaml", "w") as f:
        f.write("# drum-monitor beside DRUM in a container: discovery, defaults\ninterval: 1s\n")
    entrypoint = (
        f"{CGROUP_MOUNTS[mounts]} && "
        f"(python3 /opt/fake-drum/bin/drum server --address 0.0.0.0:8080 --control {CTR_CTL} --workers 3 &) && "
        f"exec {BIN} serve --socket {CTR_CTL}/dm.sock --config {CTR_CTL}/dm.yaml 2>{CTR_CTL}/dm.log"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "WATCHDOG_USEC", "JOURNAL_STREAM", "INVOCATION_ID")}
    return subprocess.Popen(
        ["sh", "-c", f'echo $$ >{CTR_CG}/cgroup.procs && exec unshare --cgroup --pid --mount --fork --mount-proc sh -c "$0"', entrypoint],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_container(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    with open(f"{CTR_CG}/cgroup.kill", "w") as f:
        f.write("1")
    wait_for(lambda: not open(f"{CTR_CG}/cgroup.procs").read().strip(), 30, step=0.1)
    os.rmdir(CTR_CG)


def test_container(mounts, second_container=False):
    proc = start_container(mounts)
    sock = f"{CTR_CTL}/dm.sock"
    c = f"container-{mounts}"
    try:
        up = workers_up(CTR_CTL) and wait_for(lambda: answers(sock), 60)
        if not check(f"{c}.daemon-answers", bool(up), f"exit {proc.poll()}: {proc.stderr.read().decode()[-300:] if proc.poll() is not None else ''}"):
            info(open(f"{CTR_CTL}/dm.log").read()[-2000:] if os.path.exists(f"{CTR_CTL}/dm.log") else "no log")
            return
        master = int(open(f"{CTR_CTL}/master.pid").read())  # its pid inside the container
        # The master and its 3 workers (the workers join the tree at the next reading of the root's children).
        snap = wait_for(lambda: (lambda s: s if s["target"]["root_pid"] == master and s["target"]["process_count"] == 4 else None)(snapshot(sock)), 60)
        if not check(f"{c}.discovery-finds-tree", bool(snap),
                     json.dumps(snap["target"] if snap else snapshot(sock)["target"])):
            info(json.dumps(snapshot(sock))[:2000])
            return
        info(f"{c} snapshot: " + json.dumps(snap)[:1500])
        cg, mem = snap["cgroup"], snap["memory"]
        if mem["current_bytes"] is None:
            info(f"{c} unavailable: " + json.dumps(snap.get("unavailable"))[:1500])
            info(f"{c} mountinfo: " + run("nsenter", f"--target={ns_to_host_pid(1, proc.pid)}", "--mount", "--pid", "--",
                                          "grep", "cgroup", "/proc/self/mountinfo").stdout.replace("\n", " | "))
            info(f"{c} log: " + open(f"{CTR_CTL}/dm.log").read()[-1500:].replace("\n", " | "))
        check(f"{c}.cgroup-is-its-root", cg["path"] == "/" and cg["version"] == 2, json.dumps(cg))
        check(f"{c}.limit", mem["limit_bytes"] == CTR_LIMIT and mem["limit_source"] == "/",
              f"{mib(mem['limit_bytes'])} from {mem['limit_source']}")
        kernel = lambda name: int(open(f"{CTR_CG}/{name}").read())
        before = kernel("memory.current")
        cur = snapshot(sock)["memory"]["current_bytes"]
        after = kernel("memory.current")
        lo, hi = min(before, after), max(before, after)
        tol = max(8 * MiB, hi // 20)
        check(f"{c}.memory.current", cur is not None and lo - tol <= cur <= hi + tol,
              f"daemon {mib(cur)}, kernel {mib(before)}..{mib(after)}")
        # memory.peak only rises: a sample taken between two reads of it lies between them, and
        # once it holds still, the sample shows exactly the kernel's. (It may keep rising for all
        # five tries: the container's processes are still allocating.)
        for _ in range(5):
            p1, seq = kernel("memory.peak"), snapshot(sock)["sequence"]
            s2 = wait_for(lambda: (lambda s: s if s["sequence"] > seq + 1 else None)(snapshot(sock)), 30)
            p2 = kernel("memory.peak")
            if p1 == p2:
                break
        peak = s2["memory"]["peak_bytes"] if s2 else None
        check(f"{c}.memory.peak-equals-kernel", peak is not None and p1 <= peak <= p2, f"daemon {peak}, kernel {p1}..{p2}")
        interval = snap["interval_seconds"]
        base = kernel("memory.current")
        ms = command(0, "spike", 100, 50, ctl=CTR_CTL, host_pid=lambda p: ns_to_host_pid(p, proc.pid))
        time.sleep(3 * interval)
        fields = window(5 * interval, sock=sock)
        ipeak = fields["memory_interval_peak_bytes"]["max"]
        check(f"{c}.interval-peak-catches-spike", ipeak is not None and ipeak >= base + 90 * MiB,
              f"{mib(ipeak)} vs base {mib(base)} (spike took {ms} ms)")
        log = open(f"{CTR_CTL}/dm.log").read()
        check(f"{c}.no-systemd-no-complaint", proc.poll() is None and "sd_notify" not in log and "NOTIFY" not in log,
              "\n".join(l for l in log.splitlines() if "sd_notify" in l or "NOTIFY" in l)[-300:])
        if second_container:
            test_second_container(proc, master)
    finally:
        stop_container(proc)


def test_second_container(ctr, master):
    """drum-monitor in a second container that shares the DRUM container's pid namespace
    (docker run --pid container:X --cgroupns host): its own mount namespace and /proc of that pid
    namespace, the host's cgroup namespace, so it sees the DRUM container's cgroup by its full path."""
    sock = f"{CTR_CTL}/dm2.sock"
    init = ns_to_host_pid(1, ctr.pid)
    mon = subprocess.Popen(
        ["nsenter", f"--target={init}", "--pid", "--", "unshare", "--mount-proc", "--fork",
         BIN, "serve", "--socket", sock, "--config", f"{CTR_CTL}/dm.yaml"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        snap = wait_for(lambda: (lambda s: s if s["target"]["root_pid"] == master and s["target"]["process_count"] == 4 else None)(snapshot(sock)), 60)
        if not check("second-container.discovery-finds-tree", bool(snap), f"exit {mon.poll()}"):
            info(json.dumps(snapshot(sock))[:1500] if answers(sock) else mon.stderr.read().decode()[-1500:] if mon.poll() is not None else "no answer")
            return
        mem = snap["memory"]
        check("second-container.cgroup", snap["cgroup"]["path"] == "/drumctr", snap["cgroup"]["path"])
        check("second-container.limit", mem["limit_bytes"] == CTR_LIMIT and mem["limit_source"] == "/drumctr",
              f"{mib(mem['limit_bytes'])} from {mem['limit_source']}")
    finally:
        try:
            os.killpg(mon.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            mon.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(mon.pid, signal.SIGKILL)


# ---------------------------------------------------------------- upgrade, remove, purge


def test_upgrade():
    """An upgrade keeps a changed configuration and what is in the runtime directory (the history)."""
    text = open(CONFIG).read()
    assert "\nlog_level: info\n" in text, "the shipped configuration has no 'log_level: info' line"
    with open(CONFIG, "w") as f:
        f.write(text.replace("\nlog_level: info\n", "\n# changed by the operator (system test)\nlog_level: debug\n"))
    systemctl("start", SOCKET_UNIT, SVC)
    old_pid = prop(SVC, "MainPID")
    marker = "/run/drum-monitor/upgrade-marker"  # stands for the history file kept beside the socket
    open(marker, "w").close()
    history = "/run/drum-monitor/drum-monitor.history"
    history_inode = os.stat(history).st_ino if os.path.exists(history) else None
    r = apt("install", UPGRADE_DEB)
    check("upgrade.apt-install", r.returncode == 0 and dpkg_status().endswith("+vmtest1"),
          f"{dpkg_status()} {(r.stdout + r.stderr).strip()[-400:]}")
    check("upgrade.keeps-changed-config", "changed by the operator" in open(CONFIG).read())
    leftovers = [n for n in os.listdir("/etc/drum-monitor") if n.endswith((".dpkg-dist", ".dpkg-new", ".dpkg-old"))]
    check("upgrade.no-conffile-leftovers", not leftovers, " ".join(leftovers))
    new_pid = wait_for(lambda: (lambda p: p if p not in ("0", old_pid) and prop(SVC, "ActiveState") == "active" else None)(prop(SVC, "MainPID")), 60)
    check("upgrade.service-restarted", bool(new_pid), f"MainPID {old_pid} -> {prop(SVC, 'MainPID')} {prop(SVC, 'ActiveState')}")
    check("upgrade.answers", bool(wait_for(answers, 60)))
    check("upgrade.keeps-runtime-dir", os.path.exists(marker))
    if history_inode is not None:
        check("upgrade.keeps-history-file", os.path.exists(history) and os.stat(history).st_ino == history_inode)
    status, body = get("/healthz")
    check("upgrade.healthz-version", status == 200 and body.get("version") == run(BIN, "--version").stdout.split()[0],
          f"{status} {json.dumps(body)[:200]}")
    r = run(BIN, "check-config", CONFIG)
    check("upgrade.config-in-effect", "log_level: debug" in r.stdout, r.stdout.strip()[-300:])


def test_remove():
    r = apt("remove", "drum-monitor")
    check("remove.apt", r.returncode == 0 and dpkg_status().startswith("rc"), f"{dpkg_status()} {r.stderr.strip()[-300:]}")
    check("remove.stops", prop(SVC, "ActiveState") != "active" and prop(SOCKET_UNIT, "ActiveState") != "active",
          f"{prop(SVC, 'ActiveState')}/{prop(SOCKET_UNIT, 'ActiveState')}")
    check("remove.binary-and-units-gone", not os.path.exists(BIN) and not os.path.exists(f"{UNITS}/{SVC}"))
    check("remove.keeps-config", os.path.exists(CONFIG) and "changed by the operator" in open(CONFIG).read())
    check("remove.keeps-group", run("getent", "group", GROUP).returncode == 0)


def test_purge():
    r = apt("purge", "drum-monitor")
    check("purge.apt", r.returncode == 0 and dpkg_status() == "not-installed", f"{dpkg_status()} {r.stderr.strip()[-300:]}")
    check("purge.removes-config", not os.path.exists("/etc/drum-monitor"), " ".join(os.listdir("/etc/drum-monitor")) if os.path.exists("/etc/drum-monitor") else "")
    check("purge.removes-runtime-dir", not os.path.exists("/run/drum-monitor"))


# ---------------------------------------------------------------- main


def step(name, fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        check(name, False, f"{type(e).__name__}: {e}")
        traceback.print_exc(file=sys.stdout)


def create_users():
    r1 = run("useradd", "--system", "--no-create-home", "--groups", GROUP, READER)
    r2 = run("useradd", "--system", "--no-create-home", OUTSIDER)
    check("users", r1.returncode == 0 and r2.returncode == 0, (r1.stderr + r2.stderr).strip())


def main():
    global SOCK
    step("environment", test_environment)
    if not ("--env-only" in sys.argv or os.path.exists(os.path.join(HERE, "env-only"))):
        if not os.path.isfile(DEB):
            check("package", False, f"{DEB} missing (system-test.sh copies the .deb there)")
        else:
            os.makedirs("/opt/fake-drum/bin", exist_ok=True)
            run("install", "-m755", os.path.join(HERE, "fake-drum"), "/opt/fake-drum/bin/drum")
            step("install", test_install)
            step("users", create_users)
            SOCK = socket_path()
            info(f"socket {SOCK}")
            write_fake_unit(memory_max=MEMORY_MAX)
            pid = step("fake-drum", start_fake)
            step("socket-activation", test_socket_activation)
            step("daemon-bound-socket", test_daemon_bound_socket)
            step("start", test_start_ready)
            if answers() and pid:
                step("target-memory", test_target_and_memory, pid)
                step("interval-peak", test_interval_peak)
                step("cpu", test_cpu)
                step("oom", test_oom)
                step("drum-restart", test_drum_restart)
                step("slice-limit", test_slice_limit)
                step("reload", test_reload)
                step("metrics", test_metrics)
                step("history-restart", test_history_restart)
                step("history-reload", test_history_reload)
                step("watchdog", test_watchdog)
                step("security", test_security)
            else:
                check("daemon-tests", False, "not run: the daemon does not answer")
                info(run("journalctl", "-b", "-u", SVC, "--no-pager", "-n", "80").stdout)
            systemctl("stop", FAKE)
            step("instances", test_instances)
            step("instances-match", test_instances_match)
            step("container-runtime", test_container, "runtime", True)
            step("container-stacked", test_container, "stacked")
            step("upgrade", test_upgrade)
            step("stop", test_stop)
            step("remove", test_remove)
            step("purge", test_purge)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


SOCK = "/run/drum-monitor/drum-monitor.sock"
if __name__ == "__main__":
    main()
