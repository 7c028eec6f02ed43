// A stand-in for systemd's NOTIFY_SOCKET.
import Foundation
import Synchronization
import Testing
import UnixSocket

#if canImport(Glibc)
import Glibc
#endif

/// Binds an AF_UNIX datagram socket (what systemd's NOTIFY_SOCKET is) and records every message
/// from a background thread, so the sender never blocks on a full queue. When a message with
/// READY=1 arrives, `onReady` runs at once on the receiving thread and its answer is kept with it.
final class NotifyListener: @unchecked Sendable {
    struct Message {
        var index: Int
        var text: String
        var at: Double
        var probe: String?

        var fields: [String: String] {
            var f: [String: String] = [:]
            for line in text.split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { f[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            return f
        }
        func has(_ assignment: String) -> Bool { text.split(separator: "\n").contains { $0 == assignment } }
    }

    let path: String
    private let fd: Int32
    private let state = Mutex<[Message]>([])
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, onReady: (@Sendable () -> String)? = nil) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket(AF_UNIX, SOCK_DGRAM): \(String(cString: strerror(errno)))")
        do { try UnixSocketAddress(path: path).bind(fd) } catch { Issue.record("bind \(path): \(error)"); throw error }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let socketFD = fd
        Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !stopped.load(ordering: .relaxed) {
                let n = buffer.withUnsafeMutableBytes { recv(socketFD, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { continue }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                let at = monotonicSeconds()
                let isReady = text.split(separator: "\n").contains("READY=1")
                let probe = isReady ? onReady?() : nil
                state.withLock { $0.append(Message(index: $0.count, text: text, at: at, probe: probe)) }
            }
            finished.signal()
        }.start()
    }

    var messages: [Message] { state.withLock { $0 } }

    /// The first message at or after index `from` satisfying `match`, waiting up to `timeout`.
    func wait(from: Int = 0, timeout: Double, _ match: (Message) -> Bool) -> Message? {
        poll(timeout: timeout, every: 0.02) { messages.dropFirst(from).first(where: match) }
    }

    func close() {
        if !stopped.exchange(true, ordering: .relaxed) {
            finished.wait()
            Glibc.close(fd)
            unlink(path)
        }
    }

    deinit { close() }
}
