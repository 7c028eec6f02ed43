import CSystemd
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// An event as a journal entry: `journalctl MESSAGE_ID=<id>` finds every event of a kind,
/// `journalctl DRUM_EVENT=oom_kill` too, and `DRUM_PID=1234` everything about a process.
/// Per process of the event (victims, the two workers of a replacement, …) the DRUM_PID,
/// DRUM_ROLE, DRUM_RSS_BYTES, DRUM_LIFETIME_SECONDS and DRUM_CMDLINE fields repeat, in the
/// event's order (`journalctl -o json` shows a repeated field as an array).
public enum EventJournal {
    /// Journal priorities (syslog levels).
    static let warning = 4, notice = 5

    public static func fields(_ e: EventRecord) -> [String] {
        var f = [
            "MESSAGE=\(e.message)",
            "MESSAGE_ID=\(e.kind.messageID)",
            "PRIORITY=\(e.kind.isWarning ? warning : notice)",
            "SYSLOG_IDENTIFIER=drum-monitor",
            "DRUM_EVENT=\(e.kind.name)",
            "DRUM_EVENT_SEQUENCE=\(e.sequence)",
            "DRUM_SAMPLE_SEQUENCE=\(e.sampleSequence)",
            "DRUM_GENERATION=\(e.generation)",
        ]
        func add(_ name: String, _ value: (some CustomStringConvertible)?) {
            if let value { f.append("\(name)=\(value)") }
        }
        func seconds(_ nanos: UInt64?) -> Double? { nanos.map { Double($0) / 1e9 } }
        add("CGROUP_MEMORY_CURRENT_BYTES", e.memoryCurrentBytes)
        add("CGROUP_MEMORY_WORKING_SET_BYTES", e.memoryWorkingSetBytes)
        add("CGROUP_MEMORY_LIMIT_BYTES", e.memoryLimitBytes)
        add("CGROUP_MEMORY_LIMIT_SOURCE", e.limitSource)
        add("CGROUP_MEMORY_PREVIOUS_LIMIT_BYTES", e.previousLimitBytes)
        add("CGROUP_MEMORY_PREVIOUS_LIMIT_SOURCE", e.previousLimitSource)
        add("DRUM_COUNT", e.count)
        add("DRUM_THRESHOLD_FRACTION", e.thresholdFraction)
        add("DRUM_DURATION_SECONDS", seconds(e.durationNanos))
        add("DRUM_SLOPE_BYTES_PER_HOUR", e.slopeBytesPerHour.map { Int64($0.rounded()) })
        add("DRUM_TIME_TO_LIMIT_SECONDS", e.timeToLimitSeconds)
        add("DRUM_WINDOW_SECONDS", seconds(e.windowNanos))
        add("DRUM_ROOT_PID", e.kind.isTargetEvent ? e.pid : nil)
        add("DRUM_PREVIOUS_PID", e.previousPid)
        add("DRUM_MODE", e.mode?.rawValue)
        add("DRUM_PREVIOUS_MODE", e.previousMode?.rawValue)
        add("DRUM_REASON", e.reason)
        if e.processes.isEmpty { add("DRUM_PID", e.pid) }
        for p in e.processes {
            f.append("DRUM_PID=\(p.pid)")
            f.append("DRUM_ROLE=\(p.role.rawValue)")
            add("DRUM_RSS_BYTES", p.rssBytes)
            add("DRUM_LIFETIME_SECONDS", seconds(p.lifetimeNanos))
            add("DRUM_GROWTH_BYTES_PER_HOUR", p.growthBytesPerHour.map { Int64($0.rounded()) })
            f.append("DRUM_CMDLINE=\(p.cmdline)")
        }
        if e.moreProcesses > 0 { f.append("DRUM_MORE_PROCESSES=\(e.moreProcesses)") }
        return f
    }

    /// One entry through sd_journal_sendv (sd_journal_send is variadic: not callable from Swift).
    /// Values may hold any bytes, newlines included; libsystemd frames them.
    @Sendable public static func send(_ fields: [String]) -> Int32 {
        // All fields in one buffer, so every iovec points into memory alive for the call.
        var bytes: [UInt8] = []
        var spans: [(offset: Int, count: Int)] = []
        for field in fields {
            spans.append((bytes.count, field.utf8.count))
            bytes.append(contentsOf: field.utf8)
        }
        return bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return -EINVAL }
            let vectors = spans.map { iovec(iov_base: base + $0.offset, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}

extension EventKind {
    /// Events about the DRUM root, whose `pid` is the root's.
    var isTargetEvent: Bool { self == .targetChanged || self == .targetLost || self == .targetFound }
}
