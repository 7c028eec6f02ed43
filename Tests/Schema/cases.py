"""The requests of the schema tier, one line each: what to send and the status the daemon must
answer. check_api.py validates every answer against api/openapi.yaml, and fails when a path and
status in the document is not answered by at least one of these requests.

New endpoint: add its path to PATHS (with a target that answers 200); that also asks it with HEAD,
with a body (413), with an oversized head (431) and with a trickling head (408). Then add a line
per other status it answers (400 per parameter rule, 503, ...). New status of an existing
endpoint: one Case line.

The daemon under test runs with interval 200ms, retention 1s (5 samples; the harness waits until
the history has wrapped), head_timeout 200ms and max_head_bytes 1024, watching a Python tree of a
master, two forked workers and a `sleep` child.
"""
from dataclasses import dataclass
from typing import Callable, Optional, Tuple


@dataclass(frozen=True)
class Case:
    method: str
    # Path and query string as sent; "*" for bytes that are not an HTTP request.
    target: str
    # The status the daemon must answer.
    status: int
    # For 400: the parameters the error message must name, each in single quotes.
    names: Tuple[str, ...] = ()
    # How the request is sent (see request_bytes in check_api.py): "plain", "accept:TYPES" (an
    # Accept header), "body" (Content-Length: 5),
    # "chunked", "big-body" (Content-Length: 20000, more than max_head_bytes), "big-head" (a head
    # over max_head_bytes), "trickle" (a head that never completes), "garbage" (not HTTP),
    # "upgrade" (Connection: Upgrade, Upgrade: websocket; the daemon answers, then closes).
    send: str = "plain"
    # A condition held while asking (see CONDITIONS in check_api.py); the request is repeated
    # until the status comes.
    during: Optional[str] = None
    # What else the JSON body must show, so that the case exercises what it is named for.
    check: Optional[Callable[[dict], bool]] = None


# Every path of the document, with a request target that answers 200.
PATHS = {
    "/healthz": "/healthz",
    "/v1/snapshot": "/v1/snapshot",
    "/v1/window": "/v1/window?seconds=60",
    "/v1/samples": "/v1/samples",
    "/v1/events": "/v1/events",
    "/stats/": "/stats/",
    "/stats": "/stats",
    "/metrics": "/metrics",
}


def per_path_cases(target: str):
    return [
        Case("GET", target, 200),
        Case("HEAD", target, 200),
        Case("GET", target, 413, send="body"),
        Case("GET", target, 431, send="big-head"),
        Case("GET", target, 408, send="trickle"),
    ]


CASES = [case for target in PATHS.values() for case in per_path_cases(target)] + [
    # /healthz
    Case("GET", "/healthz?verbose=1", 400, names=("verbose",)),
    Case("GET", "/healthz", 503, during="sampler stalled", check=lambda b: b["status"] == "stale"),
    Case("GET", "/healthz", 413, send="chunked"),
    # Issue 11 item 10: a body larger than a head is refused as a body.
    Case("GET", "/healthz", 413, send="big-body"),
    # Issue 11 item 1: nothing is upgraded; answered, then closed (exchange() reads to the close).
    Case("GET", "/healthz", 200, send="upgrade", check=lambda b: b["status"] == "ok"),
    # /v1/snapshot
    Case("GET", "/v1/snapshot", 200, check=lambda b: {p["role"] for p in b["processes"]} == {"master", "worker", "child"}
         and b["cpu"]["tree_cores"] is not None and b["measured_interval_seconds"] is not None),
    Case("GET", "/v1/snapshot?seconds=5", 400, names=("seconds",)),
    # /v1/window
    Case("GET", "/v1/window?seconds=5m", 200, check=lambda b: b["window"]["seconds"] == 300),
    Case("GET", "/v1/window?seconds=250ms", 200, check=lambda b: b["window"]["covered"]),
    Case("GET", "/v1/window?seconds=0.5", 200, check=lambda b: b["window"]["covered"]),
    Case("GET", "/v1/window?seconds=315360000", 200, check=lambda b: not b["window"]["covered"]),
    Case("GET", "/v1/window?samples=3", 200,
         check=lambda b: b["window"]["samples_requested"] == 3 and b["window"]["seconds"] is None and b["window"]["samples"] == 3),
    Case("GET", "/v1/window?samples=2147483647", 200, check=lambda b: not b["window"]["covered"]),
    # /v1/window over a wall-clock range (issue 15): anywhere, before the history, instants.
    Case("GET", "/v1/window?from=2024-01-01T00:00:00Z&to=2033-01-01T00:00:00Z", 200,
         check=lambda b: b["window"]["samples"] >= 5 and not b["window"]["covered"]
         and b["window"]["from"] == "2024-01-01T00:00:00.000Z" and b["window"]["samples_requested"] is None
         and isinstance(b["window"]["from_generation"], int) and isinstance(b["window"]["to_generation"], int)
         and b["fields"]["memory_interval_peak_exact"]["count"] == b["fields"]["memory_interval_peak_bytes"]["count"]),
    Case("GET", "/v1/window?from=1700000000.5&to=1700000001", 200,
         check=lambda b: b["window"]["samples"] == 0 and not b["window"]["covered"]
         and b["window"]["from_unix_ns"] == 1700000000500000000 and b["fields"]["memory_current_bytes"]["count"] == 0
         and b["window"]["from_generation"] is None and b["window"]["to_generation"] is None),
    Case("GET", "/v1/window?from=1700000000&to=1700000000", 200, check=lambda b: b["window"]["seconds"] == 0),
    Case("GET", "/v1/window?seconds=60&end=2030-01-01T02:00:00%2B02:00", 200,
         check=lambda b: b["window"]["seconds"] == 60 and b["window"]["to"] == "2030-01-01T00:00:00.000Z"),
    Case("GET", "/v1/window?from=2024-01-01T00:00:00Z", 400, names=("from", "to")),
    Case("GET", "/v1/window?to=1700000000", 400, names=("from", "to")),
    Case("GET", "/v1/window?end=1700000000", 400, names=("end", "seconds")),
    Case("GET", "/v1/window?from=1700000001&to=1700000000", 400, names=("from", "to")),
    Case("GET", "/v1/window?from=1000000000&to=1700000000", 400, names=("from", "to")),
    Case("GET", "/v1/window?from=2026-13-01T00:00:00Z&to=1700000000", 400, names=("from",)),
    Case("GET", "/v1/window?from=yesterday&to=1700000000", 400, names=("from",)),
    Case("GET", "/v1/window?from=1&to=2&samples=3", 400, names=("seconds", "samples", "from", "to", "end")),
    Case("GET", "/v1/window", 400, names=("seconds", "samples")),
    Case("GET", "/v1/window?seconds=1&samples=1", 400, names=("seconds", "samples")),
    Case("GET", "/v1/window?seconds=0", 400, names=("seconds",)),
    Case("GET", "/v1/window?seconds=-1", 400, names=("seconds",)),
    Case("GET", "/v1/window?seconds=5x", 400, names=("seconds",)),
    # Issue 11 item 11: a NUL, a hex float, a sign are not decimal numbers.
    Case("GET", "/v1/window?seconds=5%00xyz", 400, names=("seconds",)),
    Case("GET", "/v1/window?seconds=0x10", 400, names=("seconds",)),
    Case("GET", "/v1/samples?since=%2B5", 400, names=("since",)),
    Case("GET", "/v1/window?seconds=nan", 400, names=("seconds",)),
    Case("GET", "/v1/window?seconds=315360001", 400, names=("seconds",)),
    Case("GET", "/v1/window?samples=0", 400, names=("samples",)),
    Case("GET", "/v1/window?samples=1.5", 400, names=("samples",)),
    Case("GET", "/v1/window?samples=2147483648", 400, names=("samples",)),
    Case("GET", "/v1/window?seconds=1&seconds=2", 400, names=("seconds",)),
    Case("GET", "/v1/window?seconds=1&step=2", 400, names=("step",)),
    Case("GET", "/v1/window?=1", 400),
    # /v1/samples
    Case("GET", "/v1/samples?since=1&limit=2", 200, check=lambda b: b["truncated"] and len(b["samples"]) == 2
         and "memory_interval_peak_exact" in b["fields"]),
    Case("GET", "/v1/samples?limit=10000", 200),
    Case("GET", "/v1/samples?since=18446744073709551615", 200,
         check=lambda b: b["samples"] == [] and b["next_since"] == 18446744073709551615),
    Case("GET", "/v1/samples?limit=0", 400, names=("limit",)),
    Case("GET", "/v1/samples?limit=10001", 400, names=("limit",)),
    Case("GET", "/v1/samples?since=-1", 400, names=("since",)),
    Case("GET", "/v1/samples?since=18446744073709551616", 400, names=("since",)),
    Case("GET", "/v1/samples?from=3", 400, names=("from",)),
    # /v1/events: the daemon found its target at start; the stall of the /healthz 503 case above
    # (the daemon's threads stopped for a while) shows as a sampler_stall once it runs again.
    Case("GET", "/v1/events?kind=target_found&limit=1", 200,
         check=lambda b: [e["kind"] for e in b["events"]] == ["target_found"] and len(b["events"][0]["processes"]) == 4
         and b["events"][0]["mode"] == "pid"),
    Case("GET", "/v1/events?kind=sampler_stall", 200,
         check=lambda b: b["events"] and b["events"][0]["count"] >= 2 and b["events"][0]["duration_seconds"] > 0.6),
    Case("GET", "/v1/events?kind=oom_kill,worker_replaced&limit=1000", 200, check=lambda b: b["events"] == []),
    Case("GET", "/v1/events?since=18446744073709551615", 200,
         check=lambda b: b["events"] == [] and b["next_since"] == 18446744073709551615 and not b["truncated"]),
    Case("GET", "/v1/snapshot", 200, check=lambda b: b["newest_event_sequence"] >= 2
         and "time_to_limit_seconds" in b["memory"]),
    Case("GET", "/v1/events?kind=oom", 400, names=("kind",)),
    Case("GET", "/v1/events?kind=oom_kill,", 400, names=("kind",)),
    Case("GET", "/v1/events?limit=0", 400, names=("limit",)),
    Case("GET", "/v1/events?limit=1001", 400, names=("limit",)),
    Case("GET", "/v1/events?since=-1", 400, names=("since",)),
    Case("GET", "/v1/events?seconds=5", 400, names=("seconds",)),
    # /stats/, /stats, /metrics
    Case("GET", "/stats/", 200, check=lambda b: len(b["drum_info"]) == 4),
    Case("GET", "/stats/?x=1", 400, names=("x",)),
    Case("GET", "/stats?x", 400, names=("x",)),
    Case("GET", "/metrics?name=up", 400, names=("name",)),
    # Issue 17: OpenMetrics when Accept asks for it as Prometheus does; 0.0.1 when only that is asked for.
    Case("GET", "/metrics", 200, send="accept:application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
    Case("GET", "/metrics", 200, send="accept:application/openmetrics-text; version=0.0.1"),
    # Requests no operation matches (x-unmatched-requests in the document).
    Case("GET", "/v2/snapshot", 404),
    Case("HEAD", "/nope", 404),
    Case("POST", "/v1/snapshot", 405),
    Case("DELETE", "/nope", 405),
    Case("CONNECT", "x:1", 405),
    Case("POST", "/v1/snapshot", 413, send="body"),
    Case("DELETE", "/nope", 408, send="trickle"),
    Case("DELETE", "/nope", 431, send="big-head"),
    Case("-", "*", 400, send="garbage"),
]

# Documented statuses the live daemon cannot be made to answer, with the reason. Each is still
# required to be in the document (a stale entry here fails the run).
BUSY = ("busy: needs every connection being answered at once (the query worker held); "
        "Tests/QueryServerTests: whenEveryConnectionIsBeingAnsweredANewOneIsToldBusy, busyAnswer")
NOT_LIVE = {
    ("/v1/snapshot", 503): "no sample yet: the daemon takes its first sample before it listens; or " + BUSY,
    ("/stats/", 503): "no sample yet: the daemon takes its first sample before it listens; or " + BUSY,
    ("/stats", 503): "no sample yet: the daemon takes its first sample before it listens; or " + BUSY,
    ("/v1/window", 503): BUSY,
    ("/v1/samples", 503): BUSY,
    ("/metrics", 503): BUSY,
    ("*", 503): BUSY,
}
