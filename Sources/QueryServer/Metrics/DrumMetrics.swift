import SampleModel

/// The exposition's families, from the latest sample, the cadence and the daemon's sources.
///
/// Conventions (node_exporter, cAdvisor, process-exporter): base units in the name, counters as
/// cumulative totals named `_total` (rates are PromQL's: `rate()` is exact at any scrape interval),
/// gauges for levels, `_info` families for identity. A value that is not known is left out —
/// never NaN, which would turn `sum()` and `avg_over_time()` into NaN — and with no target the
/// target's series are absent (never the daemon's own cgroup under the target's name).
///
/// Labels: the configured ones on every series; DRUM's MLOPS_DEPLOYMENT_ID / MLOPS_MODEL_ID (as
/// `mlops_deployment_id`, `mlops_model_id`) on the target's series while they are known. The
/// daemon's own series (sampler, events, build, process_*, `target_found`) do not carry them, so
/// that a DRUM that stops or changes deployment does not break the daemon's counters into new series.
enum DrumMetrics {
    struct Options {
        /// The daemon's own `process_*`: not in the textfile, where node_exporter has its own.
        var includeProcess = true
    }

    static func families(_ context: QueryContext, _ options: Options = Options()) -> [MetricFamily] {
        let sources = context.metrics
        let common = sources.labels.labels
        var families: [MetricFamily] = []
        func add(_ name: String, _ kind: MetricFamily.Kind, unit: String? = nil, _ help: String,
                 _ samples: [(labels: [(name: String, value: String)], value: Double?)]) {
            let present = samples.compactMap { s in s.value.map { MetricFamily.Sample(labels: common + s.labels, value: $0) } }
            families.append(MetricFamily(name, kind, unit: unit, help: help, samples: present))
        }
        func add(_ name: String, _ kind: MetricFamily.Kind, unit: String? = nil, _ help: String, _ value: Double?,
                 labels: [(name: String, value: String)] = []) {
            add(name, kind, unit: unit, help, [(labels, value)])
        }

        // The daemon itself.
        add("drum_monitor_build_info", .info, "Which drum-monitor is running: its version and the git revision it was built from",
            1, labels: [("version", sources.version), ("revision", sources.revision)])
        let cadence = context.cadence()
        add("drum_monitor_sampler_ticks_total", .counter, "Samples taken since the daemon started", Double(cadence.ticks))
        add("drum_monitor_sampler_late_ticks_total", .counter,
            "Samples taken more than a tenth of an interval after their scheduled time", Double(cadence.lateTicks))
        add("drum_monitor_sampler_missed_ticks_total", .counter,
            "Scheduled samples never taken because the one before overran or the daemon was stopped", Double(cadence.missedTicks))
        add("drum_monitor_sampler_interval_seconds", .gauge, unit: "seconds", "The configured sampling interval",
            Double(context.intervalNanos) / 1e9)
        // Every kind, 0 for those not seen yet: rate() and increase() have a series from the start.
        add("drum_monitor_events_total", .counter,
            "Events detected since the daemon started, by kind (GET /v1/events); a full event ring does not lower it",
            EventKind.allCases.map { (labels: [("kind", $0.name)], value: Double(context.events.count(of: $0))) })
        // The daemon's own process, with the names and help texts every Prometheus client library uses.
        if options.includeProcess, let p = sources.process() {
            add("process_resident_memory_bytes", .gauge, unit: "bytes", "Resident memory size in bytes.", p.residentBytes.map { Double($0) })
            add("process_virtual_memory_bytes", .gauge, unit: "bytes", "Virtual memory size in bytes.", p.virtualBytes.map { Double($0) })
            add("process_cpu_seconds_total", .counter, unit: "seconds", "Total user and system CPU time spent in seconds.", p.cpuSeconds)
            add("process_start_time_seconds", .gauge, unit: "seconds", "Start time of the process since unix epoch in seconds.", p.startTimeSeconds)
            add("process_open_fds", .gauge, "Number of open file descriptors.", p.openFDs.map { Double($0) })
            add("process_max_fds", .gauge, "Maximum number of open file descriptors.", p.maxFDs.map { Double($0) })
        }

        guard let (sample, detail) = context.history.latest else { return families }
        add("drum_monitor_last_sample_timestamp_seconds", .gauge, unit: "seconds",
            "Wall-clock time of the newest sample (Unix seconds); older than a few intervals means sampling stopped",
            Double(sample.wallNanos) / 1e9)
        add("drum_monitor_host_memory_available_bytes", .gauge, unit: "bytes", "The host's MemAvailable",
            sample.values[.hostAvailable])
        let target = detail.target
        add("drum_monitor_target_found", .gauge, "1 while a DRUM server is being watched, 0 while none is found",
            target.found ? 1 : 0)

        // The target: its identity, its cgroup's memory and CPU, its process tree.
        var targetLabels: [(name: String, value: String)] = []
        if let id = target.mlopsDeploymentID { targetLabels.append(("mlops_deployment_id", id)) }
        if let id = target.mlopsModelID { targetLabels.append(("mlops_model_id", id)) }
        func addTarget(_ name: String, _ kind: MetricFamily.Kind, unit: String? = nil, _ help: String, _ value: Double?,
                       labels: [(name: String, value: String)] = []) {
            add(name, kind, unit: unit, help, [(targetLabels + labels, value)])
        }
        if target.found {
            var identity: [(name: String, value: String)] = [("mode", target.mode?.rawValue ?? "pid")]
            if let cgroup = detail.cgroup {
                identity += [("cgroup", cgroup.path), ("cgroup_version", String(cgroup.version))]
            }
            if let pid = target.rootPid { identity.append(("root_pid", String(pid))) }
            identity.append(("generation", String(target.generation)))
            addTarget("drum_monitor_target_info", .info, "The watched DRUM server: how it runs, its cgroup, its root process", 1,
                      labels: identity)
        }
        let v = sample.values
        let c = detail.counters
        addTarget("drum_monitor_memory_current_bytes", .gauge, unit: "bytes", "Memory charged to the watched cgroup", v[.memoryCurrent])
        addTarget("drum_monitor_memory_peak_bytes", .gauge, unit: "bytes", "Highest memory use of the watched cgroup since it was made (v1 max_usage, v2 memory.peak)",
                  v[.memoryPeak])
        addTarget("drum_monitor_memory_interval_peak_bytes", .gauge, unit: "bytes",
                  "Highest memory use within the last sampling interval: what Prometheus cannot see between scrapes (max_over_time of it is the peak over any range)",
                  v[.memoryIntervalPeak])
        addTarget("drum_monitor_memory_limit_bytes", .gauge, unit: "bytes",
                  "Effective memory limit: the smallest over the cgroup and its ancestors (source cgroup or above_mount), else the host's RAM (source host)",
                  v[.memoryLimit], labels: [("source", detail.limitOrigin?.rawValue ?? "cgroup")])
        addTarget("drum_monitor_memory_working_set_bytes", .gauge, unit: "bytes", "Memory use minus inactive file cache (what the kubelet evicts on)",
                  v[.memoryWorkingSet])
        addTarget("drum_monitor_memory_oom_kills_total", .counter, "Processes the OOM killer killed in the watched cgroup (the kernel's count)",
                  v[.memoryOOMKills])
        addTarget("drum_monitor_memory_limit_hits_total", .counter,
                  "Times memory use reached the limit and reclaim ran (v1 memory.failcnt, v2 memory.events max)", v[.memoryLimitHits])
        addTarget("drum_monitor_memory_oom_events_total", .counter,
                  "Times reclaim at the limit failed and the OOM killer was invoked (v2 memory.events oom)", v[.memoryOOMEvents])
        addTarget("drum_monitor_pressure_memory_waiting_seconds_total", .counter, unit: "seconds",
                  "Time some task of the watched cgroup waited for memory (PSI some total, cgroup v2)", c.memoryPressureSomeSeconds)
        addTarget("drum_monitor_pressure_memory_stalled_seconds_total", .counter, unit: "seconds",
                  "Time every task of the watched cgroup was stalled on memory (PSI full total, cgroup v2)", c.memoryPressureFullSeconds)
        addTarget("drum_monitor_tree_cpu_seconds_total", .counter, unit: "seconds",
                  "CPU time of the DRUM process tree, counting children that exited (cutime, cstime); never goes back while the daemon runs",
                  c.treeCPUSeconds)
        addTarget("drum_monitor_cgroup_cpu_seconds_total", .counter, unit: "seconds", "CPU time of the watched cgroup (the kernel's count)",
                  c.cgroupCPUSeconds)
        addTarget("drum_monitor_cgroup_cpu_throttled_seconds_total", .counter, unit: "seconds",
                  "Time the watched cgroup was throttled by its CPU quota", c.cgroupThrottledSeconds)
        addTarget("drum_monitor_cgroup_cpu_periods_total", .counter, "CFS enforcement periods of the watched cgroup with runnable tasks",
                  c.cgroupPeriods.map { Double($0) })
        addTarget("drum_monitor_cgroup_cpu_throttled_periods_total", .counter, "CFS enforcement periods in which the watched cgroup was throttled",
                  c.cgroupThrottledPeriods.map { Double($0) })
        addTarget("drum_monitor_cgroup_cpu_limit_cores", .gauge, unit: "cores",
                  "CPU quota of the watched cgroup in cores (the smallest on the way to the root); absent when unlimited", v[.cpuLimit])
        if target.found {
            var count: [ProcessRole: Int] = [:]
            var rss: [ProcessRole: UInt64] = [:]
            for p in detail.processes {
                count[p.role, default: 0] += 1
                rss[p.role, default: 0] &+= p.rssBytes
            }
            add("drum_monitor_processes", .gauge, "Processes in the DRUM tree, by role",
                ProcessRole.allCases.map { (labels: targetLabels + [("role", $0.rawValue)], value: Double(count[$0] ?? 0)) })
            add("drum_monitor_process_resident_memory_bytes", .gauge, unit: "bytes", "Resident memory of the DRUM tree's processes, summed by role",
                ProcessRole.allCases.map { (labels: targetLabels + [("role", $0.rawValue)], value: Double(rss[$0] ?? 0)) })
        }
        return families
    }
}
