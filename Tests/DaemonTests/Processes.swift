// Subprocesses: the daemon and its helpers started with a clean environment, their exits, and
// what /proc says about them.
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

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
