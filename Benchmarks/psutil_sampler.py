#!/usr/bin/env python3
"""psutil baseline for drum-monitor's per-tick sampling cost (issue #7).

Does, per call, what DRUM's ResourceMonitor.collect_resources_info() does
(datarobot_drum/drum/resource_monitor.py, datarobot-drum 1.18.1), in its tree-walking
mode (monitor_current_process=False): for the DRUM master and every process of
master.children(recursive=True) -- Process objects cached across calls, as DRUM does,
so cpu_percent() has a previous value -- read pid, cmdline(), memory_info().rss and
cpu_percent(); then psutil.virtual_memory(); then the cgroup v1 memory files
memory.limit_in_bytes / memory.usage_in_bytes / memory.max_usage_in_bytes (DRUM's
"inside docker" branch reads them at /sys/fs/cgroup/memory/; here they are read from
the master's own memory cgroup, which is the tree's cgroup when run outside a container).

usage: psutil_sampler.py --pid MASTER [--calls N] [--interval SECONDS]
output (one line):
  psutil calls=N interval_s=0 procs=9 cpu_us_per_call=X wall_us_per_call=Y vmrss_kb=Z psutil=7.x
cpu_us_per_call = getrusage(RUSAGE_SELF) utime+stime over the measured calls / calls
(imports, setup and one warm-up call are excluded). vmrss_kb is this process's VmRSS
at the end (python + psutil + the cached Process objects).
"""
import argparse
import collections
import os
import resource
import sys
import time

import psutil

MemoryInfo = collections.namedtuple(
    "MemoryInfo",
    "total avail free drum_rss container_limit container_max_used container_used",
)
MB = 1024.0 * 1024.0


def memory_cgroup_dir(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                return "/sys/fs/cgroup/" + ctrls + (path if path != "/" else "")
    return "/sys/fs/cgroup/memory"


class ResourceMonitor:
    """ResourceMonitor with the DRUM process given by pid instead of found via parents()."""

    def __init__(self, drum_pid, mem_sysfs_path):
        self._drum_proc = psutil.Process(drum_pid)
        self._children_procs = {}
        self._mem_sysfs_path = mem_sysfs_path

    def _collect_memory_info_in_docker(self):
        p = self._mem_sysfs_path
        total_mb = int(open(os.path.join(p, "memory.limit_in_bytes")).read()) / MB
        usage_mb = int(open(os.path.join(p, "memory.usage_in_bytes")).read()) / MB
        max_usage_mb = int(open(os.path.join(p, "memory.max_usage_in_bytes")).read()) / MB
        return {"total_mb": total_mb, "usage_mb": usage_mb, "max_usage_mb": max_usage_mb}

    def collect_drum_info(self):
        def get_proc_data(p):
            return {
                "pid": p.pid,
                "cmdline": p.cmdline(),
                "mem": p.memory_info().rss / MB,
                "cpu_percent": p.cpu_percent(),
            }

        drum_info = [get_proc_data(self._drum_proc)]
        new_children = set()
        for child in self._drum_proc.children(recursive=True):
            new_children.add(child.pid)
            if child.pid not in self._children_procs:
                self._children_procs[child.pid] = child
        for child_pid in set(self._children_procs.keys()).difference(new_children):
            self._children_procs.pop(child_pid)
        for child in self._children_procs.values():
            drum_info.append(get_proc_data(child))
        return drum_info

    def collect_resources_info(self):
        drum_info = self.collect_drum_info()
        virtual_mem = psutil.virtual_memory()
        c = self._collect_memory_info_in_docker()
        mem_info = MemoryInfo(
            total=virtual_mem.total / MB,
            avail=c["total_mb"] - c["usage_mb"],
            free=virtual_mem.free / MB,
            drum_rss=sum(i["mem"] for i in drum_info),
            container_limit=c["total_mb"],
            container_max_used=c["max_usage_mb"],
            container_used=c["usage_mb"],
        )
        return {"mem_info": mem_info._asdict(), "drum_info": drum_info}


def vmrss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--interval", type=float, default=0.0)
    a = ap.parse_args()

    mon = ResourceMonitor(a.pid, memory_cgroup_dir(a.pid))
    info = mon.collect_resources_info()  # warm-up (first cpu_percent() returns 0.0)
    nprocs = len(info["drum_info"])
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w0 = time.monotonic()
    nxt = w0
    procs_sum = 0
    for _ in range(a.calls):
        if a.interval > 0:
            nxt += a.interval
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
        info = mon.collect_resources_info()
        procs_sum += len(info["drum_info"])
    w1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"psutil calls={a.calls} interval_s={a.interval:g} procs={procs_sum / a.calls:.1f} "
          f"cpu_us_per_call={cpu * 1e6 / a.calls:.1f} "
          f"utime_us_per_call={(r1.ru_utime - r0.ru_utime) * 1e6 / a.calls:.1f} "
          f"stime_us_per_call={(r1.ru_stime - r0.ru_stime) * 1e6 / a.calls:.1f} "
          f"wall_us_per_call={(w1 - w0) * 1e6 / a.calls:.1f} vmrss_kb={vmrss_kb()} "
          f"psutil={psutil.__version__} python={sys.version.split()[0]} first_procs={nprocs}")


if __name__ == "__main__":
    main()
