#if canImport(Glibc)
import Glibc
#endif

/// GETs on one kept-alive connection to the daemon (for `top`, which asks several times a
/// second: one connection instead of one per request, so the daemon does no accept and no
/// channel set-up per refresh). Connects on first use and again after the daemon closed the
/// connection; every answer is bounded (head and body).
final class UnixHTTPSession {
    private let client: UnixHTTPClient
    private let maxBody: Int
    private var fd: Int32 = -1

    init(socketPath: String, timeoutSeconds: Int = 5, maxBody: Int = 16 << 20) {
        var client = UnixHTTPClient(socketPath: socketPath)
        client.timeoutSeconds = timeoutSeconds
        self.client = client
        self.maxBody = maxBody
    }

    deinit { disconnect() }

    var socketPath: String { client.socketPath }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    func get(_ target: String) throws(UnixHTTPClient.Failure) -> (status: Int, body: [UInt8]) {
        // A connection kept from before may have been closed by the daemon meanwhile (idle
        // timeout, restart): then the request is sent once more on a new one.
        for attempt in 0..<2 {
            let reused = fd >= 0
            if fd < 0 { fd = try client.connected() }
            switch exchange(target) {
            case .answer(let status, let body, let close):
                if close { disconnect() }
                return (status, body)
            case .closedBeforeAnswer where reused && attempt == 0:
                disconnect()
            case .closedBeforeAnswer:
                disconnect()
                throw UnixHTTPClient.Failure(status: .failure, description: "the daemon at \(socketPath) closed the connection without an answer")
            case .failed(let failure):
                disconnect()
                throw failure
            }
        }
        throw UnixHTTPClient.Failure(status: .failure, description: "the daemon at \(socketPath) closed the connection without an answer")
    }

    private enum Exchange {
        case answer(Int, [UInt8], close: Bool)
        case closedBeforeAnswer
        case failed(UnixHTTPClient.Failure)
    }

    private func exchange(_ target: String) -> Exchange {
        let request = Array("GET \(target) HTTP/1.1\r\nhost: localhost\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            let e = errno
            if e == EINTR { continue }
            if e == EPIPE || e == ECONNRESET { return .closedBeforeAnswer }
            return .failed(.init(status: .failure, description: "cannot send the request to \(socketPath): \(String(cString: strerror(e)))"))
        }
        var reader = ResponseReader(maxBody: maxBody)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == ECONNRESET, reader.isEmpty { return .closedBeforeAnswer }
                let why = e == EAGAIN || e == EWOULDBLOCK ? "no answer within \(client.timeoutSeconds)s" : String(cString: strerror(e))
                return .failed(.init(status: .failure, description: "no answer from \(socketPath): \(why)"))
            }
            if n == 0 {
                if reader.isEmpty { return .closedBeforeAnswer }
                return .failed(.init(status: .failure, description: "the daemon at \(socketPath) closed the connection in the middle of an answer"))
            }
            do {
                if case .done(let status, let body, let close) = try reader.feed(chunk[0..<n]) { return .answer(status, body, close: close) }
            } catch {
                return .failed(.init(status: .failure, description: "malformed answer from \(socketPath): \(error.description)"))
            }
        }
    }
}

/// Reads one HTTP/1.1 answer framed by Content-Length (as the daemon always frames them) from
/// bytes as they arrive. The head may take `maxHead` bytes, the body `maxBody`; anything else
/// (no Content-Length, chunked, a bad status line) is an error, never a guess.
struct ResponseReader {
    enum Outcome: Equatable { case needMore, done(status: Int, body: [UInt8], close: Bool) }
    struct Malformed: Error, Equatable, CustomStringConvertible { let description: String }

    static let maxHead = 16 << 10
    let maxBody: Int
    private var buffer: [UInt8] = []
    private var head: (status: Int, length: Int, close: Bool, bodyStart: Int)?

    init(maxBody: Int) { self.maxBody = maxBody }

    var isEmpty: Bool { buffer.isEmpty }

    mutating func feed(_ bytes: some Collection<UInt8>) throws(Malformed) -> Outcome {
        buffer.append(contentsOf: bytes)
        if head == nil {
            guard let end = Self.headEnd(buffer) else {
                if buffer.count > Self.maxHead { throw Malformed(description: "answer head larger than \(Self.maxHead) bytes") }
                return .needMore
            }
            head = try Self.parseHead(Array(buffer[..<end]), maxBody: maxBody, bodyStart: end + 4)
        }
        guard let head else { return .needMore }
        let have = buffer.count - head.bodyStart
        if have < head.length { return .needMore }
        if have > head.length { throw Malformed(description: "\(have - head.length) bytes after the answer's body") }
        return .done(status: head.status, body: Array(buffer[head.bodyStart...]), close: head.close)
    }

    private static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    private static func parseHead(_ bytes: [UInt8], maxBody: Int, bodyStart: Int) throws(Malformed) -> (status: Int, length: Int, close: Bool, bodyStart: Int) {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = (lines.first ?? "").split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1" || statusParts[0] == "HTTP/1.0",
              statusParts[1].count == 3, let status = Int(statusParts[1]), (100...599).contains(status) else {
            throw Malformed(description: "bad status line '\(TextWidth.fit(String(lines.first ?? ""), 80))'")
        }
        var length: Int?
        var close = statusParts[0] == "HTTP/1.0"
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(description: "header line without ':'") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmed(" \t")
            switch name {
            case "content-length":
                guard !value.isEmpty, value.utf8.count <= 12, value.utf8.allSatisfy({ (48...57).contains($0) }), let n = Int(value) else {
                    throw Malformed(description: "bad content-length '\(TextWidth.fit(value, 40))'")
                }
                guard length == nil || length == n else { throw Malformed(description: "two different content-lengths") }
                guard n <= maxBody else { throw Malformed(description: "answer of \(n) bytes, more than the \(maxBody) allowed") }
                length = n
            case "transfer-encoding":
                throw Malformed(description: "transfer-encoding '\(TextWidth.fit(value, 40))' (the daemon frames answers by content-length)")
            case "connection":
                let tokens = value.lowercased().split(separator: ",").map { $0.trimmed(" \t") }
                if tokens.contains("close") { close = true }
                if tokens.contains("keep-alive") { close = false }
            default:
                break
            }
        }
        guard let length else { throw Malformed(description: "no content-length") }
        return (status, length, close, bodyStart)
    }
}

private extension StringProtocol {
    func trimmed(_ set: String) -> String {
        let drop = Set(set)
        var s = Substring(self)
        while let f = s.first, drop.contains(f) { s.removeFirst() }
        while let l = s.last, drop.contains(l) { s.removeLast() }
        return String(s)
    }
}
