/// The fields of /proc/PID/stat that drum-monitor uses.
///
/// comm (field 2) is whatever the process set, up to 15 bytes of anything — spaces, parentheses,
/// newlines — so the line is split at the *last* ')' and never at the first.
public struct ProcStat: Sendable, Equatable {
    public var pid: Int32
    /// Raw comm bytes, made printable.
    public var comm: String
    public var state: UInt8
    public var ppid: Int32
    public var utimeTicks: UInt64
    public var stimeTicks: UInt64
    public var cutimeTicks: UInt64
    public var cstimeTicks: UInt64
    public var numThreads: UInt64
    /// Start time in clock ticks after boot: with the pid, identifies a process across pid reuse.
    public var startTimeTicks: UInt64
    public var rssPages: UInt64

    public var cpuTicks: UInt64 { utimeTicks &+ stimeTicks }

    public var stateCharacter: Character { Character(UnicodeScalar(state)) }

    public static func parse(_ bytes: Bytes, path: String) throws(KernelFileError) -> ProcStat {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close else {
            throw KernelFileError.malformed(path, "no '(comm)' in stat line", line: bytes)
        }
        guard let pid = Parse.signed(bytes[bytes.startIndex..<open].trimmingSpace()),
              let pid32 = Int32(exactly: pid) else {
            throw KernelFileError.malformed(path, "bad pid in stat line", line: bytes)
        }
        // Fields from 3 (state) on, separated by single spaces.
        var fields: [Slice<Bytes>] = []
        fields.reserveCapacity(24)
        var i = close + 1
        let end = bytes.endIndex
        while i < end, fields.count < 22 {
            while i < end, ASCII.isSpace(bytes[i]) { i += 1 }
            let start = i
            while i < end, !ASCII.isSpace(bytes[i]) { i += 1 }
            if start < i { fields.append(bytes[start..<i]) }
        }
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count >= 22 else {
            throw KernelFileError.malformed(path, "stat line has \(fields.count + 2) fields, expected at least 24", line: bytes)
        }
        func number(_ field: Int, _ name: String) throws(KernelFileError) -> UInt64 {
            let text = fields[field - 3]
            if let v = Parse.unsigned(text) { return v }
            // cutime/cstime are signed in the kernel's format; a negative value means 0 here.
            if field == 16 || field == 17, let s = Parse.signed(text), s < 0 { return 0 }
            throw KernelFileError.malformed(path, "field \(field) (\(name)) is not a number", line: text)
        }
        guard fields[0].count == 1 else {
            throw KernelFileError.malformed(path, "field 3 (state) is not one character", line: fields[0])
        }
        let ppid = try number(4, "ppid")
        guard let ppid32 = Int32(exactly: ppid) else {
            throw KernelFileError.malformed(path, "field 4 (ppid) out of range", line: fields[1])
        }
        return ProcStat(
            pid: pid32,
            comm: Printable.escape(bytes[(open + 1)..<close]),
            state: fields[0][fields[0].startIndex],
            ppid: ppid32,
            utimeTicks: try number(14, "utime"),
            stimeTicks: try number(15, "stime"),
            cutimeTicks: try number(16, "cutime"),
            cstimeTicks: try number(17, "cstime"),
            numThreads: try number(20, "num_threads"),
            startTimeTicks: try number(22, "starttime"),
            rssPages: try number(24, "rss")
        )
    }
}

/// /proc/PID/cmdline: NUL-separated arguments. Bytes that are not UTF-8 are kept visible as \xNN.
public enum ProcCmdline {
    public static func parse(_ bytes: some Collection<UInt8>) -> [String] {
        var args = Array(bytes).split(separator: 0, omittingEmptySubsequences: false).map { Printable.escape($0) }
        // The kernel ends the list with a NUL, which leaves one empty element behind.
        if args.last == "" { args.removeLast() }
        return args
    }
}

/// /proc/PID/task/TID/children: space-separated child pids.
public enum ProcChildren {
    public static func parse(_ bytes: Bytes, path: String) throws(KernelFileError) -> [Int32] {
        var pids: [Int32] = []
        for word in bytes.split(whereSeparator: ASCII.isSpace) {
            guard let v = Parse.unsigned(word), let pid = Int32(exactly: v) else {
                throw KernelFileError.malformed(path, "expected a pid", line: word)
            }
            pids.append(pid)
        }
        return pids
    }
}
