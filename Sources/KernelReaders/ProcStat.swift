#if canImport(Glibc)
import Glibc
#endif

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
    /// Where the kernel put argv in the process's memory (fields 48–49, Linux ≥ 3.5): new after
    /// every exec. 0 when not asked for, not shown (no ptrace access) or not in the line.
    public var argStart: UInt64 = 0
    public var argEnd: UInt64 = 0

    public var cpuTicks: UInt64 { utimeTicks &+ stimeTicks }

    public var stateCharacter: Character { Character(UnicodeScalar(state)) }

    /// `throughArgs` also parses fields 48–49 (`argStart`, `argEnd`), ~120 bytes further on.
    /// `withComm: false` leaves `comm` empty: for processes whose name nothing reads (the tree's
    /// workers, re-read every tick), making it a String is a tenth of the parse's instructions.
    public static func parse(_ bytes: Bytes, path: String, throughArgs: Bool = false, withComm: Bool = true) throws(KernelFileError) -> ProcStat {
        // Pointer loops and memchr over the buffer, no slices or arrays: this runs for every
        // process on every tick.
        guard let p = bytes.baseAddress, let openAt = memchr(p, Int32(UInt8(ascii: "(")), bytes.count) else {
            throw KernelFileError.malformed(path, "no '(comm)' in stat line", line: bytes)
        }
        let end = bytes.count
        let open = UnsafePointer(openAt.assumingMemoryBound(to: UInt8.self)) - p
        // The last ')': the kernel writes at most 64 bytes of comm (16 for processes), and nothing
        // after it can be a ')', so look in the 65 bytes after '(' first, then in the whole rest.
        let rest = end - open - 1
        guard rest > 0, let closeAt = memrchr(p + open + 1, Int32(UInt8(ascii: ")")), min(rest, 65))
                ?? memrchr(p + open + 1, Int32(UInt8(ascii: ")")), rest) else {
            throw KernelFileError.malformed(path, "no '(comm)' in stat line", line: bytes)
        }
        let close = UnsafePointer(closeAt.assumingMemoryBound(to: UInt8.self)) - p
        var pidStart = 0, pidEnd = open
        while pidStart < pidEnd, ASCII.isSpace(p[pidStart]) { pidStart += 1 }
        while pidEnd > pidStart, ASCII.isSpace(p[pidEnd - 1]) { pidEnd -= 1 }
        guard let pid = Parse.unsigned(bytes, from: pidStart, to: pidEnd), let pid32 = Int32(exactly: pid) else {
            throw KernelFileError.malformed(path, "bad pid in stat line", line: bytes)
        }
        // The last separator (the line's newline): scanning a field cannot run past it, so the
        // scan needs no bounds check before it.
        var fence = end - 1
        while fence > close, p[fence] > ASCII.space { fence -= 1 }
        // Fields from 3 (state) on, separated by spaces; walked once, parsing only the ones we use.
        var state: UInt8 = 0
        var numbers = (ppid: UInt64(0), utime: UInt64(0), stime: UInt64(0), cutime: UInt64(0), cstime: UInt64(0),
                       threads: UInt64(0), start: UInt64(0), rss: UInt64(0), argStart: UInt64(0), argEnd: UInt64(0))
        var field = 2
        var i = close + 1
        let lastField = throughArgs ? 49 : 24
        while i < end, field < lastField {
            // Bytes up to 0x20 (space, tab, newline, other controls) separate fields: one compare
            // per byte; a control byte inside a number still makes it fail to parse.
            while i < end, p[i] <= ASCII.space { i += 1 }
            let start = i
            if i < fence {
                while p[i] > ASCII.space { i += 1 }
            } else {
                while i < end, p[i] > ASCII.space { i += 1 }
            }
            guard start < i else { break }
            field += 1
            switch field {
            case 3:
                guard i - start == 1 else {
                    throw KernelFileError.malformed(path, "field 3 (state) is not one character", line: bytes[start..<i])
                }
                state = p[start]
            case 4, 14, 15, 16, 17, 20, 22, 24:
                var value = Parse.unsigned(bytes, from: start, to: i)
                // cutime/cstime are signed in the kernel's format; a negative value means 0 here.
                if value == nil, field == 16 || field == 17, p[start] == ASCII.minus,
                   Parse.unsigned(bytes, from: start + 1, to: i) != nil { value = 0 }
                guard let value else {
                    throw KernelFileError.malformed(path, "field \(field) (\(fieldName(field))) is not a number", line: bytes[start..<i])
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
            case 48, 49:
                // Optional extras: a field that is not a number leaves them 0 rather than failing.
                let value = Parse.unsigned(bytes, from: start, to: i) ?? 0
                if field == 48 { numbers.argStart = value } else { numbers.argEnd = value }
            default:
                continue
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
            comm: withComm ? Printable.escape(bytes[(open + 1)..<close]) : "",
            state: state,
            ppid: ppid32,
            utimeTicks: numbers.utime,
            stimeTicks: numbers.stime,
            cutimeTicks: numbers.cutime,
            cstimeTicks: numbers.cstime,
            numThreads: numbers.threads,
            startTimeTicks: numbers.start,
            rssPages: numbers.rss,
            argStart: numbers.argStart,
            argEnd: numbers.argEnd
        )
    }

    private static func fieldName(_ field: Int) -> String {
        switch field {
        case 4: "ppid"
        case 14: "utime"
        case 15: "stime"
        case 16: "cutime"
        case 17: "cstime"
        case 20: "num_threads"
        case 22: "starttime"
        default: "rss"
        }
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

/// glibc's memrchr(3), a GNU extension that Swift's Glibc module does not export.
@_silgen_name("memrchr")
private func memrchr(_ s: UnsafeRawPointer, _ c: Int32, _ n: Int) -> UnsafeMutableRawPointer?
