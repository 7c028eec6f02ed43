import SampleModel

/// `/stats/` in the shape DRUM's own endpoint returns, so its clients keep working:
/// `mem_info` in MiB (floats), `drum_info` per process, `time_info` as DRUM has it without
/// `--show-perf` (drum-monitor does not see predictions).
///
/// Unlike DRUM's: every process of the tree is listed (DRUM lists one gunicorn worker), container
/// values come from the target's cgroup on v1 and v2, and with no cgroup limit `container_limit`
/// is the host's RAM and `avail` stays within what the host has (DRUM reports ~8.8e12 MiB).
enum DrumStats {
    static func mib(_ bytes: Double?) -> Double? { bytes.map { $0 / 1024 / 1024 } }
    static func mib(_ bytes: UInt64?) -> Double? { bytes.map { Double($0) / 1024 / 1024 } }

    static func response(_ context: QueryContext) -> Response {
        guard let (sample, detail) = context.history.latest else {
            return .error(.serviceUnavailable, "no sample taken yet")
        }
        let v = sample.values
        let used = v[.memoryCurrent]
        let limit = v[.memoryLimit]
        let headroom: Double? = used.flatMap { u in limit.map { Swift.max(0, $0 - u) } }
        func bounded(_ host: Double?) -> Double? {
            guard let headroom else { return host }
            guard let host else { return headroom }
            return Swift.min(host, headroom)
        }
        return .json { w in
            w.field("mem_info", object: { w in
                w.field("total", mib(detail.hostTotalBytes))
                w.field("avail", mib(bounded(v[.hostAvailable])))
                w.field("free", mib(bounded(detail.hostFreeBytes.map { Double($0) })))
                w.field("drum_rss", mib(v[.treeRSS]))
                w.field("container_limit", mib(limit))
                w.field("container_max_used", mib(v[.memoryPeak] ?? v[.memoryIntervalPeak]))
                w.field("container_used", mib(used))
            })
            w.field("drum_info", array: { w in
                for p in detail.processes {
                    w.object { w in
                        w.field("pid", Int64(p.pid))
                        w.field("cmdline", array: { w in for arg in p.cmdline { w.value(arg) } })
                        w.field("mem", mib(p.rssBytes))
                        w.field("cpu_percent", p.cpuCores.map { $0 * 100 })
                    }
                }
            })
            w.field("time_info", object: { w in
                w.field("run_predictor_total", object: { w in
                    for key in ["avg", "max", "min", "total"] { w.field(key, nil as Double?) }
                })
            })
        }
    }
}
