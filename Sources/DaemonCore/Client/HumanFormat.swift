import SampleModel

/// Text a person reads: memory in MiB/GiB with percent of the limit, CPU in cores, tables.
enum HumanFormat {
    static func bytes(_ v: Double?) -> String { v.map { ByteText.format($0) } ?? "n/a" }
    static func cores(_ v: Double?) -> String { v.map { cores2($0) } ?? "n/a" }
    static func cores2(_ v: Double) -> String {
        guard v.isFinite, abs(v) < 1e15, let hundredths = Int(exactly: (v * 100).rounded()) else { return v.isFinite ? "\(v)" : "n/a" }
        let frac = abs(hundredths % 100)
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
    static func percent(_ part: Double?, of whole: Double?) -> String {
        guard let part, let whole, whole > 0 else { return "" }
        return " (\(wholeText(part / whole * 100))%)"
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func snapshot(_ s: SnapshotDocument) -> String {
        var out: [String] = []
        if s.target.found, let pid = s.target.root_pid {
            out.append("target      \(s.target.mode ?? "pid") pid \(pid) (generation \(s.target.generation), \(s.target.process_count) processes)")
        } else {
            out.append("target      none: \(s.target.message ?? "no DRUM process found")")
        }
        out.append("cgroup      \(s.cgroup.path ?? "n/a")\(s.cgroup.version.map { " (v\($0))" } ?? "")")
        let m = s.memory
        out.append("memory      \(bytes(m.current_bytes)) of \(bytes(m.limit_bytes))\(percent(m.current_bytes, of: m.limit_bytes))  limit from \(m.limit_source ?? "n/a")")
        let exact = m.interval_peak_exact.map { $0 ? " (exact)" : " (lower bound)" } ?? ""
        out.append("  peak      \(bytes(m.peak_bytes))   interval peak \(bytes(m.interval_peak_bytes))\(exact)")
        out.append("  working   \(bytes(m.working_set_bytes))   OOM kills \(m.oom_kills.map(wholeText) ?? "n/a")")
        out.append("host        \(bytes(m.host_total_bytes)) total, \(bytes(m.host_available_bytes)) available")
        let c = s.cpu
        let throttled = c.throttled_fraction.map { "\(wholeText($0 * 100))%" } ?? "n/a"
        out.append("cpu         tree \(cores(c.tree_cores)) cores   cgroup \(cores(c.cgroup_cores)) cores   limit \(c.limit_cores.map(cores2) ?? "none")   throttled \(throttled)")
        if !s.processes.isEmpty {
            out.append("")
            out.append(pad("PID", 8) + pad("PPID", 8) + pad("ROLE", 8) + pad("RSS", 12) + pad("CPU", 7) + "CMDLINE")
            for p in s.processes {
                out.append(pad(String(p.pid), 8) + pad(String(p.ppid), 8) + pad(p.role, 8) + pad(bytes(p.rss_bytes), 12)
                           + pad(cores(p.cpu_cores), 7) + p.cmdline)
            }
        }
        if !s.unavailable.isEmpty {
            out.append("")
            out.append("not available:")
            for (k, why) in s.unavailable.sorted(by: { $0.key < $1.key }) { out.append("  \(k): \(why)") }
        }
        return out.joined(separator: "\n")
    }

    static func window(_ w: WindowDocument) -> String {
        var out: [String] = []
        var span = "last \(w.window.samples_requested ?? 0) samples"
        if let seconds = w.window.seconds { span = "last " + DurationText.format(seconds: seconds) }
        if let from = w.window.from, let to = w.window.to { span = "\(from) to \(to)" }
        var seq = ""
        if let from = w.window.from_sequence { seq = " seq \(from)..\(w.window.to_sequence ?? from)" }
        let coverage = w.window.covered ? "" : " — not all of it is in the history (before the oldest sample, not sampled yet, or while the daemon was down)"
        out.append("window " + span + ": \(w.window.samples) samples" + seq + coverage)
        out.append(pad("FIELD", 30) + pad("MAX", 13) + pad("AT", 26) + pad("MIN", 13) + pad("AVG", 13) + "LAST")
        for metric in Metric.allCases {
            guard let s = w.fields[metric.name] else { continue }
            let isBytes = metric.name.hasSuffix("_bytes")
            func f(_ v: Double?) -> String {
                if isBytes { return bytes(v) }
                if metric.isInteger { return v.map(wholeText) ?? "n/a" }
                return cores(v)
            }
            var line = pad(metric.name, 30) + pad(f(s.max), 13)
            line += pad(s.max_time ?? "", 26) + pad(f(s.min), 13)
            line += pad(f(s.avg), 13) + f(s.last)
            out.append(line)
        }
        return out.joined(separator: "\n")
    }

    static func health(_ h: HealthDocument) -> String {
        let age = h.last_sample_age_seconds.map { "\(cores2($0)) s ago" } ?? "none yet"
        let ms: (Double?) -> String = { $0.map { cores2($0 * 1000) + " ms" } ?? "n/a" }
        return """
        \(h.status): last sample \(age), interval \(DurationText.format(seconds: h.interval_seconds))
        ticks \(h.ticks), late \(h.late_ticks), missed \(h.missed_ticks); lateness p50 \(ms(h.lateness_seconds.p50)), p99 \(ms(h.lateness_seconds.p99)), max \(ms(h.lateness_seconds.max))
        history \(h.samples_held) of \(h.capacity) samples
        """
    }

    static func samples(_ d: SamplesDocument) -> String {
        let wanted = ["sequence", "memory_current_bytes", "memory_interval_peak_bytes", "memory_limit_bytes", "tree_cpu_cores", "process_count"]
        let columns = wanted.compactMap { name in d.fields.firstIndex(of: name).map { (name, $0) } }
        var out = [columns.map { pad($0.0, $0.0 == "sequence" ? 10 : 28) }.joined()]
        for row in d.samples {
            out.append(columns.map { name, i in
                let v = i < row.count ? row[i] : nil
                let text = name.hasSuffix("_bytes") ? bytes(v) : name == "tree_cpu_cores" ? cores(v) : v.map(wholeText) ?? "n/a"
                return pad(text, name == "sequence" ? 10 : 28)
            }.joined())
        }
        if d.truncated { out.append("(older samples after the requested sequence were already dropped)") }
        return out.joined(separator: "\n")
    }

    static func stats(_ s: StatsDocument) -> String {
        var out: [String] = []
        for key in ["total", "avail", "free", "drum_rss", "container_limit", "container_max_used", "container_used"] {
            let v = s.mem_info[key] ?? nil
            out.append(pad(key, 20) + (v.map { cores2($0) + " MiB" } ?? "n/a"))
        }
        out.append("")
        out.append(pad("PID", 8) + pad("MEM", 14) + pad("CPU%", 8) + "CMDLINE")
        for p in s.drum_info {
            out.append(pad(String(p.pid), 8) + pad(p.mem.map { cores2($0) + " MiB" } ?? "n/a", 14)
                       + pad(p.cpu_percent.map(cores2) ?? "n/a", 8) + p.cmdline.joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }
}
