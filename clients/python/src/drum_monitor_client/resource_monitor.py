"""A drop-in for DRUM's ``datarobot_drum.drum.resource_monitor.ResourceMonitor`` that answers
from drum-monitor (every process of the tree, the cgroup's figures on v1 and v2) and, when the
daemon cannot answer for this server, from /proc/self and this process's own cgroup.

``collect_resources_info()`` returns exactly DRUM's dict: ``{"mem_info": {total, avail, free,
drum_rss, container_limit, container_max_used, container_used}, "drum_info": [{pid, cmdline, mem,
cpu_percent}]}``, sizes in MiB as floats, ``cpu_percent`` a float (percent of one CPU), never
null. It never raises: DRUM's ``/stats/`` must not fail because of its monitor.
"""
import logging
import os
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from .client import Client, shared_client
from .errors import DaemonError, DaemonUnavailable
from .local import LocalReader, ProcessReading
from .target import VerifyMode, normalise_verify, watches_this_server

logger = logging.getLogger("drum_monitor_client")

MEM_INFO_KEYS = ("total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used")
SCOPES = ("tree", "self")
FALLBACK_WARNING_SECONDS = 60.0
_MIB = 1024.0 * 1024.0


class _FallbackLog:
    """One warning a minute per process while the fallback answers; one line when the daemon
    answers again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = -FALLBACK_WARNING_SECONDS
        self._falling_back = False

    def fell_back(self, why: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._falling_back = True
            if now - self._last < FALLBACK_WARNING_SECONDS:
                return
            self._last = now
        logger.warning("drum-monitor: %s; /stats/ answers from /proc/self and this process's cgroup "
                       "(this warning repeats at most once a minute)", why)

    def recovered(self) -> None:
        if self._falling_back:
            with self._lock:
                was, self._falling_back = self._falling_back, False
            if was:
                logger.info("drum-monitor answers for this server again; /stats/ uses its data")


_fallback_log = _FallbackLog()


class _CpuPercent:
    """psutil's ``cpu_percent()`` per pid: percent of one CPU since this object's previous
    reading of the same pid, 0.0 on the first."""

    def __init__(self) -> None:
        self._last: Dict[int, Tuple[float, float]] = {}

    def percent(self, pid: int, cpu_seconds: Optional[float]) -> float:
        now = time.monotonic()
        previous = self._last.get(pid)
        if cpu_seconds is None:
            return 0.0
        self._last[pid] = (now, cpu_seconds)
        if previous is None or now <= previous[0] or cpu_seconds < previous[1]:
            return 0.0
        return (cpu_seconds - previous[1]) / (now - previous[0]) * 100.0


def _mib(value: Any) -> Optional[float]:
    """A daemon MiB value as a float (JSON may carry 0 as an int); None for null or junk."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _mib_of_bytes(value: Optional[int]) -> Optional[float]:
    return None if value is None else value / _MIB


class ResourceMonitor:
    """DRUM's constructor signature, plus keyword-only options:

    ``scope="tree"`` (default) lists the master and every worker; ``scope="self"`` is DRUM's
    per-process view (only the process that built the monitor) for consumers whose numbers
    must not move. ``verify="pid"`` (default) uses the daemon's data only when this pid or its
    parent's is in the tree it watches; ``verify="cmdline"`` compares command lines instead (a
    daemon in another pid namespace); ``verify=False`` trusts the daemon. ``client`` and
    ``socket_path`` choose the daemon (default: ``DRUM_MONITOR_SOCKET``, then the daemon's
    default socket).
    """

    TOTAL_MEMORY_LABEL = "Total"
    AVAILABLE_MEMORY_LABEL = "Available"
    FREE_MEMORY_LABEL = "Free"

    def __init__(
        self,
        monitor_current_process: bool = False,
        *,
        scope: str = "tree",
        verify: VerifyMode = "pid",
        client: Optional[Client] = None,
        socket_path: Optional[str] = None,
        local: Optional[LocalReader] = None,
    ) -> None:
        if scope not in SCOPES:
            raise ValueError("scope must be 'tree' or 'self', got {!r}".format(scope))
        self._monitor_current_process = bool(monitor_current_process)
        self._scope = scope
        self._verify = normalise_verify(verify)
        self._client = client if client is not None else shared_client(socket_path)
        self._local = local if local is not None else LocalReader()
        # DRUM's monitor keeps the process it was built in (werkzeug's per-request children
        # report their parent), and so does this one.
        self._pid = os.getpid()
        self._cpu = _CpuPercent()

    @property
    def scope(self) -> str:
        return self._scope

    def collect_resources_info(self) -> Dict[str, Any]:
        try:
            info = self._from_daemon()
            if info is not None:
                _fallback_log.recovered()
                return info
        except Exception as error:  # never let /stats/ fail because of the monitor
            _fallback_log.fell_back("unexpected error reading the daemon's answer ({}: {})".format(
                type(error).__name__, error))
        try:
            return self._from_local()
        except Exception as error:  # pragma: no cover - the local readers do not raise
            logger.exception("drum-monitor: the local fallback failed: %s", error)
            return {"mem_info": {key: None for key in MEM_INFO_KEYS}, "drum_info": []}

    def collect_drum_info(self) -> List[Dict[str, Any]]:
        """DRUM's ``collect_drum_info()``: the ``drum_info`` list alone."""
        drum_info = self.collect_resources_info()["drum_info"]
        return list(drum_info) if drum_info else []

    # -- from the daemon ---------------------------------------------------------------------

    def _from_daemon(self) -> Optional[Dict[str, Any]]:
        try:
            document = self._client.stats()
        except (DaemonUnavailable, DaemonError) as error:
            _fallback_log.fell_back(str(error))
            return None
        processes = document.get("drum_info")
        daemon_mem = document.get("mem_info")
        if not isinstance(processes, list) or not isinstance(daemon_mem, dict):
            _fallback_log.fell_back("the daemon's /stats/ lacks mem_info or drum_info")
            return None
        listed = [p for p in processes if isinstance(p, dict) and _is_pid(p.get("pid"))]
        if not watches_this_server(listed, self._verify):
            roots = ", ".join(str(p.get("pid")) for p in listed[:3]) or "nothing"
            _fallback_log.fell_back("the daemon at {} watches another process tree ({}), not pid {}".format(
                self._client.socket_path, roots, os.getpid()))
            return None
        mem_info = {key: _mib(daemon_mem.get(key)) for key in MEM_INFO_KEYS}
        if self._scope == "tree" or not self._monitor_current_process:
            drum_info = [self._entry_from_daemon(p) for p in listed]
            if mem_info["drum_rss"] is None:
                mem_info["drum_rss"] = sum(entry["mem"] for entry in drum_info)
        else:
            own = next((p for p in listed if p.get("pid") == self._pid), None)
            drum_info = [self._entry_from_daemon(own) if own is not None else self._entry_from_local()]
            mem_info["drum_rss"] = sum(entry["mem"] for entry in drum_info)
        if mem_info["total"] is None or mem_info["avail"] is None or mem_info["free"] is None:
            host = self._local.host_memory()
            for key, value in (("total", host.total_bytes), ("avail", host.available_bytes),
                               ("free", host.free_bytes)):
                if mem_info[key] is None:
                    mem_info[key] = _mib_of_bytes(value)
        return {"mem_info": mem_info, "drum_info": drum_info}

    def _entry_from_daemon(self, process: Dict[str, Any]) -> Dict[str, Any]:
        pid = int(process["pid"])
        cmdline = process.get("cmdline")
        if isinstance(cmdline, str):
            cmdline = cmdline.split(" ")
        elif not isinstance(cmdline, list):
            cmdline = []
        mem = _mib(process.get("mem"))
        if mem is None:  # the daemon could not read this one's RSS: read it here
            reading = self._local.process(pid)
            mem = _mib_of_bytes(reading.rss_bytes if reading else None)
        cpu = _mib(process.get("cpu_percent"))  # absent until the daemon has read it twice
        return {"pid": pid, "cmdline": [str(part) for part in cmdline],
                "mem": mem if mem is not None else 0.0, "cpu_percent": cpu if cpu is not None else 0.0}

    # -- without the daemon ------------------------------------------------------------------

    def _entry_from_local(self) -> Dict[str, Any]:
        reading: Optional[ProcessReading] = self._local.process(self._pid)
        if reading is None and self._pid != os.getpid():
            reading = self._local.process(os.getpid())
        if reading is None:
            return {"pid": self._pid, "cmdline": [], "mem": 0.0, "cpu_percent": 0.0}
        mem = _mib_of_bytes(reading.rss_bytes)
        return {"pid": reading.pid, "cmdline": reading.cmdline, "mem": mem if mem is not None else 0.0,
                "cpu_percent": self._cpu.percent(reading.pid, reading.cpu_seconds)}

    def _from_local(self) -> Dict[str, Any]:
        drum_info = [self._entry_from_local()]
        host = self._local.host_memory()
        cgroup = self._local.cgroup_memory("self")
        total = host.total_bytes
        avail, free = host.available_bytes, host.free_bytes
        limit = used = max_used = None
        if cgroup is not None:
            limit = cgroup.limit_bytes
            if total is not None and (limit is None or limit > total):
                limit = total
            used, max_used = cgroup.used_bytes, cgroup.max_used_bytes
            if limit is not None and used is not None:
                headroom = max(0, limit - used)
                avail = headroom if avail is None else min(avail, headroom)
                free = headroom if free is None else min(free, headroom)
        mem_info = {
            "total": _mib_of_bytes(total),
            "avail": _mib_of_bytes(avail),
            "free": _mib_of_bytes(free),
            "drum_rss": sum(entry["mem"] for entry in drum_info),
            "container_limit": _mib_of_bytes(limit),
            "container_max_used": _mib_of_bytes(max_used),
            "container_used": _mib_of_bytes(used),
        }
        return {"mem_info": mem_info, "drum_info": drum_info}


def _is_pid(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
