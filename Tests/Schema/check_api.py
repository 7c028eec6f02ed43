#!/usr/bin/env python3
"""The schema tier: validates api/openapi.yaml as an OpenAPI 3.1 document, then starts the real
daemon on a live process tree, sends every request in cases.py over its Unix socket and validates
each answer (status, headers, content type, body) against the document; finally checks that every
path and status the document describes was answered by some request.

Run by `make test-schema` (part of `make test`) in the venv of Tests/Schema/venv.sh:
    DRUM_MONITOR_BIN=.build-static/release/drum-monitor "$(Tests/Schema/venv.sh)"/bin/python Tests/Schema/check_api.py
Prints one line per check and closes with "schema: N passed, N failed".
"""
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import quote

import yaml
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_spec_validator import validate as validate_openapi_document
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import CASES, NOT_LIVE, PATHS, Case  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENT = os.environ.get("DRUM_MONITOR_OPENAPI", os.path.join(REPO, "api", "openapi.yaml"))
BINARY = os.environ.get("DRUM_MONITOR_BIN", os.path.join(REPO, ".build-static", "release", "drum-monitor"))

# The daemon's settings; cases.py relies on them.
INTERVAL = "200ms"  # /healthz turns 503 only 3 intervals late: room for a loaded machine
RETENTION = "1s"
CAPACITY = 5  # retention ÷ interval
HEAD_TIMEOUT = "200ms"
MAX_HEAD_BYTES = 1024

TIMEOUT = 30.0  # seconds to wait for anything that should happen much sooner


class Failure(Exception):
    pass


class Unavailable(Exception):
    """A condition this machine cannot set up (printed as SKIP)."""


def poll(what, timeout=TIMEOUT, every=0.05):
    """Calls what() until it returns something truthy; returns that, or None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(every)


# ---------------------------------------------------------------------------------------------
# The document


class Document:
    URI = "urn:drum-monitor:openapi"

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.registry = Registry().with_resource(
            self.URI, Resource.from_contents(self.doc, default_specification=DRAFT202012))

    def at(self, pointer):
        node = self.doc
        for part in pointer.split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    @staticmethod
    def escape(part):
        return str(part).replace("~", "~0").replace("/", "~1")

    def resolve(self, node, pointer):
        """Follows $ref of OpenAPI objects (path items, responses, headers)."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].lstrip("#")
            node = self.at(pointer)
        return node, pointer

    def operation_responses(self, path):
        """(responses, pointer) of GET on a documented path, or None."""
        item = self.doc.get("paths", {}).get(path)
        if item is None:
            return None
        item, pointer = self.resolve(item, "/paths/" + self.escape(path))
        if "get" not in item:
            return None
        return item["get"]["responses"], pointer + "/get/responses"

    def unmatched_responses(self):
        return self.doc["x-unmatched-requests"]["responses"], "/x-unmatched-requests/responses"

    def documented_statuses(self):
        """{(path, status)} for every GET operation, and ("*", status) for unmatched requests."""
        pairs = set()
        for path in self.doc.get("paths", {}):
            responses, _ = self.operation_responses(path)
            pairs |= {(path, int(status)) for status in responses}
        responses, _ = self.unmatched_responses()
        pairs |= {("*", int(status)) for status in responses}
        return pairs

    def validator(self, pointer):
        ref = self.URI + "#" + quote(pointer, safe="/~")
        return OAS31Validator({"$ref": ref}, registry=self.registry, format_checker=oas31_format_checker)


def check_document_fields(document):
    """Every property of a schema is described (its unit goes there) and every object schema
    says what else it may hold, so the document catches fields the daemon adds."""
    problems = []

    def walk(node, pointer):
        if isinstance(node, dict):
            if node.get("type") == "object" or "properties" in node:
                if "additionalProperties" not in node and "propertyNames" not in node:
                    problems.append(f"{pointer}: object without additionalProperties")
            for name, prop in (node.get("properties") or {}).items():
                target = prop
                if "$ref" in prop and "description" not in prop:
                    target, _ = document.resolve(prop, "")
                if not isinstance(target, dict) or not target.get("description"):
                    problems.append(f"{pointer}/properties/{name}: no description")
            for key, value in node.items():
                walk(value, f"{pointer}/{Document.escape(key)}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(document.doc.get("components", {}).get("schemas", {}), "/components/schemas")
    if problems:
        raise Failure("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# HTTP over the Unix socket, byte by byte


class Answer:
    def __init__(self, raw):
        self.raw = raw
        head, sep, self.body = raw.partition(b"\r\n\r\n")
        if not sep:
            raise Failure(f"no complete response head in {raw[:200]!r}")
        lines = head.decode("latin-1").split("\r\n")
        match = re.match(r"^HTTP/1\.[01] (\d{3}) ", lines[0] + " ")
        if not match:
            raise Failure(f"bad status line {lines[0]!r}")
        self.status = int(match.group(1))
        self.headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise Failure(f"bad header line {line!r}")
            if name.lower() in self.headers:
                raise Failure(f"header {name} given twice")
            self.headers[name.lower()] = value.strip()

    def json(self):
        return json.loads(self.body)


def request_bytes(case):
    head = f"{case.method} {case.target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    if case.send == "plain":
        return (head + "\r\n").encode()
    if case.send == "body":
        return (head + "Content-Length: 5\r\n\r\nhello").encode()
    if case.send == "chunked":
        return (head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode()
    if case.send == "big-body":
        return (head + "Content-Length: 20000\r\n\r\n" + "b" * 20000).encode()
    if case.send == "upgrade":
        return (f"{case.method} {case.target} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                "Upgrade: websocket\r\n\r\n").encode()
    if case.send.startswith("accept:"):
        return (head + f"Accept: {case.send[len('accept:'):]}\r\n\r\n").encode()
    if case.send == "big-head":
        return (head + "X-Padding: " + "a" * (MAX_HEAD_BYTES + 100) + "\r\n\r\n").encode()
    if case.send == "trickle":
        return f"{case.method} {case.target} HTTP/1.1\r\nHost: localhost\r\n".encode()  # never completed
    if case.send == "garbage":
        return b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP\r\n\r\n"
    raise Failure(f"unknown send {case.send!r}")


def exchange(sock_path, data, timeout=10.0):
    """Sends the bytes and reads until the daemon closes (every request asks it to)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered (431) and closed before taking everything; the answer is still there
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return Answer(b"".join(chunks))


def get(sock_path, target):
    return exchange(sock_path, request_bytes(Case("GET", target, 200)))


# ---------------------------------------------------------------------------------------------
# Validation of one answer against the document


PROMETHEUS_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
PROMETHEUS_LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\}'
# Values as Go's strconv.ParseFloat reads them (Prometheus does): NaN and Inf in any case.
PROMETHEUS_VALUE = r"(?:(?i:nan|[+-]?inf(?:inity)?)|[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
PROMETHEUS_SAMPLE = re.compile(rf"^({PROMETHEUS_NAME})(?:{PROMETHEUS_LABELS})? {PROMETHEUS_VALUE}(?: -?[0-9]+)?$")
PROMETHEUS_COMMENT = re.compile(rf"^# (?:HELP ({PROMETHEUS_NAME}) .*|TYPE ({PROMETHEUS_NAME}) (counter|gauge|histogram|summary|untyped))$")
OPENMETRICS_COMMENT = re.compile(rf"^# (?:HELP ({PROMETHEUS_NAME}) .*|TYPE ({PROMETHEUS_NAME}) (counter|gauge|info|unknown)|UNIT ({PROMETHEUS_NAME}) [a-z_]+)$")


def check_prometheus_text(body, openmetrics=False):
    """The text format 0.0.4, or OpenMetrics (a sample's family is its name less _total/_info;
    `# EOF` last). Every family has HELP and TYPE before its samples; no NaN; the families a
    watched tree has are there."""
    text = body.decode("utf-8")
    if not text.endswith("\n"):
        raise Failure("exposition does not end with a newline")
    lines = text.splitlines()
    if openmetrics:
        if lines[-1:] != ["# EOF"]:
            raise Failure("OpenMetrics without # EOF as its last line")
        lines = lines[:-1]
    pattern = OPENMETRICS_COMMENT if openmetrics else PROMETHEUS_COMMENT
    typed, helped, samples = {}, set(), []
    for number, line in enumerate(lines, 1):
        if not line:
            raise Failure(f"line {number} is empty")
        comment = pattern.match(line)
        if comment:
            if comment.group(1):
                helped.add(comment.group(1))
            if comment.group(2):
                typed[comment.group(2)] = comment.group(3)
            continue
        sample = PROMETHEUS_SAMPLE.match(line)
        if not sample:
            raise Failure(f"line {number} is not {'OpenMetrics' if openmetrics else 'Prometheus text'}: {line!r}")
        name = sample.group(1)
        family = name
        if openmetrics:
            family = re.sub(r"_(total|info)$", "", name)
            if family != name and typed.get(family) not in ("counter", "info"):
                raise Failure(f"line {number}: {name} is not a sample of a counter or info family")
        if family not in typed or family not in helped:
            raise Failure(f"line {number}: {name} has no # TYPE and # HELP before it")
        if line.rsplit(" ", 1)[-1].lower() == "nan":
            raise Failure(f"line {number}: NaN (an unknown value must be left out): {line!r}")
        samples.append(name)
    for name in ("drum_monitor_sampler_ticks_total", "drum_monitor_memory_current_bytes", "drum_monitor_tree_cpu_seconds_total"):
        if name not in samples:
            raise Failure(f"no {name} in the exposition")


def documented_path(document, case):
    """The document's path of a request, or "*" when no operation matches it."""
    path = case.target.split("?", 1)[0]
    if case.send == "garbage" or case.method not in ("GET", "HEAD") or document.operation_responses(path) is None:
        return "*"
    return path


def validate_answer(document, case, answer):
    path = documented_path(document, case)
    responses, pointer = document.unmatched_responses() if path == "*" else document.operation_responses(path)
    if str(answer.status) not in responses:
        raise Failure(f"status {answer.status} is not documented for {path} (documented: {sorted(responses)}); "
                      f"body {answer.body[:300]!r}")
    response, pointer = document.resolve(responses[str(answer.status)], f"{pointer}/{answer.status}")

    for name, header in (response.get("headers") or {}).items():
        header, header_pointer = document.resolve(header, f"{pointer}/headers/{Document.escape(name)}")
        value = answer.headers.get(name.lower())
        if value is None:
            if header.get("required"):
                raise Failure(f"header {name} missing (documented at {header_pointer})")
            continue
        errors = list(document.validator(header_pointer + "/schema").iter_errors(value))
        if errors:
            raise Failure(f"header {name}: {value!r}: {errors[0].message}")

    content_type = answer.headers.get("content-type")
    media_types = {m.lower().replace(" ", ""): m for m in (response.get("content") or {})}
    if content_type is None or content_type.lower().replace(" ", "") not in media_types:
        raise Failure(f"content type {content_type!r} is not documented (documented: {sorted(media_types.values())})")
    media_type = media_types[content_type.lower().replace(" ", "")]

    length = answer.headers.get("content-length")
    if length is None or not length.isdigit():
        raise Failure(f"no valid Content-Length: {length!r}")
    if case.method == "HEAD":
        if answer.body:
            raise Failure(f"HEAD answered with a body: {answer.body[:100]!r}")
        return None
    if int(length) != len(answer.body):
        raise Failure(f"Content-Length {length} but {len(answer.body)} body bytes")

    schema_pointer = f"{pointer}/content/{Document.escape(media_type)}/schema"
    if media_type == "application/json":
        if not answer.body.endswith(b"}\n"):
            raise Failure(f"JSON body does not end with one newline after the object: {answer.body[-20:]!r}")
        try:
            body = answer.json()
        except ValueError as error:
            raise Failure(f"body is not JSON: {error}: {answer.body[:200]!r}")
        errors = sorted(document.validator(schema_pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            shown = "; ".join(f"at /{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:5])
            raise Failure(f"body does not match {schema_pointer}: {shown}")
        return body
    if media_type.startswith("text/plain"):
        check_prometheus_text(answer.body)
        return None
    if media_type.startswith("application/openmetrics-text"):
        check_prometheus_text(answer.body, openmetrics=True)
        return None
    raise Failure(f"no check for media type {media_type}")


# ---------------------------------------------------------------------------------------------
# Conditions held while asking (Case.during)


class SamplerStalled:
    """Stops every thread of the daemon except the query server's event loop (named NIO-ELT-…)
    with ptrace: the socket keeps answering while no sample is taken, as with a wedged sampler.
    Threads are resumed on exit, and by the kernel should this process die."""
    PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
    WALL = 0x40000000

    def __init__(self, pid):
        self.pid = pid
        self.stopped = []
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        self.libc.ptrace.restype = ctypes.c_long

    def threads(self):
        found, event_loops = [], 0
        for tid in os.listdir(f"/proc/{self.pid}/task"):
            try:
                with open(f"/proc/{self.pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
            except FileNotFoundError:
                continue
            if comm.startswith("NIO-ELT"):
                event_loops += 1
            else:
                found.append(int(tid))
        if not event_loops:
            raise Failure("no thread of the daemon is named NIO-ELT-…: which one serves the socket?")
        return found

    def __enter__(self):
        try:
            # Until no new thread shows up: a thread being stopped might have started another.
            while True:
                new = [tid for tid in self.threads() if tid not in self.stopped]
                if not new:
                    return self
                for tid in new:
                    if self.libc.ptrace(self.PTRACE_SEIZE, tid, None, None) != 0:
                        err = ctypes.get_errno()
                        if err == 3:  # ESRCH: the thread ended
                            continue
                        raise Unavailable(f"ptrace(PTRACE_SEIZE) of the daemon's thread {tid}: {os.strerror(err)}")
                    self.stopped.append(tid)
                    self.libc.ptrace(self.PTRACE_INTERRUPT, tid, None, None)
                    os.waitpid(tid, self.WALL)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *_):
        for tid in self.stopped:
            self.libc.ptrace(self.PTRACE_DETACH, tid, None, None)
        self.stopped = []


CONDITIONS = {
    "sampler stalled": SamplerStalled,
}


# ---------------------------------------------------------------------------------------------
# The daemon and the tree it watches

# A master, two forked workers (same command line: role "worker", burning a little CPU) and a
# `sleep` (role "child").
TREE = """
import os, subprocess, time
for _ in range(2):
    if os.fork() == 0:
        while True:
            sum(range(20000)); time.sleep(0.02)
subprocess.Popen(["sleep", "3600"])
time.sleep(3600)
"""


class Scene:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="drum-monitor-schema-")
        self.socket = os.path.join(self.dir, "drum-monitor.sock")
        self.tree = None
        self.daemon = None
        self.log_path = os.path.join(self.dir, "daemon.log")

    def start(self):
        if not os.access(BINARY, os.X_OK):
            raise Failure(f"no daemon binary at {BINARY} (make build-static, or set DRUM_MONITOR_BIN)")
        self.tree = subprocess.Popen([sys.executable, "-c", TREE], start_new_session=True)
        children = f"/proc/{self.tree.pid}/task/{self.tree.pid}/children"
        if not poll(lambda: len(open(children).read().split()) == 3):
            raise Failure("the watched tree did not start its 3 children")
        config = os.path.join(self.dir, "drum-monitor.yaml")
        with open(config, "w") as f:
            f.write(f"interval: {INTERVAL}\nretention: {RETENTION}\nsocket: {self.socket}\npid: {self.tree.pid}\n"
                    f"head_timeout: {HEAD_TIMEOUT}\nmax_head_bytes: {MAX_HEAD_BYTES}\nlog_level: warning\n")
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("DRUM_MONITOR_")
                       and k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC",
                                     "WATCHDOG_PID", "JOURNAL_STREAM")}
        with open(self.log_path, "wb") as log:
            self.daemon = subprocess.Popen([BINARY, "serve", "--config", config], env=environment,
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def healthy():
            if self.daemon.poll() is not None:
                raise Failure(f"the daemon exited with {self.daemon.returncode}: {self.log()}")
            try:
                return get(self.socket, "/healthz").status == 200
            except OSError:
                return False
        if not poll(healthy):
            raise Failure(f"the daemon did not answer /healthz with 200: {self.log()}")

        # Every branch the cases rely on: the history has wrapped, the tree is complete and its
        # CPU measured.
        def settled():
            snapshot = get(self.socket, "/v1/snapshot").json()
            return (snapshot["sequence"] > CAPACITY + 1 and snapshot["target"]["process_count"] == 4
                    and snapshot["cpu"]["tree_cores"] is not None
                    and all(p["cpu_cores"] is not None for p in snapshot["processes"]))
        if not poll(settled):
            raise Failure(f"the daemon did not settle on the tree: {get(self.socket, '/v1/snapshot').body[:2000]!r}")

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        if self.tree:
            try:
                os.killpg(self.tree.pid, signal.SIGKILL)  # the group this test started
            except ProcessLookupError:
                pass
            self.tree.wait()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


# ---------------------------------------------------------------------------------------------


def describe(case):
    if case.send == "garbage":
        return "garbage bytes"
    extra = "" if case.send == "plain" else f" ({case.send})"
    during = f" while {case.during}" if case.during else ""
    return f"{case.method} {case.target}{extra}{during} -> {case.status}"


def run_case(document, scene, case):
    if case.during:
        with CONDITIONS[case.during](scene.daemon.pid):
            answer = poll(lambda: (lambda a: a if a.status == case.status else None)(
                exchange(scene.socket, request_bytes(case))))
        if answer is None:
            raise Failure(f"no {case.status} within {TIMEOUT:.0f} s")
        if not poll(lambda: get(scene.socket, "/healthz").status == 200):
            raise Failure(f"/healthz not 200 again within {TIMEOUT:.0f} s after {case.during}")
    else:
        answer = exchange(scene.socket, request_bytes(case))
    body = validate_answer(document, case, answer)
    if answer.status != case.status:
        raise Failure(f"answered {answer.status}, expected {case.status}: {answer.body[:300]!r}")
    for name in case.names:
        if f"'{name}'" not in body["error"]:
            raise Failure(f"error does not name '{name}': {body['error']!r}")
    if case.check and not case.check(body):
        raise Failure(f"check failed on {answer.body[:1500]!r}")
    return documented_path(document, case), answer.status


def main():
    passed, failed, skipped = 0, 0, 0

    def outcome(name, action):
        nonlocal passed, failed, skipped
        try:
            result = action()
        except Unavailable as why:
            skipped += 1
            print(f"SKIP {name}: {why}", flush=True)
            return None
        except Failure as why:
            failed += 1
            print(f"FAIL {name}: {why}", flush=True)
            return None
        except Exception as error:  # a broken harness or daemon: report it as a failure of the check
            failed += 1
            print(f"FAIL {name}: {type(error).__name__}: {error}\n{traceback.format_exc()}", flush=True)
            return None
        passed += 1
        print(f"ok   {name}", flush=True)
        return result if result is not None else True

    document = Document(DOCUMENT)

    def valid_document():
        try:
            validate_openapi_document(document.doc)
        except Exception as error:
            raise Failure(str(error)[:3000])
    documented = outcome(f"document {os.path.relpath(DOCUMENT, REPO)} is valid OpenAPI 3.1", valid_document)
    outcome("document: every field described, every object closed", lambda: check_document_fields(document))

    def paths_listed():
        missing = set(document.doc.get("paths", {})) ^ set(PATHS)
        if missing:
            raise Failure(f"paths of the document and cases.PATHS differ: {sorted(missing)}")
    outcome("cases.PATHS lists every path of the document", paths_listed)

    exercised = set()
    unavailable = set()
    scene = Scene()
    try:
        if outcome("the daemon starts and settles on a live tree", scene.start) and documented:
            for case in CASES:
                result = outcome(describe(case), lambda: run_case(document, scene, case))
                if result:
                    exercised.add(result)
                elif case.during:
                    unavailable.add((documented_path(document, case), case.status))

            def covered():
                all_documented = document.documented_statuses()
                stale = sorted(set(NOT_LIVE) - all_documented)
                if stale:
                    raise Failure(f"NOT_LIVE names statuses the document does not have: {stale}")
                missing = sorted(all_documented - exercised - set(NOT_LIVE) - unavailable)
                if missing:
                    raise Failure("documented but answered by no request in cases.py: "
                                  + ", ".join(f"{p} {s}" for p, s in missing))
                for (path, status), why in sorted(NOT_LIVE.items()):
                    print(f"     not asked live: {path} {status}: {why}")
            outcome("every documented path and status was answered", covered)
    finally:
        scene.stop()
    print(f"schema: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
