#!/usr/bin/env python3
"""The real-Prometheus tier (issue 17): Debian's prometheus 2.42 scrapes the daemon's TCP listener
every second, on loopback with a temporary TSDB, while a DRUM-shaped tree runs in a v1 cgroup with
a memory limit and a CPU quota (one worker burning a core), is stopped and started again. Through
Prometheus' HTTP API it checks what a team running many DRUM servers relies on:

- `up` is 1, the scrape has no error (Prometheus negotiates OpenMetrics: that path is the one
  scraped), and `promtool check metrics` finds the text format clean;
- the memory and CPU series Prometheus stored equal the daemon's own snapshots of those samples;
- rate(drum_monitor_tree_cpu_seconds_total[10s]) of the burning worker is about one core: equal to
  the cgroup's own CPU rate over the same scrapes, and to the worker's CPU as /proc shows it;
- after DRUM exits, drum_monitor_target_found is 0 and the target's series are gone (not the
  daemon's own cgroup under their names);
- avg_over_time and sum over a window in which DRUM was stopped and started are numbers, not NaN,
  and the tree's CPU counter was never reset;
- every expression of contrib/grafana/drum-monitor.json returns data; the rules of
  contrib/prometheus/alerts.yml load (health ok), pass `promtool check rules` and their unit tests;
- the textfile the daemon writes meanwhile is read by Debian's node_exporter (1.5) without error,
  beside node_exporter's own process_* series.

Run as root by `make test-prometheus` (part of `make test`), which installs Debian's prometheus
and prometheus-node-exporter packages first: DRUM_MONITOR_BIN=.build-static/release/drum-monitor python3 Tests/Prometheus/test_prometheus.py
Prints one line per check, "SKIP ..." when it cannot run here, and ends with "prometheus: N passed, N failed".
About 40 s: ~25 s of Prometheus, the rest starting things.
"""
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("DRUM_MONITOR_BIN", os.path.join(REPO, ".build-static", "release", "drum-monitor"))
ALERTS = os.path.join(REPO, "contrib", "prometheus", "alerts.yml")
ALERT_TESTS = os.path.join(REPO, "contrib", "prometheus", "alerts.test.yml")
DASHBOARD = os.path.join(REPO, "contrib", "grafana", "drum-monitor.json")

INTERVAL = 0.5  # the daemon's sampling interval, seconds
SCRAPE = 1  # Prometheus' scrape interval, seconds
MEMORY_LIMIT = 512 << 20
CPU_QUOTA_US, CPU_PERIOD_US = 150_000, 100_000  # 1.5 cores
DEPLOYMENT, MODEL = "6543abc0de", "model-7"
TIMEOUT = 30.0
# Grafana's variables, as the dashboard test runs its expressions.
GRAFANA = {"$instance": ".*", "$__rate_interval": "4s", "$__range": "30s", "$__interval": "1s"}

TREE = r'''
import os, sys, time
# DRUM-shaped: `python .../bin/drum server ...`, workers forked with the same command line.
# Worker 0 burns a core; worker 1 holds 64 MiB.
def worker(i):
    if i == 0:
        while True:
            pass
    held = bytearray(64 << 20)
    for j in range(0, len(held), 4096):
        held[j] = 1
    while True:
        time.sleep(1)
pids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        worker(i)
    pids.append(pid)
print(" ".join(map(str, pids)), flush=True)
while True:
    time.sleep(1)
'''


class Failure(Exception):
    pass


def poll(what, timeout=TIMEOUT, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, headers=None, timeout=10):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.headers, response.read()


def unix_get(path, target):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


class Scene:
    """The cgroup, the DRUM-shaped tree, the daemon and Prometheus; everything undone on exit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dm-prom-")
        self.name = f"drum-monitor-prom-{os.getpid()}-{random.randrange(1 << 32)}"
        self.cgroups = []
        self.tree = None
        self.workers = []
        self.daemon = None
        self.prometheus = None
        self.pidfile = os.path.join(self.dir, "drum.pid")
        self.socket = os.path.join(self.dir, "q.sock")
        self.metrics_port = free_port()
        self.prometheus_port = free_port()
        self.node_exporter_port = free_port()
        self.textfile_dir = os.path.join(self.dir, "textfile")
        os.mkdir(self.textfile_dir)
        self.api = f"http://127.0.0.1:{self.prometheus_port}/api/v1"

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop_tree()
        for p in (self.prometheus, self.daemon, getattr(self, "node_exporter", None)):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        for d in self.cgroups:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    for pid in open(os.path.join(d, "cgroup.procs")).read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)

    def make_cgroup(self):
        for controller in ("memory", "cpu", "cpuacct"):
            d = f"/sys/fs/cgroup/{controller}/{self.name}"
            if os.path.isdir(os.path.dirname(d)) and not os.path.isdir(d):
                os.mkdir(d)
                self.cgroups.append(d)
        m = f"/sys/fs/cgroup/memory/{self.name}"
        open(f"{m}/memory.limit_in_bytes", "w").write(str(MEMORY_LIMIT))
        c = f"/sys/fs/cgroup/cpu/{self.name}"
        open(f"{c}/cpu.cfs_period_us", "w").write(str(CPU_PERIOD_US))
        open(f"{c}/cpu.cfs_quota_us", "w").write(str(CPU_QUOTA_US))

    def start_tree(self):
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir, exist_ok=True)
        script = os.path.join(bindir, "drum")
        open(script, "w").write(TREE)
        cgroups = list(self.cgroups)

        def enter():
            os.setsid()
            for d in cgroups:
                open(os.path.join(d, "cgroup.procs"), "w").write(str(os.getpid()))

        env = dict(os.environ, MLOPS_DEPLOYMENT_ID=DEPLOYMENT, MLOPS_MODEL_ID=MODEL)
        self.tree = subprocess.Popen([sys.executable, script, "server", "--address", "127.0.0.1:0"], stdout=subprocess.PIPE,
                                     preexec_fn=enter, env=env, text=True)
        self.workers = [int(p) for p in self.tree.stdout.readline().split()]
        if len(self.workers) != 2:
            raise Failure("the DRUM-shaped tree did not start")
        tmp = self.pidfile + ".tmp"
        open(tmp, "w").write(f"{self.tree.pid}\n")
        os.rename(tmp, self.pidfile)

    def stop_tree(self):
        if self.tree and self.tree.poll() is None:
            os.killpg(self.tree.pid, signal.SIGKILL)
            self.tree.wait()
        self.tree = None

    def start_daemon(self):
        log = open(os.path.join(self.dir, "daemon.log"), "w")
        self.daemon = subprocess.Popen(
            [BINARY, "serve", "--config", "/dev/null", "--socket", self.socket, "--interval", f"{int(INTERVAL * 1000)}ms",
             "--pidfile", self.pidfile, "--metrics-listen", f"127.0.0.1:{self.metrics_port}", "--labels", "team=ml-platform",
             "--textfile", os.path.join(self.textfile_dir, "drum-monitor.prom"), "--textfile-interval", "1s"],
            stdout=log, stderr=log, env={k: v for k, v in os.environ.items() if not k.startswith(("DRUM_MONITOR_", "LISTEN_", "NOTIFY_"))})
        if not poll(lambda: self.metrics_text(), timeout=60):
            raise Failure(f"the daemon does not answer on 127.0.0.1:{self.metrics_port}: {self.daemon_log()}")

    def daemon_log(self):
        return open(os.path.join(self.dir, "daemon.log")).read()[-3000:]

    def start_prometheus(self):
        config = os.path.join(self.dir, "prometheus.yml")
        open(config, "w").write(json.dumps({
            "global": {"scrape_interval": f"{SCRAPE}s", "evaluation_interval": f"{SCRAPE}s"},
            "rule_files": [ALERTS],
            "scrape_configs": [{"job_name": "drum-monitor", "scrape_interval": f"{SCRAPE}s", "scrape_timeout": "900ms",
                                "static_configs": [{"targets": [f"127.0.0.1:{self.metrics_port}"]}]}],
        }))
        log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.dir}/tsdb",
             f"--web.listen-address=127.0.0.1:{self.prometheus_port}", "--log.level=warn"],
            stdout=log, stderr=log, cwd=self.dir)

    def metrics_text(self, accept=None):
        try:
            _, headers, body = http(f"http://127.0.0.1:{self.metrics_port}/metrics", {"Accept": accept} if accept else None)
            return headers, body.decode()
        except (OSError, urllib.error.URLError):
            return None

    def snapshot(self):
        status, body = unix_get(self.socket, "/v1/snapshot")
        return json.loads(body) if status == 200 else None

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        _, _, body = http(f"{self.api}/query?" + urllib.parse.urlencode(params))
        answer = json.loads(body)
        if answer.get("status") != "success":
            raise Failure(f"query {expr!r}: {answer}")
        return answer["data"]

    def vector(self, expr, at=None):
        data = self.query(expr, at)
        if data["resultType"] != "vector":
            raise Failure(f"{expr!r} is a {data['resultType']}, not a vector")
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def scalar(self, expr, at=None):
        values = self.vector(expr, at)
        if len(values) != 1:
            raise Failure(f"{expr!r}: expected one series, got {values}")
        return values[0][1]


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def run(self, name, body):
        try:
            body()
            self.passed += 1
            print(f"ok   {name}", flush=True)
        except Exception as error:  # noqa: BLE001 - every failure is reported and counted
            self.failed += 1
            print(f"FAIL {name}: {error}", flush=True)


def main():
    if os.geteuid() != 0:
        print("SKIP prometheus tier: needs root (a v1 cgroup with a memory limit and a CPU quota)")
        return 0
    if not os.path.exists("/sys/fs/cgroup/memory/cgroup.procs"):
        print("SKIP prometheus tier: no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory")
        return 0
    for tool in ("prometheus", "promtool", "prometheus-node-exporter"):
        if not shutil.which(tool):
            print(f"prometheus: {tool} not found; run make deps-prometheus (Debian's prometheus and prometheus-node-exporter)",
                  file=sys.stderr)
            return 1
    if not os.access(BINARY, os.X_OK):
        print(f"prometheus: no drum-monitor at {BINARY} (make build-static, or set DRUM_MONITOR_BIN)", file=sys.stderr)
        return 1
    checks = Checks()
    with Scene() as scene:
        scene.make_cgroup()
        scene.start_tree()
        scene.start_daemon()
        scene.start_prometheus()
        run_checks(scene, checks)
        if checks.failed:
            print("--- daemon log (end) ---\n" + scene.daemon_log(), flush=True)
            print("--- prometheus log (end) ---\n" + open(os.path.join(scene.dir, "prometheus.log")).read()[-3000:], flush=True)
    print(f"prometheus: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def run_checks(scene, checks):
    def up():
        def scraped():
            try:
                return scene.vector('up{job="drum-monitor"} == 1')
            except (OSError, urllib.error.URLError, Failure):
                return None
        if not poll(scraped, timeout=60):
            raise Failure(f"up is not 1 within 60 s: {scene.query('up') if scene.prometheus.poll() is None else 'prometheus exited'}")
        _, _, body = http(f"{scene.api}/targets")
        target = json.loads(body)["data"]["activeTargets"][0]
        if target["health"] != "up" or target["lastError"]:
            raise Failure(f"target: {target}")
    checks.run("up is 1 and the scrape (OpenMetrics, as Prometheus asks) has no error", up)

    def promtool_metrics():
        headers, text = scene.metrics_text()
        if headers.get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8":
            raise Failure(f"content type {headers.get('Content-Type')}")
        done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        if done.returncode != 0 or done.stdout or done.stderr:
            raise Failure(f"promtool check metrics: {done.returncode} {done.stdout}{done.stderr}")
        nan = [line for line in text.splitlines() if not line.startswith("#") and line.rsplit(" ", 1)[-1].lower() == "nan"]
        if nan:
            raise Failure(f"NaN values: {nan}")
    checks.run("promtool check metrics: clean", promtool_metrics)

    def openmetrics():
        headers, text = scene.metrics_text("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        if not headers.get("Content-Type", "").startswith("application/openmetrics-text; version=1.0.0"):
            raise Failure(f"content type {headers.get('Content-Type')}")
        if not text.endswith("\n# EOF\n"):
            raise Failure("no # EOF at the end")
        for needed in ("# TYPE drum_monitor_tree_cpu_seconds counter", "# UNIT drum_monitor_tree_cpu_seconds seconds",
                       "# TYPE drum_monitor_build info", "# TYPE drum_monitor_target info"):
            if needed not in text:
                raise Failure(f"no line {needed!r}")
    checks.run("OpenMetrics when asked: counters, units, info, # EOF", openmetrics)

    def labels():
        found = scene.vector(f'drum_monitor_memory_current_bytes{{team="ml-platform",mlops_deployment_id="{DEPLOYMENT}",'
                             f'mlops_model_id="{MODEL}"}}')
        if len(found) != 1:
            raise Failure(f"memory series with the configured and MLOPS labels: {found}")
        info = scene.vector("drum_monitor_target_info")
        if len(info) != 1 or info[0][0].get("mode") != "werkzeug" or info[0][0].get("cgroup") != "/" + scene.name:
            raise Failure(f"target_info: {info}")
        if scene.vector('drum_monitor_sampler_ticks_total{mlops_deployment_id!=""}'):
            raise Failure("the daemon's own counters carry the target's labels")
    checks.run("labels: configured ones everywhere, MLOPS ids on the target's series, target_info", labels)

    def equal_to_snapshots():
        # Every sample of ~5 s, as the daemon itself reports it, by its time.
        by_time = {}
        end = time.monotonic() + 5
        while time.monotonic() < end:
            s = scene.snapshot()
            if s:
                by_time[s["time_unix_ns"]] = s
            time.sleep(0.1)
        time.sleep(SCRAPE * 1.5)
        series = {
            "drum_monitor_memory_current_bytes": lambda s: s["memory"]["current_bytes"],
            "drum_monitor_memory_working_set_bytes": lambda s: s["memory"]["working_set_bytes"],
            "drum_monitor_memory_interval_peak_bytes": lambda s: s["memory"]["interval_peak_bytes"],
            "drum_monitor_memory_limit_bytes": lambda s: s["memory"]["limit_bytes"],
            "drum_monitor_tree_cpu_seconds_total": lambda s: s["cpu"]["tree_seconds_total"],
            "drum_monitor_cgroup_cpu_seconds_total": lambda s: s["cpu"]["cgroup_seconds_total"],
            "drum_monitor_cgroup_cpu_periods_total": lambda s: s["cpu"]["periods_total"],
        }
        stamps = scene.query("drum_monitor_last_sample_timestamp_seconds[8s]")["result"][0]["values"]
        matched = 0
        for name, pick in series.items():
            values = {float(t): float(v) for t, v in scene.query(f"{name}[8s]")["result"][0]["values"]}
            for scraped_at, stamp in stamps:
                # The stamp is the sample's wall time as a double: within a microsecond of its ns.
                sample = next((s for ns, s in by_time.items() if abs(ns / 1e9 - float(stamp)) < 1e-6), None)
                if sample is None or float(scraped_at) not in values:
                    continue
                if values[float(scraped_at)] != float(pick(sample)):
                    raise Failure(f"{name} scraped at {scraped_at} (sample {sample['sequence']}) is {values[float(scraped_at)]}, "
                                  f"the daemon's snapshot of that sample says {pick(sample)}")
                matched += 1
        if matched < 3 * len(series):
            raise Failure(f"only {matched} scraped values could be matched to a snapshot of the same sample")
    checks.run("memory and CPU series equal the daemon's snapshot of the same sample", equal_to_snapshots)

    def burning_core():
        # 10 s of the burning worker, by /proc, beside Prometheus' rate over the same 10 s.
        poll(lambda: len(scene.query("drum_monitor_tree_cpu_seconds_total[12s]")["result"][0]["values"]) >= 10, timeout=20)
        start, begin = proc_cpu_seconds(scene.workers[0]), time.time()
        time.sleep(10)
        end, finish = proc_cpu_seconds(scene.workers[0]), time.time()
        time.sleep(SCRAPE * 1.5)
        burner = (end - start) / (finish - begin)
        tree = scene.scalar("rate(drum_monitor_tree_cpu_seconds_total[10s])", at=finish)
        cgroup = scene.scalar("rate(drum_monitor_cgroup_cpu_seconds_total[10s])", at=finish)
        print(f"     burning worker {burner:.3f} cores by /proc; rate(tree) {tree:.3f}, rate(cgroup) {cgroup:.3f}", flush=True)
        if abs(tree - cgroup) > 0.1 * cgroup + 0.05:
            raise Failure(f"the tree's rate {tree:.3f} and its cgroup's {cgroup:.3f} differ")
        if abs(tree - burner) > 0.25 * burner + 0.1:
            raise Failure(f"rate(drum_monitor_tree_cpu_seconds_total[10s]) is {tree:.3f} cores; the worker burned {burner:.3f}")
    checks.run("rate(drum_monitor_tree_cpu_seconds_total[10s]) of a burning worker: its CPU by /proc (one core when the host is idle)", burning_core)

    window_start = time.time()

    def drum_exits():
        scene.stop_tree()
        if not poll(lambda: (s := scene.snapshot()) and not s["target"]["found"], timeout=TIMEOUT):
            raise Failure("the daemon still reports a target")
        if not poll(lambda: scene.vector("drum_monitor_target_found == 0"), timeout=10):
            raise Failure(f"drum_monitor_target_found: {scene.vector('drum_monitor_target_found')}")
        for gone in ("drum_monitor_memory_current_bytes", "drum_monitor_memory_limit_bytes", "drum_monitor_tree_cpu_seconds_total",
                     "drum_monitor_cgroup_cpu_seconds_total", "drum_monitor_processes", "drum_monitor_target_info"):
            left = scene.vector(gone)
            if left:
                raise Failure(f"{gone} is still there without DRUM: {left}")
        if not scene.vector("drum_monitor_sampler_ticks_total"):
            raise Failure("the daemon's own series went too")
        time.sleep(2 * SCRAPE)
    checks.run("after DRUM exits: target_found is 0 and the target's series are gone", drum_exits)

    def drum_restarts():
        scene.start_tree()
        if not poll(lambda: scene.vector("drum_monitor_target_found == 1"), timeout=TIMEOUT):
            raise Failure("DRUM is not found again")
        time.sleep(3 * SCRAPE)
    checks.run("DRUM started again is found", drum_restarts)

    def no_nan():
        span = f"{int(time.time() - window_start) + 5}s"
        for expr in (f"avg_over_time(drum_monitor_memory_current_bytes[{span}])",
                     f"sum_over_time(drum_monitor_memory_current_bytes[{span}])",
                     "sum(drum_monitor_memory_current_bytes)",
                     f"sum(avg_over_time(drum_monitor_memory_working_set_bytes[{span}]))",
                     f"max_over_time(drum_monitor_memory_interval_peak_bytes[{span}])",
                     f"sum(rate(drum_monitor_tree_cpu_seconds_total[{span}]))"):
            values = scene.vector(expr)
            if not values or any(math.isnan(v) for _, v in values):
                raise Failure(f"{expr} = {values}")
        resets = scene.vector(f"resets(drum_monitor_tree_cpu_seconds_total[{span}])")
        if any(v != 0 for _, v in resets):
            raise Failure(f"the tree's CPU counter went back across the restart: {resets}")
    checks.run("avg_over_time/sum over a window with DRUM stopped and started: numbers, no reset", no_nan)

    def dashboard():
        board = json.load(open(DASHBOARD))
        exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
        empty = []
        for expr in exprs:
            for variable, value in GRAFANA.items():
                expr = expr.replace(variable, value)
            values = scene.vector(expr)
            if not values or all(math.isnan(v) for _, v in values):
                empty.append(expr)
        if empty:
            raise Failure(f"no data for: {empty}")
        print(f"     {len(exprs)} expressions of {len(board['panels'])} panels", flush=True)
    checks.run("every expression of contrib/grafana/drum-monitor.json returns data", dashboard)

    def rules():
        _, _, body = http(f"{scene.api}/rules")
        groups = json.loads(body)["data"]["groups"]
        loaded = [r for g in groups for r in g["rules"]]
        bad = [r["name"] for r in loaded if r.get("health") != "ok"]
        if len(loaded) < 6 or bad:
            raise Failure(f"{len(loaded)} rules loaded; not ok: {bad}")
        for args in (["check", "rules", ALERTS], ["test", "rules", ALERT_TESTS]):
            done = subprocess.run(["promtool"] + args, capture_output=True, text=True, cwd=os.path.dirname(ALERTS))
            if done.returncode != 0:
                raise Failure(f"promtool {' '.join(args)}: {done.stdout}{done.stderr}")
    checks.run("the alert rules load, promtool check rules and test rules pass", rules)

    def textfile():
        log = open(os.path.join(scene.dir, "node-exporter.log"), "w")
        scene.node_exporter = subprocess.Popen(
            ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{scene.node_exporter_port}", "--collector.disable-defaults",
             "--collector.textfile", f"--collector.textfile.directory={scene.textfile_dir}"], stdout=log, stderr=log)

        def scraped():
            try:
                status, _, body = http(f"http://127.0.0.1:{scene.node_exporter_port}/metrics")
                return status, body.decode()
            except urllib.error.HTTPError as error:  # 500: a collected series twice, say
                return error.code, error.read().decode(errors="replace")
            except (OSError, urllib.error.URLError):
                return None  # not listening yet
        status, text = poll(scraped, timeout=TIMEOUT) or (None, "")
        if status != 200:
            raise Failure(f"node_exporter answered {status}: {text[:500]}")
        lines = text.splitlines()
        if "node_textfile_scrape_error 0" not in lines:
            raise Failure(f"node_exporter could not read the textfile: {[l for l in lines if 'textfile' in l]}")
        ours = [l for l in lines if l.startswith("drum_monitor_memory_current_bytes{")]
        if len(ours) != 1 or 'team="ml-platform"' not in ours[0]:
            raise Failure(f"drum_monitor_memory_current_bytes through node_exporter: {ours}")
        if not any(l.startswith("process_resident_memory_bytes ") for l in lines):
            raise Failure("node_exporter's own process_* series are missing")
        # A family the textfile shares with node_exporter's own (process_*, say) is answered 200
        # anyway, and logged as an error.
        complaints = [l for l in open(os.path.join(scene.dir, "node-exporter.log")) if "error gathering metrics" in l]
        if complaints:
            raise Failure(f"node_exporter: {complaints[0][:500]}")
    checks.run("node_exporter reads the textfile beside its own process_* series", textfile)


if __name__ == "__main__":
    sys.exit(main())
