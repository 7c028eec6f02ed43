#if canImport(Glibc)
import Glibc
#endif

/// The process's environment variables, read from `environ` (no Foundation).
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { env[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            p += 1
        }
        return env
    }
}

/// Writes all of `text` to stderr at once, unbuffered.
public func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = write(2, base + offset, raw.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}
