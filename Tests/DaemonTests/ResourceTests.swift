// The daemon against the resources of its host (issue 11 items 9, 20, 25, 26): the memory its
// history needs, open-file limits, the longest socket path, a stall seen by /healthz.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("resources")
struct ResourceTests {
    /// `--interval 10ms` with the default retention needs far more than a 40 MiB cgroup allows:
    /// the daemon says so, with the figure, and exits before allocating (it was OOM-killed
    /// without a log line). Counted as memory: a history without a file (all private) and one
    /// whose file is on tmpfs (its pages are memory charged to the daemon's cgroup).
    @Test(.enabled(if: Conditions.check(RealSystem.v1CgroupUnavailableReason == nil, RealSystem.v1CgroupUnavailableReason ?? "")),
          arguments: ["none", "tmpfs"])
    func historyTooLargeForTheDaemonsCgroupIsRefused(_ file: String) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        var historyFile = "none"
        if file == "tmpfs" {
            let mountPoint = scene.dir.file("tmpfs")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
            try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=256m") == 0, "cannot mount a tmpfs: \(String(cString: strerror(errno)))")
            historyFile = mountPoint + "/h.history"
        }
        defer { if file == "tmpfs" { umount2(scene.dir.file("tmpfs"), Int32(MNT_DETACH)) } }
        let cgroup = try TestCgroup(limitBytes: 40 << 20)
        let config = try writeConfig(scene.dir)
        let command = "\(cgroup.enterCommand) && exec \(scene.bin) serve --config \(config) --socket \(scene.socket) --interval 10ms --pid \(scene.sleeper.pid) --history-file \(historyFile)"
        let daemon = try Spawned("/bin/sh", ["-c", command])
        defer { daemon.stop() }
        let status = daemon.waitForExit(timeout: 60)
        #expect(status == 2, "exit \(status.map(String.init) ?? "none (still running)"): \(daemon.description)")
        let oomKills = RealSystem.read(cgroup.memoryDir + "/memory.oom_control").split(separator: "\n")
            .first { $0.hasPrefix("oom_kill ") }.flatMap { UInt64($0.split(separator: " ")[1]) }
        #expect(oomKills == 0, "the daemon was OOM-killed: \(daemon.description)")
        let log = daemon.stderr
        // 360,000 samples: the message names the need in MiB and the cgroup's limit.
        #expect(log.contains("360000 samples"), "\(log)")
        #expect(log.contains("MiB") && log.contains("40.0 MiB"), "no figures in: \(log)")
        #expect(log.contains(cgroup.cgroupPath), "the cgroup is not named: \(log)")
        #expect(log.contains(file == "tmpfs" ? "on tmpfs, which is memory" : "private (no history file)"), "\(log)")
        #expect(access(scene.socket, F_OK) != 0, "it started serving anyway")
        #expect(file == "none" || access(historyFile, F_OK) != 0, "the history file was made anyway")
    }

    /// The same history with its file on a disk: the slots and event records are page cache the
    /// kernel can write back and reclaim, so only the private part is weighed against the cgroup's
    /// limit — and the daemon runs in it.
    @Test(.enabled(if: Conditions.check(RealSystem.v1CgroupUnavailableReason == nil, RealSystem.v1CgroupUnavailableReason ?? "")))
    func aHistoryFileOnDiskIsNotCountedAsMemory() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let kind = try run("/usr/bin/stat", ["-f", "-c", "%T", scene.dir.path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard kind != "tmpfs" && kind != "ramfs" else {
            print("SKIP aHistoryFileOnDiskIsNotCountedAsMemory: \(scene.dir.path) is on \(kind), not a disk")
            return
        }
        let cgroup = try TestCgroup(limitBytes: 40 << 20)
        let config = try writeConfig(scene.dir)
        let command = "\(cgroup.enterCommand) && exec \(scene.bin) serve --config \(config) --socket \(scene.socket) --interval 10ms --pid \(scene.sleeper.pid)"
        let daemon = try Spawned("/bin/sh", ["-c", command])
        defer { daemon.stop() }
        try #require(pollHTTP(scene.socket, "/healthz", timeout: 60) { ($0.json?.int("ticks") ?? 0) >= 50 } != nil, "\(daemon.description)")
        #expect(daemon.stderr.contains("(page cache the kernel can reclaim: not counted)"), "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// The same daemon with a retention that fits starts in that cgroup and says what it holds.
    @Test(.enabled(if: Conditions.check(RealSystem.v1CgroupUnavailableReason == nil, RealSystem.v1CgroupUnavailableReason ?? "")))
    func historyThatFitsStarts() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let cgroup = try TestCgroup(limitBytes: 40 << 20)
        let config = try writeConfig(scene.dir)
        let command = "\(cgroup.enterCommand) && exec \(scene.bin) serve --config \(config) --socket \(scene.socket) --interval 10ms --retention 10s --pid \(scene.sleeper.pid)"
        let daemon = try Spawned("/bin/sh", ["-c", command])
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
        #expect(daemon.stderr.contains("1000 samples"), "\(daemon.stderr)")
    }

    /// A reload to a history that does not fit is refused with the figures; the running one
    /// (its capacity, its samples) stays.
    @Test(.enabled(if: Conditions.check(RealSystem.v1CgroupUnavailableReason == nil, RealSystem.v1CgroupUnavailableReason ?? "")))
    func reloadToAHistoryThatDoesNotFitIsRefused() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let cgroup = try TestCgroup(limitBytes: 40 << 20)
        // In memory (no file): all of it is private, whatever the file system under the test.
        let config = try writeConfig(scene.dir, "interval: 100ms\nretention: 10s\nhistory_file: none\n")
        let command = "\(cgroup.enterCommand) && exec \(scene.bin) serve --config \(config) --socket \(scene.socket) --pid \(scene.sleeper.pid)"
        let daemon = try Spawned("/bin/sh", ["-c", command])
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        _ = try writeConfig(scene.dir, "interval: 10ms\nretention: 1h\nhistory_file: none\n")
        daemon.signal(SIGHUP)
        #expect(pollUntil(timeout: 30) { daemon.stderr.contains("reload refused") }, "\(daemon.description)")
        #expect(daemon.stderr.contains("360000 samples") && daemon.stderr.contains(cgroup.cgroupPath), "\(daemon.stderr)")
        let health = try HTTP.get(unix: scene.socket, "/healthz").requireJSON()
        #expect(health.int("capacity") == 100 && health.double("interval_seconds") == 0.1, "\(health)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// The soft open-file limit is raised to the hard one at start (the tree walk holds two
    /// descriptors per process; 1024 undercounts a large tree).
    @Test func softFileLimitIsRaisedToTheHardOne() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let prlimit = try #require(Locations.tool("prlimit"), "prlimit (util-linux) not found")
        let daemon = try Spawned(prlimit, ["--nofile=1024:4096", scene.bin, "serve", "--config", try writeConfig(scene.dir),
                                           "--socket", scene.socket, "--pid", "\(scene.sleeper.pid)"])
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        let limits = readWholeFile("/proc/\(daemon.pid)/limits") ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        #expect(numbers == [4096, 4096], "soft and hard open-file limits: \(line)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// The shipped unit raises the open-file limit systemd would otherwise give (1024).
    @Test func unitSetsLimitNOFILE() throws {
        let unit = try #require(readWholeFile(Locations.serviceUnit))
        let value = unit.split(separator: "\n").first { $0.hasPrefix("LimitNOFILE=") }.map { $0.dropFirst("LimitNOFILE=".count) }
        let soft = value.flatMap { Int($0.split(separator: ":").first ?? "") }
        #expect((soft ?? 0) >= 16384, "LimitNOFILE in \(Locations.serviceUnit): \(value.map(String.init) ?? "not set")")
    }

    /// The longest socket path `check-config` accepts is one `serve` can bind (107 bytes, Linux's
    /// limit; 104–107 once passed the check and then failed at start in SwiftNIO's address type).
    @Test func longestAcceptedSocketPathServes() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let prefix = scene.dir.path + "/"
        let longest = prefix + String(repeating: "s", count: 107 - prefix.utf8.count)
        let tooLong = longest + "x"
        #expect(longest.utf8.count == 107)
        let config = try writeConfig(scene.dir)
        let rejected = try run(scene.bin, ["check-config", config], environment: cleanEnvironment(["DRUM_MONITOR_SOCKET": tooLong]))
        #expect(rejected.status == 1 && rejected.stderr.contains("107"), "108-byte socket path: exit \(rejected.status): \(rejected.stderr)")
        let accepted = try run(scene.bin, ["check-config", config], environment: cleanEnvironment(["DRUM_MONITOR_SOCKET": longest]))
        #expect(accepted.status == 0, "107-byte socket path: \(accepted.stderr)")

        let daemon = try Spawned(scene.bin, ["serve", "--config", config, "--socket", longest, "--pid", "\(scene.sleeper.pid)"])
        defer { daemon.stop() }
        #expect(waitUntilServing(longest) != nil, "a 107-byte socket path did not serve: \(daemon.description)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// SIGSTOP the daemon for a while: /healthz's lateness max is the real gap (at least the
    /// stop less one interval), not the lateness from the last skipped deadline (< 1 interval).
    @Test func stallShowsAsTheRealGap() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let daemon = try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", scene.socket,
                                             "--interval", "100ms", "--pid", "\(scene.sleeper.pid)"])
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        let before = try HTTP.get(unix: scene.socket, "/healthz").requireJSON()
        let ticksBefore = try #require(before.int("ticks"))

        let stopped = monotonicSeconds()
        daemon.signal(SIGSTOP)
        // Stopped for at least 20 intervals: the process cannot run, so this is a duration, not a race.
        pause(2)
        let resumed = monotonicSeconds()
        daemon.signal(SIGCONT)
        let after = try #require(pollHTTP(scene.socket, "/healthz") { a in (a.json?.int("ticks") ?? 0) > ticksBefore + 2 },
                                 "no ticks after SIGCONT: \(daemon.description)")
        let health = try after.requireJSON()
        let max = try #require(health.object("lateness_seconds")?.double("max"))
        let gap = resumed - stopped
        #expect(max >= gap - 0.1, "lateness max \(max) s after a \(gap) s stop")
        #expect((health.int("missed_ticks") ?? 0) >= Int((gap - 0.1) / 0.1) - 1, "\(health)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }
}
