import SystemPackage

/// An error reading or parsing a kernel file. It always names the file and, for parse errors,
/// the offending content, so an operator can see what the kernel (or a fixture) actually said.
public struct KernelFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case open(errno: Int32)
        case read(errno: Int32)
        case write(errno: Int32)
        case malformed(String)
        case missingKey(String)
    }

    public var path: String
    public var kind: Kind
    /// The offending line or bytes, made printable and cut to a readable length.
    public var content: String?

    public init(path: String, kind: Kind, content: String? = nil) {
        self.path = path
        self.kind = kind
        self.content = content
    }

    public static func malformed(_ path: String, _ what: String, line: some Collection<UInt8>) -> KernelFileError {
        KernelFileError(path: path, kind: .malformed(what), content: Printable.excerpt(line))
    }

    public var description: String {
        let detail: String
        switch kind {
        case .open(let e): detail = "cannot open: \(Self.describe(e))"
        case .read(let e): detail = "cannot read: \(Self.describe(e))"
        case .write(let e): detail = "cannot write: \(Self.describe(e))"
        case .malformed(let what): detail = what
        case .missingKey(let key): detail = "no '\(key)' entry"
        }
        if let content { return "\(path): \(detail): \"\(content)\"" }
        return "\(path): \(detail)"
    }

    /// The system error behind an open, read or write failure (nil for parse errors).
    public var errno: Errno? {
        switch kind {
        case .open(let e), .read(let e), .write(let e): return Errno(rawValue: e)
        case .malformed, .missingKey: return nil
        }
    }

    /// swift-system's text for the code (strerror's), with the number for searching.
    static func describe(_ code: Int32) -> String { "\(Errno(rawValue: code)) (errno \(code))" }
}
