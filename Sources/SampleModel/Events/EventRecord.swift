/// One event: what happened, when, at which sample, and its structured fields. Every field but
/// the identity is optional: each kind fills the ones that describe it (the API and the journal
/// show only those). A record has a fixed size once stored (`EventRecordLayout`): texts are cut
/// at `maxTextBytes` and at most `maxProcesses` processes are kept, with the count of the rest.
public struct EventRecord: Sendable, Equatable {
    public static let maxProcesses = 16
    /// Command lines, limit sources and reasons are cut at this many bytes of UTF-8.
    public static let maxTextBytes = 256

    /// Assigned when the event is logged: 1, 2, 3, … (0 until then).
    public var sequence: UInt64 = 0
    public var kind: EventKind
    /// Times of the sample the event was detected at.
    public var wallNanos: Int64
    public var monoNanos: UInt64
    public var sampleSequence: UInt64
    /// The target generation of that sample.
    public var generation: UInt32

    /// The watched cgroup's memory: for `oom_kill` as in the sample just before the kill, for the
    /// rest as in the sample the event was detected at.
    public var memoryCurrentBytes: UInt64?
    public var memoryWorkingSetBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    public var limitSource: String?
    /// `limit_changed`: the limit before.
    public var previousLimitBytes: UInt64?
    public var previousLimitSource: String?

    /// How many: OOM kills or limit hits in the interval, ticks missed in a stall, samples in a
    /// row at or above the `memory_high` threshold.
    public var count: UInt64?
    /// `memory_high`: the fraction of the limit the threshold is.
    public var thresholdFraction: Double?
    /// `memory_high_cleared`: how long memory was high; `sampler_stall`: the gap between samples.
    public var durationNanos: UInt64?
    /// `memory_growth`: the working set's trend and when it would reach the limit at that rate.
    public var slopeBytesPerHour: Double?
    public var timeToLimitSeconds: Double?
    public var windowNanos: UInt64?
    /// Target events: the root's pid and how DRUM runs, now and before.
    public var pid: Int32?
    public var previousPid: Int32?
    public var mode: DrumMode?
    public var previousMode: DrumMode?
    /// `target_lost`: why, in the tracker's words.
    public var reason: String?

    /// The processes the event is about (see `EventProcess`), at most `maxProcesses`.
    public private(set) var processes: [EventProcess] = []
    /// Processes left out beyond `maxProcesses`.
    public var moreProcesses: UInt32 = 0

    public init(kind: EventKind, wallNanos: Int64, monoNanos: UInt64, sampleSequence: UInt64, generation: UInt32) {
        self.kind = kind
        self.wallNanos = wallNanos
        self.monoNanos = monoNanos
        self.sampleSequence = sampleSequence
        self.generation = generation
    }

    /// Keeps the first `maxProcesses` (the caller orders them by importance) and counts the rest.
    public mutating func setProcesses(_ all: some Collection<EventProcess>) {
        processes = Array(all.prefix(Self.maxProcesses))
        moreProcesses = UInt32(clamping: all.count - processes.count)
    }

    /// The texts as stored: cut to `maxTextBytes`.
    mutating func cutTexts() {
        limitSource = limitSource.map { Self.cut($0).text }
        previousLimitSource = previousLimitSource.map { Self.cut($0).text }
        reason = reason.map { Self.cut($0).text }
    }

    /// At most `maxTextBytes` of UTF-8, cut before a whole character so the result stays valid.
    public static func cut(_ text: String) -> (text: String, truncated: Bool) {
        let utf8 = text.utf8
        guard utf8.count > maxTextBytes else { return (text, false) }
        var end = utf8.index(utf8.startIndex, offsetBy: maxTextBytes)
        // Back off continuation bytes (10xxxxxx) to the start of the character cut in two.
        while end > utf8.startIndex, utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return (String(decoding: utf8[..<end], as: UTF8.self), true)
    }
}

/// A process an event is about: an OOM victim, a process that exited or started, the two
/// workers of a replacement, the two roots of a target change, a worker whose memory grows.
public struct EventProcess: Sendable, Equatable {
    public var pid: Int32
    public var ppid: Int32
    public var role: ProcessRole
    /// Resident memory; for a process that is gone, the last reading while it was alive.
    public var rssBytes: UInt64?
    /// From its start until the sample that found it gone (exits, OOM victims).
    public var lifetimeNanos: UInt64?
    /// `memory_growth`: the trend of this process's RSS.
    public var growthBytesPerHour: Double?
    /// The arguments joined by spaces, cut at `EventRecord.maxTextBytes`.
    public private(set) var cmdline: String
    public private(set) var cmdlineTruncated: Bool

    public init(pid: Int32, ppid: Int32, role: ProcessRole, rssBytes: UInt64?, lifetimeNanos: UInt64? = nil,
                growthBytesPerHour: Double? = nil, cmdline: String, cmdlineTruncated: Bool = false) {
        self.pid = pid
        self.ppid = ppid
        self.role = role
        self.rssBytes = rssBytes
        self.lifetimeNanos = lifetimeNanos
        self.growthBytesPerHour = growthBytesPerHour
        let cut = EventRecord.cut(cmdline)
        self.cmdline = cut.text
        self.cmdlineTruncated = cmdlineTruncated || cut.truncated
    }

    /// A process as a sample shows it; `lifetimeNanos` when it is known to be gone.
    public init(_ p: SampleDetail.Process, lifetimeNanos: UInt64? = nil) {
        self.init(pid: p.pid, ppid: p.ppid, role: p.role, rssBytes: p.rssBytes, lifetimeNanos: lifetimeNanos,
                  cmdline: p.cmdline.joined(separator: " "))
    }
}
