// Shared helpers for the daemon tests: these tests run the built drum-monitor binary as a
// subprocess and talk to it over its Unix socket, sd_notify datagrams and exit codes.
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Locations

enum Locations {
    /// <repo>: this file is <repo>/Tests/DaemonTests/Support.swift.
    static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the running test bundle (<scratch>/<triple>/debug), whichever scratch
    /// path built it.
    static let testBundleDirectory: String? = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Swift Testing on Linux runs <scratch>/<triple>/debug/<package>PackageTests.xctest;
        // some runners use a helper next to it: either way the binary sits in the same directory.
        return URL(fileURLWithPath: exe).deletingLastPathComponent().path
    }()

    /// The debug drum-monitor under test: $DRUM_MONITOR_BIN, else the one built next to these
    /// tests (same scratch path as the test bundle), else <repo>/.build/debug/drum-monitor.
    static let binaryCandidates: [String] = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["DRUM_MONITOR_BIN"], !env.isEmpty { return [env] }
        if let dir = testBundleDirectory { candidates.append(dir + "/drum-monitor") }
        candidates.append(repoRoot + "/.build/debug/drum-monitor")
        return candidates
    }()

    static let binary: String? = binaryCandidates.first { access($0, X_OK) == 0 }

    static func requireBinary() throws -> String {
        try #require(binary, "drum-monitor binary not found (looked at \(binaryCandidates)); build it or set DRUM_MONITOR_BIN")
    }

    static var staticBinary: String? {
        guard let p = ProcessInfo.processInfo.environment["DRUM_MONITOR_STATIC_BIN"], !p.isEmpty else { return nil }
        return p
    }

    static var drumVenv: String? {
        guard let p = ProcessInfo.processInfo.environment["DRUM_VENV"], !p.isEmpty else { return nil }
        return p
    }

    static let exampleConfig = repoRoot + "/config/drum-monitor.yaml"
    static let serviceUnit = repoRoot + "/systemd/drum-monitor.service"

    /// A program on PATH (or nil).
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

enum Conditions {
    static var isRoot: Bool { geteuid() == 0 }

    /// For `.enabled(if:)`: prints why a test is skipped, then answers.
    static func check(_ ok: Bool, _ reason: @autoclosure () -> String) -> Bool {
        if !ok { print("SKIPPED: \(reason())") }
        return ok
    }
}

// MARK: - Time and polling

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func monotonicMicros() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
}

func pause(_ seconds: Double) {
    usleep(useconds_t(seconds * 1_000_000))
}

/// Polls `body` every `every` seconds until it returns non-nil or `timeout` passes (a bound for
/// a condition, not a synchronisation sleep).
func poll<T>(timeout: Double, every: Double = 0.05, _ body: () throws -> T?) rethrows -> T? {
    let deadline = monotonicSeconds() + timeout
    while true {
        if let v = try body() { return v }
        if monotonicSeconds() >= deadline { return nil }
        pause(every)
    }
}

/// Polls a boolean condition; true when it held before the deadline.
func pollUntil(timeout: Double, every: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    try poll(timeout: timeout, every: every) { try condition() ? true : nil } ?? false
}

// MARK: - Temporary directories

/// mkdtemp(3): the created directory's path, or nil.
func makeTemporaryDirectory(_ template: String) -> String? {
    var bytes = Array(template.utf8CString)
    guard bytes.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { return nil }
    return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh directory under /tmp with a short path (Unix socket paths must stay under 108 bytes).
final class TempDir {
    let path: String

    init(_ tag: String = "dmt") throws {
        path = try #require(makeTemporaryDirectory("/tmp/\(tag).XXXXXX"), "mkdtemp: \(String(cString: strerror(errno)))")
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}

// MARK: - Processes

/// The test runner's environment without anything that would change the daemon's behaviour
/// (systemd's variables, DRUM_MONITOR_*), plus `extra`.
func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("DRUM_MONITOR_") || key.hasPrefix("LISTEN_") || key.hasPrefix("WATCHDOG_")
        || ["NOTIFY_SOCKET", "JOURNAL_STREAM", "INVOCATION_ID"].contains(key) {
        env[key] = nil
    }
    for (k, v) in extra { env[k] = v }
    return env
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A started subprocess (posix_spawn), stdout/stderr going to files (no pipe to fill up). Call
/// `stop()` in a defer: it SIGKILLs the process if it still runs and reaps it.
///
/// Not Foundation's Process: on Linux it learns of an exit through a socket the child inherits, so
/// a child that leaves a background process behind (start-drum.sh) never "exits" for it.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    let executable: String
    let arguments: [String]
    private let logDir: TempDir
    /// The wait status once reaped.
    private let reaped = Mutex<Int32?>(nil)

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        self.executable = executable
        self.arguments = arguments
        logDir = try TempDir("dmt-log")
        stdoutPath = logDir.file("stdout")
        stderrPath = logDir.file("stderr")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        // Whatever the test runner blocks or ignores, the child starts with defaults.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attr, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let env = environment ?? cleanEnvironment()
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var child = pid_t()
        let rc = posix_spawn(&child, executable, &actions, &attr, argv, envp)
        try #require(rc == 0, "posix_spawn \(executable): \(String(cString: strerror(rc)))")
        pid = child
    }

    /// Reaps the child if it has exited (without blocking unless `block`); the wait status.
    @discardableResult
    private func reap(block: Bool) -> Int32? {
        reaped.withLock { status -> Int32? in
            if let status { return status }
            var raw: Int32 = 0
            let r = waitpid(pid, &raw, block ? 0 : WNOHANG)
            if r == pid { status = raw }
            return status
        }
    }

    var isRunning: Bool { reap(block: false) == nil }
    var stdout: String { readWholeFile(stdoutPath) ?? "" }
    var stderr: String { readWholeFile(stderrPath) ?? "" }

    func signal(_ sig: Int32) {
        if isRunning { kill(pid, sig) }
    }

    /// The exit status once the process has exited within `timeout`, else nil. A death by signal
    /// is reported as 128 + signal.
    func waitForExit(timeout: Double) -> Int32? {
        guard pollUntil(timeout: timeout, every: 0.02, { !isRunning }), let raw = reap(block: false) else { return nil }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    func stop() {
        if isRunning {
            kill(pid, SIGKILL)
            reap(block: true)
        }
        logDir.remove()
    }

    var description: String {
        "\(executable) \(arguments.joined(separator: " ")) (pid \(pid))\n--- stderr ---\n\(stderr)\n--- stdout ---\n\(stdout)"
    }

    /// `/bin/sleep 600`: a live pid to watch.
    static func sleeper() throws -> Spawned {
        try Spawned("/bin/sleep", ["600"])
    }
}

/// Runs a program to completion (killed after `timeout` seconds, reported as a failure).
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
         timeout: Double = 120) throws -> RunResult {
    let p = try Spawned(executable, arguments, environment: environment)
    defer { p.stop() }
    guard let status = p.waitForExit(timeout: timeout) else {
        Issue.record("timed out after \(timeout)s: \(p.description)")
        return RunResult(status: -1, stdout: p.stdout, stderr: p.stderr)
    }
    return RunResult(status: status, stdout: p.stdout, stderr: p.stderr)
}

/// A whole file read with read(2) until EOF: /proc files report size 0 or a page, so Foundation's
/// readers may stop early.
func readWholeFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { if errno == EINTR { continue }; return nil }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// /proc/PID/stat ppid of every process: children of `pid`.
func childrenOf(_ pid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var result: [Int32] = []
    for name in entries {
        guard let p = Int32(name), let stat = readWholeFile("/proc/\(p)/stat"),
              let close = stat.range(of: ") ", options: .backwards) else { continue }
        let fields = stat[close.upperBound...].split(separator: " ")
        if fields.count > 1, Int32(fields[1]) == pid { result.append(p) }
    }
    return result.sorted()
}

func comm(_ pid: Int32) -> String? {
    readWholeFile("/proc/\(pid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: - HTTP over a Unix socket or TCP

struct HTTPAnswer {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func json() throws -> [String: Any] {
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
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b } }
        try connect(fd, &addr, to: path)
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
    static func exchange(fd: Int32, method: String, target: String, body: [UInt8] = [], timeout: Int = 10) throws(HTTPError) -> HTTPAnswer {
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if method != "GET" || !body.isEmpty { head += "Content-Length: \(body.count)\r\nContent-Type: text/plain\r\n" }
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

    static func request(port: UInt16, _ method: String, _ target: String, body: [UInt8] = [], timeout: Int = 30) throws(HTTPError) -> HTTPAnswer {
        try exchange(fd: connectTCP(port: port), method: method, target: target, body: body, timeout: timeout)
    }
}

// MARK: - sd_notify receiver

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
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(rc == 0, "bind \(path): \(String(cString: strerror(errno)))")
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

// MARK: - Daemon conveniences

/// A minimal configuration file, so a test never depends on /etc/drum-monitor/drum-monitor.yaml.
func writeConfig(_ dir: TempDir, _ text: String = "log_level: info\n", name: String = "config.yaml") throws -> String {
    try dir.write(name, text)
}

/// Polls GET `target` on `socket` until `accept` likes the answer (or `timeout` passes).
func pollHTTP(_ socket: String, _ target: String, timeout: Double = 30, every: Double = 0.05,
              _ accept: (HTTPAnswer) -> Bool = { $0.status == 200 }) -> HTTPAnswer? {
    poll(timeout: timeout, every: every) {
        guard let answer = try? HTTP.get(unix: socket, target, timeout: 5) else { return nil }
        return accept(answer) ? answer : nil
    }
}

/// The daemon is past its start-up: /healthz is 200 with at least two ticks, so the signal handlers
/// (installed after the first sample) are in place. Tests that are not about start-up races wait
/// for this before signalling.
func waitUntilServing(_ socket: String, timeout: Double = 60) -> HTTPAnswer? {
    pollHTTP(socket, "/healthz", timeout: timeout) { a in a.status == 200 && ((try? a.json())?.int("ticks") ?? 0) >= 2 }
}

func jsonObject(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text)")
}

extension Dictionary where Key == String, Value == Any {
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func int(_ key: String) -> Int? {
        if let v = self[key] as? Int { return v }
        if let v = self[key] as? Double, v == v.rounded() { return Int(v) }
        if let v = self[key] as? NSNumber { return v.intValue }
        return nil
    }
    func double(_ key: String) -> Double? {
        if let v = self[key] as? Double { return v }
        if let v = self[key] as? Int { return Double(v) }
        if let v = self[key] as? NSNumber { return v.doubleValue }
        return nil
    }
    func string(_ key: String) -> String? { self[key] as? String }
    func bool(_ key: String) -> Bool? {
        if let v = self[key] as? Bool { return v }
        if let v = self[key] as? NSNumber { return v.boolValue }
        return nil
    }
    func array(_ key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
}

/// What most daemon tests start from: the binary, a temporary directory, a process to watch
/// and a socket path in that directory. `tearDown()` stops the process and removes the directory.
struct DaemonScene {
    let bin: String
    let dir: TempDir
    let sleeper: Spawned
    var socket: String { dir.file("s.sock") }

    init() throws {
        bin = try Locations.requireBinary()
        dir = try TempDir()
        do { sleeper = try Spawned.sleeper() } catch { dir.remove(); throw error }
    }

    func tearDown() {
        sleeper.stop()
        dir.remove()
    }
}
