import Foundation
import Logging
import Testing
import KernelReaders
import SampleModel
@testable import Sampler

/// Several DRUM servers on one host (issue 16): discovery with a `match` on a fake /proc, with a
/// hand-moved clock. Runs as any user on any host.
@Suite struct MatchFixtureTests {
    static func drumServer(port: Int, codeDir: String = "/m") -> [String] {
        ["/venv/bin/python", "/venv/bin/drum", "server", "--code-dir", codeDir, "--address", "0.0.0.0:\(port)"]
    }
    static let gunicorn = TrackingFixtureTests.gunicorn

    /// init (1), a supervisor (50) and two werkzeug DRUMs under it: 100 on port 8080 (the older)
    /// and 200 on port 8081, each with its own environment.
    func host(_ clock: ManualClock) throws -> ProcFixture {
        let f = try ProcFixture()
        try f.put(.init(pid: 1, ppid: 0, comm: "init", argv: ["/sbin/init"], startTicks: 1))
        try f.put(.init(pid: 50, ppid: 1, comm: "supervisor", argv: ["/usr/bin/supervisor"], startTicks: clock.startTicks(ago: 3600)))
        try f.put(.init(pid: 100, ppid: 50, comm: "drum", argv: Self.drumServer(port: 8080), startTicks: clock.startTicks(ago: 600),
                        environment: ["PATH": "/bin", "MODEL_INSTANCE": "a"]))
        try f.put(.init(pid: 200, ppid: 50, comm: "drum", argv: Self.drumServer(port: 8081), startTicks: clock.startTicks(ago: 500),
                        environment: ["PATH": "/bin", "MODEL_INSTANCE": "b"]))
        return f
    }

    func sampler(_ f: ProcFixture, _ clock: ManualClock, _ match: String, readEnvironment: Bool = true,
                 log: CapturedLines = CapturedLines()) throws -> Sampler {
        let handler = CapturingHandler(lines: log)
        return try Sampler(configuration: f.configuration(.matching(try DrumMatch.parse(match)), readEnvironment: readEnvironment),
                           logger: Logger(label: "test") { _ in handler }, clock: clock)
    }

    /// Ticks (0.1 s apart) until the target's root is `pid`; the seconds it took, or nil.
    func secondsUntilRoot(_ pid: Int32, _ sampler: Sampler, _ clock: ManualClock, within seconds: Double = 10) -> Double? {
        for i in 1...Int(seconds * 10) {
            clock.advance(seconds: 0.1)
            if sampler.tick().1.target.rootPid == pid { return Double(i) / 10 }
        }
        return nil
    }

    @Test func withoutAMatchTheOldestIsWatched() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let log = CapturedLines()
        let handler = CapturingHandler(lines: log)
        let sampler = try Sampler(configuration: f.configuration(.discover), logger: Logger(label: "test") { _ in handler }, clock: clock)
        #expect(sampler.tick().1.target.rootPid == 100)
        #expect(log.all.contains { $0.hasPrefix("warning 2 DRUM servers found; watching the oldest, pid 100") }, "\(log.all)")
    }

    @Test func matchByCommandLineWatchesTheYoungerOne() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let log = CapturedLines()
        let sampler = try sampler(f, clock, "--address 0.0.0.0:8081", log: log)
        let d = sampler.tick().1
        #expect(d.target.rootPid == 200 && d.target.mode == .werkzeug, "\(d.target)")
        #expect(d.target.message == nil)
        #expect(!log.all.contains { $0.hasPrefix("warning") }, "one match: no warning: \(log.all)")

        // And the other instance's daemon, the older one.
        let other = try self.sampler(f, clock, "0.0.0.0:8080")
        #expect(other.tick().1.target.rootPid == 100)
    }

    @Test func matchByEnvironment() throws {
        let clock = ManualClock()
        let f = try host(clock)
        #expect(try sampler(f, clock, "env:MODEL_INSTANCE=b").tick().1.target.rootPid == 200)
        #expect(try sampler(f, clock, "env:MODEL_INSTANCE=a").tick().1.target.rootPid == 100)
        // The whole value, not a part of it.
        let partial = try sampler(f, clock, "env:MODEL_INSTANCE=").tick().1
        #expect(!partial.target.found)
        #expect(partial.target.message?.hasPrefix("no DRUM process whose environment has MODEL_INSTANCE= found") == true,
                "\(partial.target.message ?? "nil")")
    }

    @Test func noMatchSaysWhatItWaitsForAndFindsItLater() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let sampler = try sampler(f, clock, "--address 0.0.0.0:8082")
        let d = sampler.tick().1
        #expect(!d.target.found, "a DRUM that does not match is not watched: \(d.target)")
        let message = try #require(d.target.message)
        #expect(message.hasPrefix("no DRUM process whose command line contains '--address 0.0.0.0:8082' found"), "\(message)")
        #expect(message.contains("2 other DRUM servers do not match, e.g. pid 100: /venv/bin/python /venv/bin/drum server"), "\(message)")
        #expect(d.unavailable[.treeRSS] == message)

        // Nothing matches: scans back off as when nothing is found; the matching DRUM, once it
        // starts, is found by the next scan.
        for _ in 0..<100 { clock.advance(seconds: 0.1); _ = sampler.tick() }
        try f.put(.init(pid: 300, ppid: 50, comm: "drum", argv: Self.drumServer(port: 8082), startTicks: clock.startTicks(ago: 0)))
        let after = try #require(secondsUntilRoot(300, sampler, clock), "never found the matching DRUM")
        #expect(after <= Double(DrumScanner.maxIntervalNanos) / 1e9)
    }

    @Test func severalMatchesTheOldestWinsWithAWarning() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let log = CapturedLines()
        let sampler = try sampler(f, clock, "--code-dir /m", log: log)
        #expect(sampler.tick().1.target.rootPid == 100)
        #expect(log.all.contains { $0.hasPrefix("warning 2 DRUM servers match (whose command line contains '--code-dir /m'); watching the oldest, pid 100") },
                "\(log.all)")
    }

    /// DRUM's gunicorn master after the exec: its argv no longer names the address; DRUM's own
    /// arguments (shell-quoted by shlex.join) in DRUM_GUNICORN_DRUM_ARGS do.
    @Test func matchAfterTheExecIntoGunicorn() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let drumArgs = #"/venv/bin/drum server --code-dir '/models/my model' --address 0.0.0.0:8083 --label 'it'"'"'s'"#
        try f.put(.init(pid: 400, ppid: 50, argv: Self.gunicorn, startTicks: clock.startTicks(ago: 400),
                        environment: ["DRUM_GUNICORN_DRUM_ARGS": drumArgs]))
        for pid in Int32(401)...402 {
            try f.put(.init(pid: pid, ppid: 400, argv: Self.gunicorn, startTicks: clock.startTicks(ago: 399)))
        }
        let d = try sampler(f, clock, "--address 0.0.0.0:8083").tick().1
        #expect(d.target.rootPid == 400 && d.target.mode == .gunicorn, "\(d.target)")
        #expect(d.processes.map(\.pid) == [400, 401, 402])
        // The arguments as the command line had them: unquoted, joined with single spaces.
        #expect(try sampler(f, clock, "--code-dir /models/my model --address").tick().1.target.rootPid == 400)
        #expect(try sampler(f, clock, "--label it's").tick().1.target.rootPid == 400)
        #expect(try sampler(f, clock, "argv:--code-dir '/models").tick().1.target.found == false, "quotes are not part of the argument")
        // The master's own argv matches as well.
        #expect(try sampler(f, clock, "gunicorn.conf.py app:app").tick().1.target.rootPid == 400)
    }

    /// Watching `drum server` before its exec: the same process, now gunicorn, stays the target.
    @Test func theMatchedRootIsFollowedAcrossItsExec() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let sampler = try sampler(f, clock, "--address 0.0.0.0:8081")
        let (s1, d1) = sampler.tick()
        #expect(d1.target.rootPid == 200 && d1.target.mode == .werkzeug)
        try f.update(200) {
            $0.argv = Self.gunicorn
            $0.comm = "python"
            $0.argStart += 0x10000
            $0.environment["DRUM_GUNICORN_DRUM_ARGS"] = Self.drumServer(port: 8081).dropFirst().joined(separator: " ")
        }
        clock.advance(seconds: 0.1)
        let (s2, d2) = sampler.tick()
        #expect(d2.target.rootPid == 200 && d2.target.mode == .gunicorn, "\(d2.target)")
        #expect(s2.generation == s1.generation + 1)
    }

    /// A matched DRUM that exits: the other one, which does not match, is not taken instead; the
    /// replacement that matches is found at once (the lost root's parent is looked at every tick).
    @Test func aRestartIsFollowedAndTheOtherDrumIsNeverTaken() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let sampler = try sampler(f, clock, "env:MODEL_INSTANCE=b")
        #expect(sampler.tick().1.target.rootPid == 200)
        try f.exit(200)
        for _ in 0..<50 {
            clock.advance(seconds: 0.1)
            let d = sampler.tick().1
            #expect(!d.target.found, "took pid \(d.target.rootPid ?? 0)")
            #expect(d.target.message?.hasPrefix("DRUM process 200 exited; looking for a DRUM process whose environment has MODEL_INSTANCE=b again") == true,
                    "\(d.target.message ?? "nil")")
        }
        try f.put(.init(pid: 210, ppid: 50, comm: "drum", argv: Self.drumServer(port: 8081), startTicks: clock.startTicks(ago: 0),
                        environment: ["MODEL_INSTANCE": "b"]))
        clock.advance(seconds: 0.1)
        #expect(sampler.tick().1.target.rootPid == 210)
    }

    /// Matching is done once per root, not per scan nor per worker: the scanner's cost stays.
    @Test func eachRootIsCheckedOnce() throws {
        let clock = ManualClock()
        let f = try host(clock)
        for (root, port) in [(Int32(400), 8090), (500, 8091)] {
            try f.put(.init(pid: root, ppid: 1, argv: Self.gunicorn, startTicks: clock.startTicks(ago: 300),
                            environment: ["DRUM_GUNICORN_DRUM_ARGS": "drum server --address 0.0.0.0:\(port)"]))
            for w in 1...3 { try f.put(.init(pid: root + Int32(w), ppid: root, argv: Self.gunicorn, startTicks: clock.startTicks(ago: 299))) }
        }
        let sampler = try sampler(f, clock, "--address 0.0.0.0:9999")
        for _ in 0..<600 { clock.advance(seconds: 0.1); _ = sampler.tick() }
        let statistics = try #require(sampler.discoveryStatistics)
        #expect(statistics.scans > 10)
        #expect(statistics.matchChecks == 4, "four roots (two werkzeug, two gunicorn), each checked once: \(statistics)")
        #expect(statistics.classifications == 12, "every process classified once: \(statistics)")
    }

    @Test func withoutTheEnvironmentAGunicornRootCannotBeTold() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.exit(100)
        try f.exit(200)
        try f.put(.init(pid: 400, ppid: 50, argv: Self.gunicorn, startTicks: clock.startTicks(ago: 400),
                        environment: ["DRUM_GUNICORN_DRUM_ARGS": "drum server --address 0.0.0.0:8083"]))
        let d = try sampler(f, clock, "--address 0.0.0.0:8083", readEnvironment: false).tick().1
        #expect(!d.target.found)
        let message = try #require(d.target.message)
        #expect(message.contains("1 process could not be checked, e.g. pid 400 (gunicorn) keeps DRUM's own arguments in its environment (DRUM_GUNICORN_DRUM_ARGS), which read_environment: false leaves unread"),
                "\(message)")
    }

    @Test func anUnreadableEnvironmentIsShown() throws {
        let clock = ManualClock()
        let f = try host(clock)
        // Unreadable environment (a directory here; EACCES on a real host).
        try FileManager.default.removeItem(atPath: f.root + "/proc/200/environ")
        try FileManager.default.createDirectory(atPath: f.root + "/proc/200/environ", withIntermediateDirectories: true)
        let d = try sampler(f, clock, "env:MODEL_INSTANCE=b").tick().1
        #expect(!d.target.found)
        let message = try #require(d.target.message)
        #expect(message.contains("1 other DRUM server does not match, e.g. pid 100"), "\(message)")
        #expect(message.contains("1 process could not be checked, e.g. pid 200: whether it matches cannot be told: ")
                && message.contains("/proc/200/environ"), "\(message)")
    }
}
