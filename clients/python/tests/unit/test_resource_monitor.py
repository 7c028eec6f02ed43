"""The drop-in: DRUM's keys and types exactly, the target check, the fallback, never raising."""
import logging
import os

import pytest

from drum_monitor_client import Client, ResourceMonitor
from drum_monitor_client.local import LocalReader

# DRUM 1.18.1's /stats/ (resource_monitor.py): every size a float in MiB, cpu_percent a float.
MEM_INFO_KEYS = {"total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used"}
PROCESS_KEYS = {"pid", "cmdline", "mem", "cpu_percent"}


def assert_drum_shape(info, containers_are_floats=True):
    assert set(info) == {"mem_info", "drum_info"}
    mem = info["mem_info"]
    assert set(mem) == MEM_INFO_KEYS
    for key in ("total", "avail", "free", "drum_rss"):
        assert type(mem[key]) is float, key
    for key in ("container_limit", "container_max_used", "container_used"):
        if containers_are_floats or mem[key] is not None:
            assert type(mem[key]) is float, key
    assert isinstance(info["drum_info"], list) and info["drum_info"]
    for process in info["drum_info"]:
        assert set(process) == PROCESS_KEYS
        assert type(process["pid"]) is int
        assert isinstance(process["cmdline"], list) and all(type(a) is str for a in process["cmdline"])
        assert type(process["mem"]) is float
        assert type(process["cpu_percent"]) is float
    assert mem["drum_rss"] == pytest.approx(sum(p["mem"] for p in info["drum_info"]))


def test_tree_from_the_daemon_keys_and_types(fake):
    info = ResourceMonitor(True, client=Client(fake.path)).collect_resources_info()
    assert_drum_shape(info)
    # The daemon's ints (JSON `100`) become floats; its null cpu_percent becomes 0.0.
    assert info["mem_info"]["total"] == 24000.0
    assert info["mem_info"]["container_limit"] == 2048.0
    assert [p["pid"] for p in info["drum_info"]] == fake.watched_pids + [999_999_991]
    assert info["drum_info"][0]["cpu_percent"] == 0.0
    assert info["drum_info"][1]["cpu_percent"] == 12.5


def test_scope_self_lists_only_the_process_that_built_it(fake):
    fake.watched_pids = [os.getppid(), os.getpid()]
    info = ResourceMonitor(True, scope="self", client=Client(fake.path)).collect_resources_info()
    assert_drum_shape(info)
    assert [p["pid"] for p in info["drum_info"]] == [os.getpid()]
    assert info["mem_info"]["drum_rss"] == 100.0
    assert info["mem_info"]["container_used"] == 1000.0  # the cgroup's figures still come from the daemon


def test_scope_self_reads_itself_when_the_daemon_has_not_seen_it_yet(fake):
    fake.watched_pids = [os.getppid()]  # a new worker: its master is listed, it is not yet
    info = ResourceMonitor(True, scope="self", client=Client(fake.path)).collect_resources_info()
    assert [p["pid"] for p in info["drum_info"]] == [os.getpid()]
    assert info["drum_info"][0]["mem"] > 0
    assert info["mem_info"]["container_limit"] == 2048.0


def test_monitor_current_process_false_lists_the_tree_in_either_scope(fake):
    info = ResourceMonitor(False, scope="self", client=Client(fake.path)).collect_resources_info()
    assert len(info["drum_info"]) == 3


def test_another_target_falls_back_to_this_process(fake, caplog):
    fake.watched_pids = [1]
    monitor = ResourceMonitor(True, client=Client(fake.path))
    with caplog.at_level(logging.WARNING, logger="drum_monitor_client"):
        info = monitor.collect_resources_info()
    assert_drum_shape(info, containers_are_floats=False)
    assert [p["pid"] for p in info["drum_info"]] == [os.getpid()]
    assert "watches another process tree" in caplog.text


def test_the_parent_in_the_tree_counts(fake):
    # werkzeug --max-workers: /stats/ is answered by a per-request child of the listed server.
    fake.watched_pids = [os.getppid()]
    info = ResourceMonitor(True, client=Client(fake.path)).collect_resources_info()
    assert info["mem_info"]["container_limit"] == 2048.0


def test_verify_cmdline_and_off(fake):
    fake.watched_pids = [1]
    own = LocalReader().cmdline(os.getpid())
    fake.stats_document = fake.default_stats()
    fake.stats_document["drum_info"][0]["cmdline"] = own
    info = ResourceMonitor(True, verify="cmdline", client=Client(fake.path)).collect_resources_info()
    assert info["mem_info"]["container_limit"] == 2048.0
    fake.stats_document["drum_info"][0]["cmdline"] = ["something", "else"]
    info = ResourceMonitor(True, verify="cmdline", client=Client(fake.path)).collect_resources_info()
    assert [p["pid"] for p in info["drum_info"]] == [os.getpid()]
    info = ResourceMonitor(True, verify=False, client=Client(fake.path)).collect_resources_info()
    assert info["mem_info"]["container_limit"] == 2048.0


def test_bad_options_are_rejected():
    with pytest.raises(ValueError):
        ResourceMonitor(True, scope="everything")
    with pytest.raises(ValueError):
        ResourceMonitor(True, verify="maybe")


@pytest.mark.parametrize("failure", ["down", "503", "garbage", "no_drum_info", "timeout"])
def test_falls_back_and_never_raises(fake, short_dir, failure):
    client = Client(fake.path, timeout=0.2)
    if failure == "down":
        client = Client(os.path.join(short_dir, "nobody.sock"))
    elif failure == "503":
        fake.routes["/stats/"] = lambda target: (503, {"error": "no sample taken yet"})
    elif failure == "garbage":
        fake.garbage = True
    elif failure == "no_drum_info":
        fake.routes["/stats/"] = lambda target: (200, {"mem_info": {}})
    elif failure == "timeout":
        fake.hold.clear()
    info = ResourceMonitor(True, client=client).collect_resources_info()
    fake.hold.set()
    assert_drum_shape(info, containers_are_floats=False)
    assert [p["pid"] for p in info["drum_info"]] == [os.getpid()]


def test_fallback_warns_once_a_minute_and_recovers(fake, short_dir, caplog, monkeypatch):
    import drum_monitor_client.resource_monitor as rm

    monkeypatch.setattr(rm, "_fallback_log", rm._FallbackLog())
    monitor = ResourceMonitor(True, client=Client(fake.path))
    fake.routes["/stats/"] = lambda target: (503, {"error": "no sample taken yet"})
    with caplog.at_level(logging.INFO, logger="drum_monitor_client"):
        for _ in range(3):
            monitor.collect_resources_info()
        del fake.routes["/stats/"]
        monitor.collect_resources_info()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no sample taken yet" in warnings[0].getMessage()
    assert "answers for this server again" in caplog.text


def test_fallback_on_a_fixture_tree_caps_the_limit_at_memtotal(tmp_path, short_dir):
    from test_local import V1_MOUNTS, host, write

    GiB = 1024 ** 3
    host(tmp_path, total=8 * GiB, available=6 * GiB, free=5 * GiB)
    pid = os.getpid()
    write(tmp_path, "/proc/self/mountinfo", V1_MOUNTS)
    write(tmp_path, "/proc/self/cgroup", "4:memory:/drum\n")
    write(tmp_path, "/proc/{}/stat".format(pid), "{} (python) S 1 1 1 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 1 1 1\n".format(pid))
    write(tmp_path, "/proc/{}/statm".format(pid), "10 256 0 0 0 0 0\n")
    write(tmp_path, "/proc/{}/cmdline".format(pid), "python\0drum\0")
    d = "/sys/fs/cgroup/memory/drum/"
    write(tmp_path, d + "memory.limit_in_bytes", "9223372036854771712")
    write(tmp_path, d + "memory.usage_in_bytes", str(1 * GiB))
    write(tmp_path, d + "memory.max_usage_in_bytes", str(2 * GiB))
    monitor = ResourceMonitor(True, client=Client(os.path.join(short_dir, "none.sock")), local=LocalReader(str(tmp_path)))
    info = monitor.collect_resources_info()
    assert_drum_shape(info)
    mem = info["mem_info"]
    assert mem["total"] == 8192.0
    assert mem["container_limit"] == 8192.0  # unlimited: the host's RAM, not 8796093022207.996
    assert mem["container_used"] == 1024.0
    assert mem["container_max_used"] == 2048.0
    assert mem["avail"] == 6144.0  # min(host available, limit - used)
    assert mem["free"] == 5120.0
    assert info["drum_info"] == [{"pid": pid, "cmdline": ["python", "drum"],
                                  "mem": 256 * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024, "cpu_percent": 0.0}]
    # A limit below the host's headroom bounds avail and free.
    write(tmp_path, d + "memory.limit_in_bytes", str(int(1.5 * GiB)))
    mem = monitor.collect_resources_info()["mem_info"]
    assert (mem["container_limit"], mem["avail"], mem["free"]) == (1536.0, 512.0, 512.0)


def test_fallback_cpu_percent_is_psutils(tmp_path, short_dir):
    """0.0 on the first call, then percent of one CPU since the previous call."""
    monitor = ResourceMonitor(True, client=Client(os.path.join(short_dir, "none.sock")))
    first = monitor.collect_resources_info()["drum_info"][0]["cpu_percent"]
    reader, start = LocalReader(), LocalReader().process(os.getpid())
    assert start is not None and start.cpu_seconds is not None
    while True:  # burn CPU until the kernel has counted two more ticks of it
        now = reader.process(os.getpid())
        if now is not None and now.cpu_seconds is not None and now.cpu_seconds - start.cpu_seconds >= 0.02:
            break
    second = monitor.collect_resources_info()["drum_info"][0]["cpu_percent"]
    assert first == 0.0
    assert second > 0.0


def test_collect_drum_info(fake):
    assert [p["pid"] for p in ResourceMonitor(True, client=Client(fake.path)).collect_drum_info()] == \
        fake.watched_pids + [999_999_991]


def test_labels_as_drum():
    assert (ResourceMonitor.TOTAL_MEMORY_LABEL, ResourceMonitor.AVAILABLE_MEMORY_LABEL,
            ResourceMonitor.FREE_MEMORY_LABEL) == ("Total", "Available", "Free")
