"""What a process can read about itself without the daemon: /proc/PID and its own memory cgroup
(v1 or v2, the limit being the smallest over the cgroup and its ancestors, capped at MemTotal).

Every path is under an injectable ``root`` so fixture trees stand in for the kernel. Readers
return None for what cannot be read (never 0) and never raise for kernel content; every read is
bounded.
"""
import os
from typing import List, NamedTuple, Optional, Tuple

# Page-rounded LONG_MAX and friends: anything this large means "no limit" (as the daemon).
UNLIMITED_THRESHOLD = 0x7FFF_FFFF_FFFF_0000
_SMALL_FILE = 64 * 1024
_MOUNTINFO_MAX = 4 * 1024 * 1024

try:
    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
    _CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
except (ValueError, OSError, AttributeError):  # pragma: no cover - every Linux has both
    _PAGE_SIZE, _CLOCK_TICKS = 4096, 100


class HostMemory(NamedTuple):
    total_bytes: Optional[int]
    available_bytes: Optional[int]
    free_bytes: Optional[int]


class ProcessReading(NamedTuple):
    pid: int
    cmdline: List[str]
    rss_bytes: Optional[int]
    cpu_seconds: Optional[float]


class CgroupMemory(NamedTuple):
    version: int
    path: str
    used_bytes: Optional[int]
    max_used_bytes: Optional[int]
    # The smallest limit over the cgroup and its ancestors, None when none is set.
    limit_bytes: Optional[int]
    limit_path: Optional[str]


class CgroupMount(NamedTuple):
    version: int
    root: str
    mount_point: str
    controllers: Tuple[str, ...]

    def directory(self, cgroup_path: str) -> Optional[str]:
        """The directory of ``cgroup_path`` in this mount, None when the mount does not show it."""
        if self.root == "/":
            return self.mount_point if cgroup_path == "/" else self.mount_point + cgroup_path
        if cgroup_path == self.root:
            return self.mount_point
        if cgroup_path.startswith(self.root + "/"):
            return self.mount_point + cgroup_path[len(self.root):]
        return None


def _unescape_mount_path(text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> List[CgroupMount]:
    """The cgroup mounts in a mountinfo text (lines that do not parse are skipped)."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(" "), right.split(" ")
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype = tail[0]
        root, mount_point = _unescape_mount_path(fields[3]), _unescape_mount_path(fields[4])
        if fstype == "cgroup2":
            mounts.append(CgroupMount(2, root, mount_point, ()))
        elif fstype == "cgroup":
            mounts.append(CgroupMount(1, root, mount_point, tuple(tail[2].split(","))))
    return mounts


def parse_proc_cgroup(text: str) -> List[Tuple[int, Tuple[str, ...], str]]:
    """(hierarchy id, controllers, path) per line of /proc/PID/cgroup."""
    entries = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        controllers = tuple(c for c in parts[1].split(",") if c)
        entries.append((int(parts[0]), controllers, parts[2]))
    return entries


def _parse_int(text: Optional[str]) -> Optional[int]:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isdigit() else None


class LocalReader:
    """Reads /proc and the cgroup file system under ``root`` ("/" on a real host)."""

    def __init__(self, root: str = "/") -> None:
        self.root = root.rstrip("/")

    def _path(self, absolute: str) -> str:
        return self.root + absolute

    def _read(self, absolute: str, limit: int = _SMALL_FILE) -> Optional[str]:
        try:
            # O_NONBLOCK: never hang on a FIFO planted where a file is expected.
            fd = os.open(self._path(absolute), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            chunks, size = [], 0
            while size < limit:
                chunk = os.read(fd, min(65536, limit - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks).decode("utf-8", errors="replace")
        except OSError:
            return None
        finally:
            os.close(fd)

    # -- host --------------------------------------------------------------------------------

    def host_memory(self) -> HostMemory:
        text = self._read("/proc/meminfo") or ""
        values = {}
        for line in text.splitlines():
            name, _, rest = line.partition(":")
            parts = rest.split()
            if name in ("MemTotal", "MemAvailable", "MemFree") and parts and parts[0].isdigit():
                values[name] = int(parts[0]) * 1024
        return HostMemory(values.get("MemTotal"), values.get("MemAvailable"), values.get("MemFree"))

    # -- processes ---------------------------------------------------------------------------

    def process(self, pid: int) -> Optional[ProcessReading]:
        """cmdline, RSS (statm, as psutil) and CPU seconds of ``pid``; None if it is gone."""
        stat = self._read("/proc/{}/stat".format(pid))
        if stat is None:
            return None
        cpu: Optional[float] = None
        # comm may hold spaces and parentheses: the fields start after the last ')'.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 12 and fields[11].isdigit() and fields[12].isdigit():
            cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        statm = (self._read("/proc/{}/statm".format(pid)) or "").split()
        rss = int(statm[1]) * _PAGE_SIZE if len(statm) > 1 and statm[1].isdigit() else None
        raw = self._read("/proc/{}/cmdline".format(pid)) or ""
        cmdline = raw.split("\0")
        if cmdline and cmdline[-1] == "":
            cmdline.pop()
        return ProcessReading(pid, cmdline, rss, cpu)

    def cmdline(self, pid: int) -> Optional[List[str]]:
        raw = self._read("/proc/{}/cmdline".format(pid))
        if raw is None:
            return None
        parts = raw.split("\0")
        if parts and parts[-1] == "":
            parts.pop()
        return parts

    # -- cgroup ------------------------------------------------------------------------------

    def cgroup_memory(self, pid: str = "self") -> Optional[CgroupMemory]:
        """The memory cgroup of ``pid`` (a v1 memory hierarchy wins on hybrid hosts, as in the
        daemon), or None when there is none this process can see."""
        located = self._locate(pid)
        if located is None:
            return None
        version, cgroup_path, directory, mount_point = located
        if version == 1:
            used = _parse_int(self._read(directory + "/memory.usage_in_bytes"))
            max_used = _parse_int(self._read(directory + "/memory.max_usage_in_bytes"))
            limit_file = "memory.limit_in_bytes"
        else:
            used = _parse_int(self._read(directory + "/memory.current"))
            max_used = _parse_int(self._read(directory + "/memory.peak"))  # kernel 5.19+
            limit_file = "memory.max"
        limit: Optional[int] = None
        limit_path: Optional[str] = None
        level_dir, level_path = directory, cgroup_path
        while True:
            value = _parse_int(self._read(level_dir + "/" + limit_file))  # v2 "max" parses as None
            if value is not None and value < UNLIMITED_THRESHOLD and (limit is None or value < limit):
                limit, limit_path = value, level_path
            if len(level_dir) <= len(mount_point):
                break
            level_dir = level_dir.rsplit("/", 1)[0]
            parent_path = level_path.rsplit("/", 1)[0]
            level_path = parent_path if parent_path else "/"
        return CgroupMemory(version, cgroup_path, used, max_used, limit, limit_path)

    def _locate(self, pid: str) -> Optional[Tuple[int, str, str, str]]:
        entries = parse_proc_cgroup(self._read("/proc/{}/cgroup".format(pid)) or "")
        mounts = parse_mountinfo(self._read("/proc/{}/mountinfo".format(pid), _MOUNTINFO_MAX) or "")
        for hierarchy, controllers, path in entries:
            if hierarchy != 0 and "memory" in controllers:
                for mount in mounts:
                    if mount.version == 1 and "memory" in mount.controllers:
                        directory = mount.directory(path)
                        if directory is not None:
                            return 1, path, directory, mount.mount_point
                return None
        for hierarchy, _, path in entries:
            if hierarchy == 0:
                for mount in mounts:
                    if mount.version != 2:
                        continue
                    offered = (self._read(mount.mount_point + "/cgroup.controllers") or "").split()
                    directory = mount.directory(path)
                    if "memory" in offered and directory is not None:
                        return 2, path, directory, mount.mount_point
        return None
