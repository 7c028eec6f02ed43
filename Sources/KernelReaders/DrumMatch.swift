#if canImport(Glibc)
import Glibc
#endif

/// Which DRUM to watch when several run on one host (the `match` setting): discovery considers
/// only DRUM roots that match. One value, two forms told apart by a prefix:
///
/// - `env:NAME=VALUE`: the root's environment sets NAME to exactly VALUE;
/// - anything else (or `argv:TEXT`, for a text that would read as one of the other forms): a
///   substring of the root's command line, argv joined with single spaces.
///
/// A bare `NAME=VALUE` is refused: it reads as either, and guessing wrong would wait forever.
public enum DrumMatch: Sendable, Equatable, CustomStringConvertible {
    /// A substring of the root's command line, or of the `drum` command line that DRUM's
    /// gunicorn or uvicorn master was exec'd from (DRUM keeps it in DRUM_GUNICORN_DRUM_ARGS or
    /// DRUM_UVICORN_DRUM_ARGS), so `--address HOST:PORT` matches before and after the exec.
    case commandLine(String)
    /// NAME set to exactly VALUE in the root's environment.
    case environment(name: String, value: String)

    public static let environmentPrefix = "env:"
    public static let commandLinePrefix = "argv:"
    /// Longer is a mistake, and a value compared whole must fit what is read of one variable.
    public static let maxBytes = 1024

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses the setting's text (not empty: empty means "any DRUM", the caller's case).
    public static func parse(_ text: String) throws(Invalid) -> DrumMatch {
        guard !text.isEmpty else { throw Invalid(description: "is empty") }
        guard text.utf8.count <= maxBytes else {
            throw Invalid(description: "is \(text.utf8.count) bytes long; at most \(maxBytes)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw Invalid(description: "must be one line without control characters, got '\(Printable.escape(Array(text.utf8)))'")
        }
        if text.hasPrefix(environmentPrefix) {
            let rest = text.dropFirst(environmentPrefix.count)
            guard let eq = rest.firstIndex(of: "="), isVariableName(rest[..<eq]) else {
                throw Invalid(description: "env: must be followed by NAME=VALUE (a variable name, '=', the value it must have), got '\(text)'")
            }
            return .environment(name: String(rest[..<eq]), value: String(rest[rest.index(after: eq)...]))
        }
        if text.hasPrefix(commandLinePrefix) {
            let rest = text.dropFirst(commandLinePrefix.count)
            guard !rest.isEmpty else { throw Invalid(description: "argv: must be followed by the text the command line must contain") }
            return .commandLine(String(rest))
        }
        if let eq = text.firstIndex(of: "="), isVariableName(text[..<eq]) {
            throw Invalid(description: "'\(text)' reads as an environment variable or as command-line text: write "
                          + "env:\(text) to match the environment, or argv:\(text) to match the command line")
        }
        return .commandLine(text)
    }

    /// The setting's text that parses back to this match.
    public var text: String {
        switch self {
        case .environment(let name, let value):
            return Self.environmentPrefix + name + "=" + value
        case .commandLine(let s):
            let plain = (try? Self.parse(s)) == self
            return plain ? s : Self.commandLinePrefix + s
        }
    }

    /// What a matching DRUM process is like, for messages: "whose command line contains '…'".
    public var description: String {
        switch self {
        case .commandLine(let s): "whose command line contains '\(s)'"
        case .environment(let name, let value): "whose environment has \(name)=\(value)"
        }
    }

    private static func isVariableName(_ name: Substring) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F
        }
    }
}

/// Whether a DRUM root matches.
public enum MatchVerdict: Sendable, Equatable {
    case matches
    case differs
    /// What decides it could not be read (e.g. EACCES on /proc/PID/environ): the reason.
    case unknown(String)
}

extension DrumDiscovery {
    /// Checks a root found by discovery against `match`: its argv; for DRUM's gunicorn or uvicorn
    /// master, the `drum` argv in its environment too; for `env:`, one variable. At most one read
    /// of /proc/PID/environ, and only when `readEnvironment`.
    public func check(_ root: DiscoveredTarget, against match: DrumMatch) -> MatchVerdict {
        switch match {
        case .commandLine(let text):
            // The argv is shown escaped (Printable): the text is compared in the same form.
            let needle = Array(Printable.escape(Array(text.utf8)).utf8)
            if Self.joined(root.argv, contains: needle) { return .matches }
            guard let variable = DrumCommandLine.argsVariable(for: root.mode) else { return .differs }
            guard readEnvironment else {
                return .unknown("pid \(root.pid) (\(root.mode.rawValue)) keeps DRUM's own arguments in its environment (\(variable)), which read_environment: false leaves unread")
            }
            return readVariable(root.pid, variable) { value in
                let words = ShellWords.split(value) ?? [value]
                return Self.joined(words.map { Printable.escape($0) }, contains: needle)
            }
        case .environment(let name, let value):
            guard readEnvironment else {
                return .unknown("pid \(root.pid): matching its environment needs read_environment: true")
            }
            let wanted = Array(value.utf8)
            return readVariable(root.pid, name) { $0 == wanted }
        }
    }

    /// `decide` on the variable's value; an unset variable differs, an unreadable one is unknown.
    private func readVariable(_ pid: Int32, _ name: String, _ decide: ([UInt8]) -> Bool) -> MatchVerdict {
        do {
            guard let value = try proc.environmentBytes(pid, name) else { return .differs }
            return decide(value) ? .matches : .differs
        } catch {
            // ENOENT/ESRCH: the process exited while being looked at.
            if case .open(let e) = error.kind, e == ENOENT || e == ESRCH { return .differs }
            return .unknown("pid \(pid): whether it matches cannot be told: \(error)")
        }
    }

    /// Whether `words` joined with single spaces contain `needle`.
    static func joined(_ words: [String], contains needle: [UInt8]) -> Bool {
        Substrings.contains(Array(words.joined(separator: " ").utf8), needle)
    }
}

/// Byte substring search in linear time (Knuth–Morris–Pratt): a command line is up to 32 KiB
/// that any user can shape, so no quadratic worst case.
enum Substrings {
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        // failure[i]: the length of the longest proper border of needle[0...i].
        var failure = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in needle.indices.dropFirst() {
            while k > 0, needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure[i] = k
        }
        var matched = 0
        for b in haystack {
            while matched > 0, b != needle[matched] { matched = failure[matched - 1] }
            if b == needle[matched] { matched += 1 }
            if matched == needle.count { return true }
        }
        return false
    }
}

/// POSIX shell words, as Python's `shlex.split` reads them (DRUM writes its arguments with
/// `shlex.join`): blanks separate words; '…' is literal; in "…" a backslash escapes only `"` and
/// `\`; elsewhere a backslash escapes the next byte. Nil for an unterminated quote or escape.
public enum ShellWords {
    public static func split(_ bytes: [UInt8]) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        var word: [UInt8] = []
        var inWord = false
        var i = 0
        let quote: UInt8 = 0x27, dquote: UInt8 = 0x22, backslash: UInt8 = 0x5C
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D:
                if inWord { words.append(word); word = []; inWord = false }
            case quote:
                inWord = true
                guard let end = bytes[(i + 1)...].firstIndex(of: quote) else { return nil }
                word += bytes[(i + 1)..<end]
                i = end
            case dquote:
                inWord = true
                i += 1
                while true {
                    guard i < bytes.count else { return nil }
                    let c = bytes[i]
                    if c == dquote { break }
                    if c == backslash, i + 1 < bytes.count, bytes[i + 1] == dquote || bytes[i + 1] == backslash {
                        i += 1
                    }
                    word.append(bytes[i])
                    i += 1
                }
            case backslash:
                inWord = true
                guard i + 1 < bytes.count else { return nil }
                i += 1
                word.append(bytes[i])
            default:
                inWord = true
                word.append(b)
            }
            i += 1
        }
        if inWord { words.append(word) }
        return words
    }
}
