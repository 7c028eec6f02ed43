/// The one-line text of an event for people (the API's `message`, the journal's MESSAGE, the
/// log line), written from the record's fields so it can never disagree with them.
extension EventRecord {
    public var message: String {
        switch kind {
        case .oomKill: oomKillMessage
        case .processExit:
            processes.first.map { p in
                "\(p.role.rawValue) \(p.pid) exited" + (p.lifetimeNanos.map { " after \(Self.seconds($0))" } ?? "")
                    + (p.rssBytes.map { " (last RSS \(ByteText.format($0)))" } ?? "")
            } ?? "a process exited"
        case .processStart:
            processes.first.map { "\($0.role.rawValue) \($0.pid) started: \($0.cmdline)" } ?? "a process started"
        case .workerReplaced:
            if processes.count >= 2 {
                "worker \(processes[0].pid) replaced by \(processes[1].pid)"
                    + (processes[0].lifetimeNanos.map { "; the old one lived \(Self.seconds($0))" } ?? "")
                    + (processes[0].rssBytes.map { ", last RSS \(ByteText.format($0))" } ?? "")
            } else {
                "a worker was replaced"
            }
        case .targetChanged:
            if let pid, pid == previousPid {
                "DRUM root \(pid) exec'd: now \(mode?.rawValue ?? "?")" + (processes.last.map { ": \($0.cmdline)" } ?? "")
            } else {
                "DRUM root changed from \(Self.root(previousPid, previousMode)) to \(Self.root(pid, mode))"
            }
        case .targetLost:
            "lost DRUM root \(Self.root(pid, mode))" + (reason.map { ": \($0)" } ?? "")
        case .targetFound:
            "watching DRUM root \(Self.root(pid, mode))" + (processes.first.map { ": \($0.cmdline)" } ?? "")
        case .limitHit:
            "memory reached the limit\(limitText) and reclaim ran" + (count.map { " (\($0) times in one interval)" } ?? "")
                + (memoryCurrentBytes.map { "; usage \(ByteText.format($0))" } ?? "")
        case .limitChanged:
            "memory limit changed from \(Self.bytes(previousLimitBytes))\(Self.source(previousLimitSource)) to "
                + "\(Self.bytes(memoryLimitBytes))\(Self.source(limitSource))"
        case .memoryHigh:
            "\(highMetricText) is at or above \(percent(thresholdFraction)) of the \(Self.bytes(memoryLimitBytes)) limit"
                + (count.map { " for \($0) samples" } ?? "")
        case .memoryHighCleared:
            "\(highMetricText) fell back below \(percent(thresholdFraction)) of the \(Self.bytes(memoryLimitBytes)) limit"
                + (durationNanos.map { " after \(Self.seconds($0))" } ?? "")
        case .samplerStall:
            "no sample for \(durationNanos.map(Self.seconds) ?? "?")" + (count.map { " (\($0) ticks missed)" } ?? "")
        case .memoryGrowth: growthMessage
        case .daemonRestarted:
            "daemon restarted" + (durationNanos.map { "; no samples for \(Self.seconds($0))" } ?? "")
                + (count.map { "; \($0) samples kept from before" } ?? "")
        }
    }

    private var oomKillMessage: String {
        let kills = (count ?? 1) == 1 ? "OOM kill" : "\(count ?? 1) OOM kills"
        let memory = memoryCurrentBytes.map { current in
            " (memory \(ByteText.format(current))" + (memoryLimitBytes.map { " of \(ByteText.format($0))" } ?? "") + " just before)"
        } ?? ""
        guard !processes.isEmpty else { return "\(kills) in the cgroup\(memory); the victim was outside the DRUM tree" }
        let victims = processes.map { p in
            "\(p.role.rawValue) \(p.pid)" + (p.rssBytes.map { " (RSS \(ByteText.format($0)))" } ?? "")
        }.joined(separator: ", ") + (moreProcesses > 0 ? " and \(moreProcesses) more" : "")
        return "\(kills)\(memory): \(victims) \(processes.count + Int(moreProcesses) == 1 ? "was" : "were") killed"
    }

    private var growthMessage: String {
        let rate = slopeBytesPerHour.map { ByteText.format($0) + "/h" } ?? "?"
        var text = "memory grows \(rate)"
        if let t = timeToLimitSeconds { text += "; reaches the \(Self.bytes(memoryLimitBytes)) limit in about \(DurationText.human(seconds: t))" }
        if let fastest = processes.first, let g = fastest.growthBytesPerHour {
            text += " (fastest: \(fastest.role.rawValue) \(fastest.pid), \(ByteText.format(g))/h)"
        }
        return text
    }

    /// " (2 GiB)" or "".
    private var limitText: String { memoryLimitBytes.map { " (\(ByteText.format($0)))" } ?? "" }

    private var highMetricText: String { memoryWorkingSetBytes.map { "working set \(ByteText.format($0))" } ?? memoryCurrentBytes.map { "memory \(ByteText.format($0))" } ?? "memory" }

    private func percent(_ fraction: Double?) -> String { fraction.map { wholeText($0 * 100) + "%" } ?? "?" }

    private static func root(_ pid: Int32?, _ mode: DrumMode?) -> String {
        (pid.map(String.init) ?? "?") + (mode.map { " (\($0.rawValue))" } ?? "")
    }

    private static func bytes(_ b: UInt64?) -> String { b.map(ByteText.format) ?? "?" }

    private static func source(_ s: String?) -> String { s.map { " (\($0))" } ?? "" }

    private static func seconds(_ nanos: UInt64) -> String { DurationText.human(seconds: Double(nanos) / 1e9) }
}
