"""A fake drum-monitor on a Unix socket: HTTP/1.1 keep-alive, scripted answers, synthetic
samples, and the failure modes the client must survive (idle close, held answers, garbage)."""
import json
import os
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, List, Optional, Tuple

from window_rule import Row, covered, covering

Answer = Tuple[int, Any]  # (status, JSON-able body or bytes)

SAMPLE_FIELDS = [
    "sequence", "time_unix_ns", "generation", "memory_current_bytes", "memory_peak_bytes",
    "memory_interval_peak_bytes", "memory_limit_bytes", "memory_working_set_bytes", "memory_oom_kills",
    "memory_limit_hits", "memory_pressure_some_avg10", "memory_pressure_full_avg10", "host_available_bytes",
    "tree_rss_bytes", "tree_cpu_cores", "cgroup_cpu_cores", "cpu_limit_cores", "cpu_throttled_fraction",
    "process_count", "memory_interval_peak_exact",
]


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = 256  # as the daemon's backlog

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or vanish are what several tests do on purpose
    allow_reuse_address = True


class FakeDaemon:
    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "fake.sock")
        self.routes: Dict[str, Callable[[str], Answer]] = {}
        self.lock = threading.Lock()
        self.connections = 0
        self.requests: List[str] = []
        self.open_sockets: List[socket.socket] = []
        self.hold = threading.Event()
        self.hold.set()
        self.garbage = False
        self.close_without_answer = False
        # Synthetic history for /v1/samples and /v1/snapshot.
        self.samples: List[Dict[str, Any]] = []
        self.interval_seconds = 0.01
        self.watched_pids: List[int] = [os.getpid(), os.getppid()]
        self.stats_document: Optional[Dict[str, Any]] = None
        self._sampler: Optional[threading.Thread] = None
        self._sampling = threading.Event()
        self.memory_bytes = 100 * 1024 * 1024
        self.lifetime_peak = self.memory_bytes
        self.interval_peak_next: Optional[int] = None
        self.exact_next: Optional[int] = 1
        self.generation = 1
        # Per /v1/window request: its target and the newest sample's time when it came.
        self.window_requests: List[Tuple[str, Optional[int]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections += 1
                    fake.open_sockets.append(self.connection)

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with fake.lock:
                    fake.requests.append(self.path)
                fake.hold.wait(30)
                if fake.close_without_answer:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fake.garbage:
                    self.wfile.write(b"this is not HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                status, body = fake.answer(self.path)
                data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(self.path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    # -- answers -----------------------------------------------------------------------------

    def answer(self, target: str) -> Answer:
        path, _, query = target.partition("?")
        if path in self.routes:
            return self.routes[path](target)
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path in ("/stats", "/stats/"):
            return 200, self.stats_document or self.default_stats()
        if path == "/v1/snapshot":
            return self.snapshot()
        if path == "/v1/samples":
            since = int(params.get("since", "0"))
            limit = int(params.get("limit", "1000"))
            with self.lock:
                after = [s for s in self.samples if s["sequence"] > since][:limit]
                oldest = self.samples[0]["sequence"] if self.samples else 1
            rows = [[s.get(f) for f in SAMPLE_FIELDS] for s in after]
            return 200, {"truncated": since + 1 < oldest, "next_since": after[-1]["sequence"] if after else since,
                         "fields": SAMPLE_FIELDS, "samples": rows}
        if path == "/v1/window":
            return self.window(target, params)
        if path == "/healthz":
            return 200, {"status": "ok"}
        return 404, {"error": "no such endpoint: " + path}

    def default_stats(self) -> Dict[str, Any]:
        return {
            "mem_info": {"total": 24000, "avail": 1000.5, "free": 900.25, "drum_rss": 300,
                         "container_limit": 2048, "container_max_used": 1500.5, "container_used": 1000},
            "drum_info": [{"pid": pid, "cmdline": ["python", "-m", "gunicorn", str(i)], "mem": 100,
                           "cpu_percent": None if i == 0 else 12.5}
                          for i, pid in enumerate(self.watched_pids + [999_999_991])],
            "time_info": {},
        }

    def snapshot(self) -> Answer:
        with self.lock:
            latest = self.samples[-1] if self.samples else None
        if latest is None:
            return 503, {"error": "no sample taken yet"}
        return 200, {
            "sequence": latest["sequence"], "time_unix_ns": latest["time_unix_ns"],
            "interval_seconds": self.interval_seconds,
            "processes": [{"pid": pid, "ppid": 1, "role": "worker", "cmdline": "python x", "rss_bytes": 1,
                           "cpu_cores": None} for pid in self.watched_pids],
        }

    def window(self, target: str, params: Dict[str, str]) -> Answer:
        """``?from=&to=`` (Unix seconds) by the daemon's rule: from < t and t − interval < to."""
        with self.lock:
            samples = list(self.samples)
            self.window_requests.append((target, samples[-1]["time_unix_ns"] if samples else None))
        if set(params) != {"from", "to"}:
            return 400, {"error": "the fake daemon answers only ?from=&to="}
        from_ns, to_ns = _unix_ns(params["from"]), _unix_ns(params["to"])
        interval = int(self.interval_seconds * 1e9)
        rows = [Row(s["sequence"], s["time_unix_ns"], s["generation"], s.get("memory_interval_peak_bytes"),
                    s.get("memory_interval_peak_exact")) for s in samples]
        held = covering(rows, interval, from_ns + 1, to_ns)
        chosen = [s for s in samples if s["sequence"] in {r.sequence for r in held}]
        fields = {}
        for name in SAMPLE_FIELDS[3:]:
            values = [(s[name], s) for s in chosen if s.get(name) is not None]
            top = max(values, key=lambda v: v[0]) if values else None
            fields[name] = {
                "max": top[0] if top else None, "max_time": None, "max_sequence": top[1]["sequence"] if top else None,
                "min": min(v for v, _ in values) if values else None,
                "avg": sum(v for v, _ in values) / len(values) if values else None,
                "last": chosen[-1].get(name) if chosen else None, "count": len(values)}
        return 200, {"window": {
            "seconds": (to_ns - from_ns) / 1e9, "samples_requested": None, "from": None, "to": None,
            "from_unix_ns": from_ns, "to_unix_ns": to_ns, "samples": len(chosen),
            "covered": covered(rows, interval, from_ns + 1, to_ns),
            "from_sequence": chosen[0]["sequence"] if chosen else None,
            "to_sequence": chosen[-1]["sequence"] if chosen else None,
            "from_generation": chosen[0]["generation"] if chosen else None,
            "to_generation": chosen[-1]["generation"] if chosen else None,
        }, "fields": fields}

    # -- synthetic samples -------------------------------------------------------------------

    def add_sample(self, time_ns: Optional[int] = None, interval_peak: Optional[int] = None,
                   generation: Optional[int] = None) -> Dict[str, Any]:
        with self.lock:
            sequence = self.samples[-1]["sequence"] + 1 if self.samples else 1
            current = self.memory_bytes
            peak = interval_peak if interval_peak is not None else (self.interval_peak_next or current)
            self.interval_peak_next = None
            self.lifetime_peak = max(self.lifetime_peak, peak)
            sample = {"sequence": sequence, "time_unix_ns": time_ns or time.time_ns(),
                      "generation": self.generation if generation is None else generation,
                      "memory_current_bytes": current, "memory_peak_bytes": self.lifetime_peak,
                      "memory_interval_peak_bytes": peak, "memory_interval_peak_exact": self.exact_next}
            self.exact_next = 1
            self.samples.append(sample)
            return sample

    def start_sampling(self, interval_seconds: float = 0.01) -> None:
        self.interval_seconds = interval_seconds
        self._sampling.set()

        def run() -> None:
            # As the daemon's timer: samples due every interval, each stamped with its due time,
            # so that their intervals (t − interval, t] follow one another without a gap.
            interval = int(interval_seconds * 1e9)
            due = time.time_ns()
            while self._sampling.is_set():
                self.add_sample(time_ns=due)
                due += interval
                time.sleep(max(0.0, (due - time.time_ns()) / 1e9))  # the fake's timer, not a test wait

        self._sampler = threading.Thread(target=run, daemon=True)
        self._sampler.start()

    def windows_asked(self) -> List[Tuple[str, Optional[int]]]:
        with self.lock:
            return list(self.window_requests)

    # -- failure modes -----------------------------------------------------------------------

    def close_idle_connections(self) -> None:
        """As the daemon does after idle_timeout: the server side closes every connection."""
        with self.lock:
            sockets, self.open_sockets = self.open_sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self._sampling.clear()
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.close_idle_connections()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def _unix_ns(text: str) -> int:
    """Unix seconds as the client writes them ("S.NNNNNNNNN") in nanoseconds, exactly."""
    whole, _, fraction = text.partition(".")
    return int(whole) * 1_000_000_000 + int((fraction + "000000000")[:9])
