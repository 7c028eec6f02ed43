"""The fallback readers on fixture trees: v1 limited and unlimited, v2 `max`, a limit on an
ancestor, container mounts, hybrid hosts, missing and malformed files."""
import os

from drum_monitor_client.local import LocalReader, parse_mountinfo, parse_proc_cgroup

GiB = 1024 ** 3
MiB = 1024 ** 2
V1_MOUNTS = (
    "25 1 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n"
    "31 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
)
V2_MOUNT = "29 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
HYBRID_UNIFIED = "28 25 0:25 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def host(root, total=8 * GiB, available=6 * GiB, free=5 * GiB):
    write(root, "/proc/meminfo", "MemTotal: {} kB\nMemFree: {} kB\nMemAvailable: {} kB\nBuffers: 1 kB\n".format(
        total // 1024, free // 1024, available // 1024))


def test_host_memory(tmp_path):
    host(tmp_path)
    reading = LocalReader(str(tmp_path)).host_memory()
    assert reading == (8 * GiB, 6 * GiB, 5 * GiB)


def test_v1_limited(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V1_MOUNTS)
    write(tmp_path, "/proc/self/cgroup", "5:cpu,cpuacct:/\n4:memory:/drum\n0::/\n")
    d = "/sys/fs/cgroup/memory/drum/"
    write(tmp_path, d + "memory.limit_in_bytes", str(2 * GiB) + "\n")
    write(tmp_path, d + "memory.usage_in_bytes", str(300 * MiB) + "\n")
    write(tmp_path, d + "memory.max_usage_in_bytes", str(400 * MiB) + "\n")
    write(tmp_path, "/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading == (1, "/drum", 300 * MiB, 400 * MiB, 2 * GiB, "/drum")


def test_v1_unlimited_has_no_limit(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V1_MOUNTS)
    write(tmp_path, "/proc/self/cgroup", "4:memory:/drum\n")
    write(tmp_path, "/sys/fs/cgroup/memory/drum/memory.limit_in_bytes", "9223372036854771712\n")
    write(tmp_path, "/sys/fs/cgroup/memory/drum/memory.usage_in_bytes", "1000\n")
    write(tmp_path, "/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading is not None
    assert reading.limit_bytes is None and reading.limit_path is None
    assert reading.used_bytes == 1000
    assert reading.max_used_bytes is None  # file missing: unknown, not 0


def test_v1_limit_on_an_ancestor_wins_when_smaller(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V1_MOUNTS)
    write(tmp_path, "/proc/self/cgroup", "4:memory:/kubepods/pod1/drum\n")
    base = "/sys/fs/cgroup/memory"
    write(tmp_path, base + "/kubepods/pod1/drum/memory.limit_in_bytes", str(4 * GiB))
    write(tmp_path, base + "/kubepods/pod1/memory.limit_in_bytes", str(1 * GiB))
    write(tmp_path, base + "/kubepods/memory.limit_in_bytes", str(3 * GiB))
    write(tmp_path, base + "/kubepods/pod1/drum/memory.usage_in_bytes", "5")
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading is not None
    assert (reading.limit_bytes, reading.limit_path) == (1 * GiB, "/kubepods/pod1")


def test_v2_max_is_unlimited_and_an_ancestor_limit_counts(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V2_MOUNT)
    write(tmp_path, "/proc/self/cgroup", "0::/system.slice/drum.service\n")
    base = "/sys/fs/cgroup"
    write(tmp_path, base + "/cgroup.controllers", "cpuset cpu io memory pids\n")
    write(tmp_path, base + "/system.slice/drum.service/memory.max", "max\n")
    write(tmp_path, base + "/system.slice/drum.service/memory.current", str(200 * MiB))
    write(tmp_path, base + "/system.slice/drum.service/memory.peak", str(250 * MiB))
    write(tmp_path, base + "/system.slice/memory.max", str(3 * GiB))
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading == (2, "/system.slice/drum.service", 200 * MiB, 250 * MiB, 3 * GiB, "/system.slice")


def test_v2_all_max_and_no_peak_file(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V2_MOUNT)
    write(tmp_path, "/proc/self/cgroup", "0::/drum\n")
    write(tmp_path, "/sys/fs/cgroup/cgroup.controllers", "memory\n")
    write(tmp_path, "/sys/fs/cgroup/drum/memory.max", "max\n")
    write(tmp_path, "/sys/fs/cgroup/drum/memory.current", "4096\n")
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading == (2, "/drum", 4096, None, None, None)


def test_container_mount_rooted_at_its_cgroup(tmp_path):
    # Docker without a cgroup namespace: the mount's root is the container's cgroup.
    write(tmp_path, "/proc/self/mountinfo",
          "30 25 0:27 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n")
    write(tmp_path, "/proc/self/cgroup", "4:memory:/docker/abc\n")
    write(tmp_path, "/sys/fs/cgroup/memory/memory.limit_in_bytes", str(512 * MiB))
    write(tmp_path, "/sys/fs/cgroup/memory/memory.usage_in_bytes", str(100 * MiB))
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading == (1, "/docker/abc", 100 * MiB, None, 512 * MiB, "/docker/abc")


def test_cgroup_outside_the_mount_is_not_guessed(tmp_path):
    write(tmp_path, "/proc/self/mountinfo",
          "30 25 0:27 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n")
    write(tmp_path, "/proc/self/cgroup", "4:memory:/other\n")
    assert LocalReader(str(tmp_path)).cgroup_memory() is None


def test_hybrid_host_prefers_the_v1_memory_controller(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V1_MOUNTS + HYBRID_UNIFIED)
    write(tmp_path, "/proc/self/cgroup", "4:memory:/a\n0::/user.slice\n")
    write(tmp_path, "/sys/fs/cgroup/unified/cgroup.controllers", "")
    write(tmp_path, "/sys/fs/cgroup/memory/a/memory.usage_in_bytes", "7")
    reading = LocalReader(str(tmp_path)).cgroup_memory()
    assert reading is not None and reading.version == 1 and reading.used_bytes == 7


def test_v2_without_the_memory_controller_is_none(tmp_path):
    write(tmp_path, "/proc/self/mountinfo", V2_MOUNT)
    write(tmp_path, "/proc/self/cgroup", "0::/drum\n")
    write(tmp_path, "/sys/fs/cgroup/cgroup.controllers", "cpu pids\n")
    assert LocalReader(str(tmp_path)).cgroup_memory() is None


def test_missing_and_malformed_files_give_none_not_zero(tmp_path):
    reader = LocalReader(str(tmp_path))
    assert reader.cgroup_memory() is None
    assert reader.host_memory() == (None, None, None)
    assert reader.process(12345) is None
    write(tmp_path, "/proc/self/mountinfo", "garbage\n\n - \n" + V1_MOUNTS)
    write(tmp_path, "/proc/self/cgroup", "nonsense\n4:memory:/m\n")
    write(tmp_path, "/sys/fs/cgroup/memory/m/memory.usage_in_bytes", "not a number\n")
    write(tmp_path, "/sys/fs/cgroup/memory/m/memory.limit_in_bytes", "-1\n")
    reading = reader.cgroup_memory()
    assert reading == (1, "/m", None, None, None, None)
    write(tmp_path, "/proc/meminfo", "MemTotal: lots kB\nMemFree:\n")
    assert reader.host_memory() == (None, None, None)


def test_process_reading(tmp_path):
    write(tmp_path, "/proc/42/stat", "42 (we ird) name)) S 1 42 42 0 -1 4194560 1 0 0 0 250 150 0 0 20 0 1 0 5 1 1\n")
    write(tmp_path, "/proc/42/statm", "1000 300 20 1 0 50 0\n")
    write(tmp_path, "/proc/42/cmdline", "python\0-m\0gunicorn\0")
    reading = LocalReader(str(tmp_path)).process(42)
    assert reading is not None
    assert reading.cmdline == ["python", "-m", "gunicorn"]
    assert reading.rss_bytes == 300 * os.sysconf("SC_PAGE_SIZE")
    assert reading.cpu_seconds == 400 / os.sysconf("SC_CLK_TCK")


def test_a_fifo_does_not_block(tmp_path):
    os.makedirs(str(tmp_path / "proc"))
    os.mkfifo(str(tmp_path / "proc" / "meminfo"))
    assert LocalReader(str(tmp_path)).host_memory() == (None, None, None)


def test_reads_are_bounded(tmp_path):
    write(tmp_path, "/proc/7/cmdline", "a" * (1024 * 1024))
    cmdline = LocalReader(str(tmp_path)).cmdline(7)
    assert cmdline is not None and len(cmdline[0]) == 64 * 1024


def test_parsers():
    assert parse_proc_cgroup("4:memory:/a:b\n0::/\nx:y:z\n") == [(4, ("memory",), "/a:b"), (0, (), "/")]
    mounts = parse_mountinfo("30 25 0:27 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n")
    assert mounts[0].mount_point == "/sys/fs/cgroup/mem ory"
    assert mounts[0].controllers == ("rw", "memory")


def test_the_real_host_reads():
    reader = LocalReader()
    assert reader.host_memory().total_bytes
    me = reader.process(os.getpid())
    assert me is not None and me.rss_bytes and me.cmdline
