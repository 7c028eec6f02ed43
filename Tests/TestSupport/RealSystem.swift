import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Facts about this machine that decide whether a real-kernel test can run.
public enum RealSystem {
    public static var isRoot: Bool { geteuid() == 0 }
    public static let v1Memory = "/sys/fs/cgroup/memory"

    /// Why a real v1-cgroup test cannot run here, or nil if it can.
    public static var v1CgroupUnavailableReason: String? {
        if !isRoot { return "needs root to create cgroups" }
        if !FileManager.default.fileExists(atPath: v1Memory + "/cgroup.procs") { return "no cgroup v1 memory hierarchy at \(v1Memory)" }
        return nil
    }

    public static func skipNote(_ reason: String?, _ test: String) -> Bool {
        if let reason { print("SKIP \(test): \(reason)") }
        return reason == nil
    }

    public static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    public static func readNumber(_ path: String) -> UInt64? { UInt64(read(path).trimmingCharacters(in: .whitespacesAndNewlines)) }

    /// VmRSS of a process from /proc/PID/status, in bytes.
    public static func vmRSS(_ pid: Int32) -> UInt64? {
        for line in read("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { UInt64($0) }
            return kb.map { $0 * 1024 }
        }
        return nil
    }

    /// Polls `condition` until it holds or `seconds` pass; returns whether it held.
    public static func poll(seconds: Double, every: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(UInt32(every * 1e6))
        }
        return try condition()
    }
}

/// A v1 memory (+ cpu, cpuacct) cgroup made for one test and removed after it, with every process
/// in it killed first, also when the test fails.
public final class TestCgroup {
    public let name: String
    public var memoryDir: String { RealSystem.v1Memory + "/" + name }
    public var cgroupPath: String { "/" + name }
    private var dirs: [String] = []

    public init(limitBytes: UInt64?) throws {
        name = "drum-monitor-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for controller in ["memory", "cpu", "cpuacct"] {
            let dir = "/sys/fs/cgroup/\(controller)/\(name)"
            guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)") else { continue }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            dirs.append(dir)
        }
        if let limitBytes { try write("memory.limit_in_bytes", "\(limitBytes)") }
    }

    public func write(_ file: String, _ value: String, controller: String = "memory") throws {
        try value.write(toFile: "/sys/fs/cgroup/\(controller)/\(name)/\(file)", atomically: false, encoding: .utf8)
    }

    /// Shell code that moves the shell into this cgroup (every controller); then `exec` the rest.
    public var enterCommand: String {
        dirs.map { "echo $$ > \($0)/cgroup.procs" }.joined(separator: " && ")
    }

    /// Moves `pid` into this cgroup in the given controllers' hierarchies (all of them by default).
    public func move(_ pid: Int32, controllers: [String] = ["memory", "cpu", "cpuacct"]) throws {
        for controller in controllers where dirs.contains("/sys/fs/cgroup/\(controller)/\(name)") {
            try write("cgroup.procs", "\(pid)", controller: controller)
        }
    }

    /// Removes the cgroup's directories (it must be empty), as `rmdir` would.
    public func remove() throws {
        for dir in dirs where rmdir(dir) != 0 && errno != ENOENT {
            throw CgroupError(message: "rmdir \(dir): errno \(errno)")
        }
    }

    /// Makes the directories again after `remove()`: the same path, a new cgroup.
    public func recreate(limitBytes: UInt64?) throws {
        for dir in dirs { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false) }
        if let limitBytes { try write("memory.limit_in_bytes", "\(limitBytes)") }
    }

    public struct CgroupError: Error { public let message: String }

    public func pids() -> [Int32] {
        RealSystem.read(memoryDir + "/cgroup.procs").split(separator: "\n").compactMap { Int32($0) }
    }

    deinit {
        for _ in 0..<100 {
            let pids = pids()
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        for dir in dirs { rmdir(dir) }
    }
}

/// A child process (through /bin/sh) killed with its process group when released.
public final class TestProcess {
    public let process = Process()
    public let stdout = Pipe()

    public init(shell command: String, environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = stdout
        if let environment { process.environment = environment }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    /// Reads one line of the child's stdout (e.g. a "ready" handshake).
    public func readLine() -> String? {
        var line: [UInt8] = []
        let handle = stdout.fileHandleForReading
        while true {
            let byte = handle.readData(ofLength: 1)
            guard let b = byte.first else { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if b == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(b)
        }
    }

    deinit {
        if process.isRunning {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Python used by the real-process tests (a process tree that allocates or burns CPU on cue).
public enum TestPython {
    public static var executable: String {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "python3"
    }
}
