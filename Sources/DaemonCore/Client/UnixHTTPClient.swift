import UnixSocket

#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 GET over a Unix socket, for `drum-monitor query`: one request,
/// `connection: close`, body read to EOF or content-length. The daemon side is SwiftNIO.
public struct UnixHTTPClient: Sendable {
    public let socketPath: String
    public var timeoutSeconds = 10

    public init(socketPath: String) { self.socketPath = socketPath }

    public struct Failure: Error, CustomStringConvertible {
        /// How `query` exits for it.
        public var status: ExitStatus = .notRunning
        public let description: String
    }

    public func get(_ target: String) throws(Failure) -> (status: Int, body: [UInt8]) {
        let fd = try connected()
        defer { close(fd) }
        let request = Array("GET \(target) HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".utf8)
        try send(request, on: fd)
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw Failure(status: .failure, description: "no answer from \(socketPath): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response += chunk[0..<n]
            if response.count > 64 << 20 { throw Failure(status: .failure, description: "answer larger than 64 MiB") }
        }
        return try parse(response)
    }

    /// A socket connected to the daemon, with send and receive timeouts (the caller closes it).
    func connected() throws(Failure) -> Int32 {
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: socketPath) } catch { throw Failure(status: .usage, description: error.description) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(status: .failure, description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        do { try address.connect(fd) } catch {
            close(fd)
            throw QueryOutcome.connectFailure(socketPath, errno: error.rawValue)
        }
        return fd
    }

    func send(_ request: [UInt8], on fd: Int32) throws(Failure) {
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(status: .failure, description: "cannot send the request: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func parse(_ response: [UInt8]) throws(Failure) -> (status: Int, body: [UInt8]) {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            // The daemon closes at once when it cannot take a connection (older versions, without a 503).
            throw Failure(status: .failure, description: response.isEmpty
                ? "the daemon at \(socketPath) closed the connection without an answer (too many connections?)"
                : "malformed answer from \(socketPath) (no end of headers)")
        }
        let head = String(decoding: response[..<headEnd], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n", maxSplits: 1).first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            throw Failure(status: .failure, description: "malformed status line from \(socketPath): \(statusLine)")
        }
        return (status, Array(response[(headEnd + 4)...]))
    }
}
