import Foundation
import UnixSocket

#if canImport(Glibc)
import Glibc
#endif

/// A raw Unix-socket client for tests: sends exactly the bytes given, reads what comes back.
public final class RawClient {
    public let fd: Int32

    public init(path: String, receiveTimeout: Double = 5) throws {
        // Connected before `self.fd` is set: a failed init closes its socket here, once (after a
        // throw from a fully initialized object deinit would close the number again, by then
        // perhaps another thread's descriptor).
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ClientError(message: "socket: \(errno)") }
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        do {
            try UnixSocketAddress(path: path).connect(fd)
        } catch {
            close(fd)
            throw ClientError(message: "connect \(path): \(error)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until the peer closes, the timeout passes, or `until` says a full answer is in.
    public func receive(until complete: (([UInt8]) -> Bool)? = nil) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out += buffer[0..<n]
            if let complete, complete(out) { return (out, false) }
        }
    }

    /// One full HTTP response (head + content-length body) off a keep-alive connection.
    public func receiveResponse() -> HTTPAnswer? {
        let (bytes, _) = receive { HTTPAnswer.parse($0) != nil }
        return HTTPAnswer.parse(bytes)
    }

    /// Sends a GET and reads its response (keep-alive).
    public func get(_ target: String, extraHeaders: String = "") -> HTTPAnswer? {
        send("GET \(target) HTTP/1.1\r\nhost: localhost\r\n\(extraHeaders)\r\n")
        return receiveResponse()
    }

    public struct ClientError: Error { public let message: String }
}

public struct HTTPAnswer {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Parses one complete response; nil while incomplete.
    public static func parse(_ bytes: [UInt8]) -> HTTPAnswer? {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == sep }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let c = line.firstIndex(of: ":") {
                headers[line[..<c].lowercased()] = line[line.index(after: c)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let body = Array(bytes[(end + 4)...])
        guard body.count >= length else { return nil }
        return HTTPAnswer(status: status, headers: headers, body: Array(body.prefix(length)))
    }
}
