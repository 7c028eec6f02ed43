import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// A filesystem Unix-socket address (`sockaddr_un`), built in one place for the query server, the
/// command-line client and the tests.
public struct UnixSocketAddress: Sendable {
    /// The longest path the kernel takes: `sun_path` holds 108 bytes, the terminating NUL included.
    /// (SwiftNIO's own `SocketAddress` stops at 103; the server binds through this type instead.)
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    public let path: String
    private let address: sockaddr_un

    public struct InvalidPath: Error, CustomStringConvertible {
        public let description: String
    }

    public init(path: String) throws(InvalidPath) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw InvalidPath(description: "the socket path is empty") }
        guard !bytes.contains(0) else { throw InvalidPath(description: "the socket path contains a NUL byte") }
        guard bytes.count <= Self.maxPathBytes else {
            throw InvalidPath(description: "socket path \(path) is too long (\(bytes.count) bytes; Unix sockets allow \(Self.maxPathBytes))")
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        self.path = path
        self.address = address
    }

    /// Calls `body` with the address as the `sockaddr` pointer and length that bind(2) and connect(2) take.
    public func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafePointer(to: address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// A new stream socket (close-on-exec), or the reason there is none.
    public static func streamSocket() throws(Errno) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        return fd
    }

    /// connect(2). (A Unix-socket connect does not wait for the server: it succeeds, or fails with
    /// ENOENT, ECONNREFUSED, EACCES, EAGAIN when the backlog is full, ...)
    public func connect(_ fd: Int32) throws(Errno) {
        let rc = withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 { throw Errno(rawValue: errno) }
    }

    /// bind(2): creates the socket file at `path`.
    public func bind(_ fd: Int32) throws(Errno) {
        let rc = withSockaddr { Glibc.bind(fd, $0, $1) }
        if rc != 0 { throw Errno(rawValue: errno) }
    }
}
