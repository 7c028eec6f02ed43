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
        // Fields from 3 (state) on, separated by spaces; walked once, keeping the ones we use
        // (no array of fields: this runs for every process on every tick).
        var state: UInt8 = 0
        var numbers = (ppid: UInt64(0), utime: UInt64(0), stime: UInt64(0), cutime: UInt64(0), cstime: UInt64(0),
                       threads: UInt64(0), start: UInt64(0), rss: UInt64(0))
        var field = 2
        var i = close + 1
        let end = bytes.endIndex
        while i < end, field < 24 {
            while i < end, ASCII.isSpace(bytes[i]) { i += 1 }
            let start = i
            while i < end, !ASCII.isSpace(bytes[i]) { i += 1 }
            guard start < i else { break }
            field += 1
            let text = bytes[start..<i]
            if field == 3 {
                guard text.count == 1 else {
                    throw KernelFileError.malformed(path, "field 3 (state) is not one character", line: text)
                }
                state = text[start]
                continue
            }
            let name: String
            switch field {
            case 4: name = "ppid"
            case 14: name = "utime"
            case 15: name = "stime"
            case 16: name = "cutime"
            case 17: name = "cstime"
            case 20: name = "num_threads"
            case 22: name = "starttime"
            case 24: name = "rss"
            default: continue
            }
            var value = Parse.unsigned(text)
            // cutime/cstime are signed in the kernel's format; a negative value means 0 here.
            if value == nil, field == 16 || field == 17, let v = Parse.signed(text), v < 0 { value = 0 }
            guard let value else {
                throw KernelFileError.malformed(path, "field \(field) (\(name)) is not a number", line: text)
            }
            switch field {
            case 4: numbers.ppid = value
            case 14: numbers.utime = value
            case 15: numbers.stime = value
            case 16: numbers.cutime = value
            case 17: numbers.cstime = value
            case 20: numbers.threads = value
            case 22: numbers.start = value
            default: numbers.rss = value
            }
        }
        guard field >= 24 else {
            throw KernelFileError.malformed(path, "stat line has \(field) fields, expected at least 24", line: bytes)
        }
        guard let ppid32 = Int32(exactly: numbers.ppid) else {
            throw KernelFileError.malformed(path, "field 4 (ppid) out of range", line: bytes)
        }
        return ProcStat(
            pid: pid32,
            comm: Printable.escape(bytes[(open + 1)..<close]),
            state: state,
            ppid: ppid32,
            utimeTicks: numbers.utime,
            stimeTicks: numbers.stime,
            cutimeTicks: numbers.cutime,
            cstimeTicks: numbers.cstime,
            numThreads: numbers.threads,
            startTimeTicks: numbers.start,
            rssPages: numbers.rss
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
        try parse(bytes, path: path, into: &pids)
        return pids
    }

    public static func parse(_ bytes: Bytes, path: String, into pids: inout [Int32]) throws(KernelFileError) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            while i < bytes.endIndex, ASCII.isSpace(bytes[i]) { i += 1 }
            let start = i
            while i < bytes.endIndex, !ASCII.isSpace(bytes[i]) { i += 1 }
            guard start < i else { break }
            guard let v = Parse.unsigned(bytes[start..<i]), let pid = Int32(exactly: v) else {
                throw KernelFileError.malformed(path, "expected a pid", line: bytes[start..<i])
            }
            pids.append(pid)
        }
    }
}
