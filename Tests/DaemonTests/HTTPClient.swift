// HTTP/1.1 over a Unix socket (the daemon) or TCP (DRUM's own server), one request per
// connection, read to EOF.
import Foundation
import Testing
import UnixSocket
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

extension HTTPAnswer {
    /// The body as a JSON object, or a test failure naming what came instead.
    func requireJSON() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }
}

struct HTTPError: Error, CustomStringConvertible {
    let description: String
}

enum HTTP {
    static func connectUnix(_ path: String) throws(HTTPError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPError(description: "socket: \(String(cString: strerror(errno)))") }
        do {
            try UnixSocketAddress(path: path).connect(fd)
        } catch {
            close(fd)
            throw HTTPError(description: "connect \(path): \(error)")
        }
        return fd
    }

    static func connectTCP(port: UInt16) throws(HTTPError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPError(description: "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        try connect(fd, &addr, to: "127.0.0.1:\(port)")
        return fd
    }

    /// connect(2) with any sockaddr_* value; closes `fd` and names `peer` on failure.
    private static func connect<Address>(_ fd: Int32, _ addr: inout Address, to peer: String) throws(HTTPError) {
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
        if rc != 0 {
            let e = errno
            close(fd)
            throw HTTPError(description: "connect \(peer): \(String(cString: strerror(e)))")
        }
    }

    /// One request on a connected socket (closed afterwards), `connection: close`, read to EOF.
    static func exchange(fd: Int32, method: String, target: String, body: [UInt8] = [], headers: [String] = [],
                         timeout: Int = 10) throws(HTTPError) -> HTTPAnswer {
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\nContent-Type: text/plain\r\n" }
        for header in headers { head += header + "\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw HTTPError(description: "send: \(String(cString: strerror(errno)))") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 { throw HTTPError(description: "recv: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            response += chunk[0..<n]
        }
        return try parse(response)
    }

    static func parse(_ response: [UInt8]) throws(HTTPError) -> HTTPAnswer {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw HTTPError(description: "no end of headers in \(String(decoding: response, as: UTF8.self))")
        }
        let lines = String(decoding: response[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPError(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(response[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return HTTPAnswer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < data.count {
            guard let lineEnd = (i..<data.count - 1).first(where: { data[$0] == 13 && data[$0 + 1] == 10 }) else { break }
            let sizeText = String(decoding: data[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            out += data[start..<min(start + size, data.count)]
            i = start + size + 2
        }
        return out
    }

    static func get(unix path: String, _ target: String, timeout: Int = 10) throws(HTTPError) -> HTTPAnswer {
        try exchange(fd: connectUnix(path), method: "GET", target: target, timeout: timeout)
    }

    static func request(port: UInt16, _ method: String, _ target: String, body: [UInt8] = [], headers: [String] = [],
                        timeout: Int = 30) throws(HTTPError) -> HTTPAnswer {
        try exchange(fd: connectTCP(port: port), method: method, target: target, body: body, headers: headers, timeout: timeout)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPError(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                Glibc.bind(fd, a, length) == 0 && getsockname(fd, a, &length) == 0
            }
        }
        guard ok else { throw HTTPError(description: "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: addr.sin_port)
    }
}
