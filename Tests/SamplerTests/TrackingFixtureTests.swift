import Foundation
import Testing
import KernelReaders
import SampleModel
@testable import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// The whole sampler on a fake /proc with a hand-moved clock: runs as any user on any host.
@Suite struct TrackingFixtureTests {
    static let drumServer = ["/venv/bin/python", "/venv/bin/drum", "server", "--code-dir", "/m", "--address", "0.0.0.0:8080"]
    static let gunicorn = ["/venv/bin/python", "-m", "gunicorn", "-c", "/venv/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py", "app:app"]

    /// init (1), a supervisor (50), DRUM (100, werkzeug) under it.
    func host(_ clock: ManualClock) throws -> ProcFixture {
        let f = try ProcFixture()
        try f.put(.init(pid: 1, ppid: 0, comm: "init", argv: ["/sbin/init"], startTicks: 1))
        try f.put(.init(pid: 50, ppid: 1, comm: "supervisor", argv: ["/usr/bin/supervisor"], startTicks: clock.startTicks(ago: 3600)))
        try f.put(.init(pid: 100, ppid: 50, comm: "drum", argv: Self.drumServer, startTicks: clock.startTicks(ago: 600)))
        return f
    }

    @Test func cpuFromTwoStatReadings() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.update(100) { $0.utime = 1000; $0.stime = 200 }
        let sampler = try Sampler(configuration: f.configuration(.pid(100)), clock: clock)

        let (first, firstDetail) = sampler.tick()
        #expect(first.values[.treeCPU] == nil, "one reading: no rate, never a made-up 0")
        #expect(firstDetail.unavailable[.treeCPU] != nil)
        #expect(first.values[.treeRSS] == Double(100 * 4096))

        clock.advance(seconds: 2)
        try f.update(100) { $0.utime = 1080; $0.stime = 220 } // 100 ticks = 1 s of CPU in 2 s
        let (second, detail) = sampler.tick()
        #expect(second.values[.treeCPU] == 0.5)
        #expect(detail.processes.first?.cpuCores == 0.5)
        #expect(detail.intervalSeconds == 2)
        #expect(second.sequence == first.sequence + 1)
    }

    /// Issue 11 item 5: a fixed pid that exits is gone; a new process given the pid is not it.
    @Test func aReusedPidIsNotTheFixedTarget() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let sampler = try Sampler(configuration: f.configuration(.pid(100)), clock: clock)
        let (attached, d1) = sampler.tick()
        #expect(d1.target.found && d1.target.rootPid == 100)

        try f.exit(100)
        try f.put(.init(pid: 100, ppid: 50, comm: "bash", argv: ["bash", "-c", "exec -a IMPOSTER sleep 20"], startTicks: clock.startTicks(ago: 0)))
        for _ in 0..<3 {
            clock.advance(seconds: 1)
            let (s, d) = sampler.tick()
            #expect(!d.target.found, "a process that reuses pid 100 is not the target")
            #expect(d.target.message?.contains("pid 100 exited") == true, "\(d.target.message ?? "nil")")
            #expect(s.generation != attached.generation, "nothing sampled without the target carries its generation")
            #expect(s.values[.treeRSS] == nil)
        }
    }

    @Test func aFixedPidThatDoesNotExistIsNeverAttached() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let sampler = try Sampler(configuration: f.configuration(.pid(4242)), clock: clock)
        #expect(sampler.tick().1.target.message == "pid 4242 does not exist")
        try f.put(.init(pid: 4242, ppid: 1, argv: ["sleep", "60"], startTicks: clock.startTicks(ago: 0)))
        clock.advance(seconds: 1)
        #expect(!sampler.tick().1.target.found, "the pid did not name a process when sampling started")
    }

    @Test func execOfTheRootIsANewGeneration() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.put(.init(pid: 101, ppid: 100, argv: Self.drumServer, startTicks: clock.startTicks(ago: 500)))
        let sampler = try Sampler(configuration: f.configuration(.discover), clock: clock)
        let (s1, d1) = sampler.tick()
        #expect(d1.target.rootPid == 100 && d1.target.mode == .werkzeug)

        // DRUM execs in place into gunicorn: same pid and start time, new argv (and its address).
        try f.update(100) { $0.argv = Self.gunicorn; $0.argStart += 0x10000 }
        clock.advance(seconds: 0.1)
        let (s2, d2) = sampler.tick()
        #expect(d2.target.rootPid == 100)
        #expect(d2.target.mode == .gunicorn)
        #expect(s2.generation == s1.generation + 1)
        #expect(d2.processes.first?.cmdline == Self.gunicorn)

        // An exec that keeps comm and argv's address is still seen, within a second.
        try f.update(100) { $0.argv = Self.gunicorn + ["--reload"] }
        clock.advance(seconds: 0.1)
        #expect(sampler.tick().0.generation == s2.generation, "no sign yet: the cmdline is compared once a second")
        clock.advance(seconds: 1)
        let (s3, d3) = sampler.tick()
        #expect(s3.generation == s2.generation + 1)
        #expect(d3.processes.first?.cmdline.last == "--reload")
    }

    @Test func aRootThatExitsAndIsRediscoveredUnderItsParent() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.put(.init(pid: 101, ppid: 100, argv: Self.drumServer, startTicks: clock.startTicks(ago: 500)))
        let sampler = try Sampler(configuration: f.configuration(.discover), clock: clock)
        let (s1, d1) = sampler.tick()
        #expect(d1.target.rootPid == 100 && d1.processes.map(\.pid) == [100, 101])
        #expect(d1.processes.last?.role == .worker)

        try f.exit(101)
        try f.exit(100)
        clock.advance(seconds: 0.1)
        let (s2, d2) = sampler.tick()
        #expect(!d2.target.found)
        #expect(d2.target.message == "DRUM process 100 exited; looking for it again")
        #expect(s2.generation > s1.generation, "the time without a target is a generation of its own")
        #expect(s2.values[.treeRSS] == nil && s2.values[.processCount] == nil)
        #expect(d2.unavailable[.treeRSS] == d2.target.message)

        // The supervisor starts DRUM again: found on the next tick, whatever the scan schedule.
        try f.put(.init(pid: 130, ppid: 50, comm: "drum", argv: Self.drumServer, startTicks: clock.startTicks(ago: 0)))
        clock.advance(seconds: 0.1)
        let (s3, d3) = sampler.tick()
        #expect(d3.target.rootPid == 130)
        #expect(s3.generation > s2.generation)
    }

    @Test func discoveryReadsOnlyNewProcessesAndBacksOff() throws {
        let clock = ManualClock()
        let f = try ProcFixture()
        try f.put(.init(pid: 1, ppid: 0, comm: "init", argv: ["/sbin/init"], startTicks: 1))
        for pid in Int32(1000)..<1200 {
            try f.put(.init(pid: pid, ppid: 1, comm: "sleep", argv: ["sleep", "600"], startTicks: clock.startTicks(ago: 900)))
        }
        let sampler = try Sampler(configuration: f.configuration(.discover), clock: clock)
        #expect(!sampler.tick().1.target.found)
        let classified = try #require(sampler.discoveryStatistics?.classifications)
        #expect(classified == 201)

        // Ticks every 100 ms for 20 s: scans back off (0.5, 1, 2, 4, 4, … s) and classify nothing again.
        var scanTimes: [Double] = []
        var scans = sampler.discoveryStatistics?.scans ?? 0
        for i in 1...200 {
            clock.advance(seconds: 0.1)
            _ = sampler.tick()
            if let now = sampler.discoveryStatistics?.scans, now != scans { scans = now; scanTimes.append(Double(i) / 10) }
        }
        #expect(sampler.discoveryStatistics?.classifications == 201, "remembered processes are not read again")
        let gaps = zip(scanTimes, [0] + scanTimes).map { (($0 - $1) * 10).rounded() / 10 }
        #expect(Array(gaps.prefix(5)) == [0.5, 1, 2, 4, 4], "scan gaps \(gaps)")

        // A new DRUM elsewhere on the host is found by the next scan, its process read once.
        try f.put(.init(pid: 5000, ppid: 1, comm: "drum", argv: Self.drumServer, startTicks: clock.startTicks(ago: 0)))
        var found: Double?
        for i in 1...50 {
            clock.advance(seconds: 0.1)
            if sampler.tick().1.target.rootPid == 5000 { found = Double(i) / 10; break }
        }
        #expect(found != nil && found! <= 4.0, "found after \(String(describing: found)) s")
        #expect((sampler.discoveryStatistics?.classifications ?? 0) <= 201 + 2)
    }

    @Test func aYoungProcessThatExecsIntoDrumIsFound() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.exit(100)
        // A start script, just started: not DRUM yet.
        try f.put(.init(pid: 300, ppid: 50, comm: "sh", argv: ["/bin/sh", "/start.sh"], startTicks: clock.startTicks(ago: 0.2)))
        let sampler = try Sampler(configuration: f.configuration(.discover), clock: clock)
        #expect(!sampler.tick().1.target.found)
        try f.update(300) { $0.comm = "drum"; $0.argv = Self.drumServer }
        var found = false
        for _ in 0..<20 where !found {
            clock.advance(seconds: 0.1)
            found = sampler.tick().1.target.rootPid == 300
        }
        #expect(found, "a process classified while young is classified again")
    }

    @Test func anOldProcessThatExecsIntoDrumIsFoundByTheVerifyPass() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.exit(100)
        try f.put(.init(pid: 300, ppid: 50, comm: "sh", argv: ["/bin/sh", "/start.sh"], startTicks: clock.startTicks(ago: 3000)))
        let sampler = try Sampler(configuration: f.configuration(.discover), clock: clock)
        #expect(!sampler.tick().1.target.found)
        try f.update(300) { $0.comm = "drum"; $0.argv = Self.drumServer }
        var foundAfter: Double?
        for i in 1...400 where foundAfter == nil {
            clock.advance(seconds: 0.1)
            if sampler.tick().1.target.rootPid == 300 { foundAfter = Double(i) / 10 }
        }
        let after = try #require(foundAfter, "never found")
        #expect(after <= Double(DrumScanner.verifyEveryNanos) / 1e9 + Double(DrumScanner.maxIntervalNanos) / 1e9)
    }

    /// Issue 11 item 6: without a target nothing is sampled under the previous target's generation.
    @Test func aPidfileGoneBadEndsTheTargetsGeneration() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let pidfile = f.root + "/drum.pid"
        try f.write("drum.pid", "100\n")
        let sampler = try Sampler(configuration: f.configuration(.pidfile(pidfile)), clock: clock)
        let (s1, d1) = sampler.tick()
        #expect(d1.target.rootPid == 100)

        try f.write("drum.pid", "garbage\n")
        clock.advance(seconds: 1)
        let (s2, d2) = sampler.tick()
        #expect(!d2.target.found)
        #expect(d2.target.message?.contains("garbage") == true, "\(d2.target.message ?? "nil")")
        #expect(s2.generation > s1.generation)
        #expect(s2.values[.treeRSS] == nil && s2.values[.memoryCurrent] == nil)

        try f.write("drum.pid", "100\n")
        clock.advance(seconds: 1)
        let (s3, d3) = sampler.tick()
        #expect(d3.target.rootPid == 100)
        #expect(s3.generation > s2.generation)
    }

    /// A stale pidfile (its process exited, the pid reused) names nothing until it is rewritten.
    @Test func aStalePidfileIsNotFollowedToAReusedPid() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let pidfile = f.root + "/drum.pid"
        try f.write("drum.pid", "100\n")
        let sampler = try Sampler(configuration: f.configuration(.pidfile(pidfile)), clock: clock)
        #expect(sampler.tick().1.target.rootPid == 100)

        try f.exit(100)
        try f.put(.init(pid: 100, ppid: 1, comm: "sleep", argv: ["sleep", "99"], startTicks: clock.startTicks(ago: 0)))
        clock.advance(seconds: 1)
        let d = sampler.tick().1
        #expect(!d.target.found)
        #expect(d.target.message?.contains("waiting for the pidfile") == true, "\(d.target.message ?? "nil")")
        clock.advance(seconds: 1)
        #expect(!sampler.tick().1.target.found)

        // DRUM restarts as 140 and rewrites the pidfile (a new file, as most writers do).
        try f.put(.init(pid: 140, ppid: 50, comm: "drum", argv: Self.drumServer, startTicks: clock.startTicks(ago: 0)))
        try f.write("drum.pid.new", "140\n")
        try #require(rename(f.root + "/drum.pid.new", pidfile) == 0)
        clock.advance(seconds: 1)
        #expect(sampler.tick().1.target.rootPid == 140)
    }

    @Test func rootOfSaysWhyItCouldNotTell() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.put(.init(pid: 200, ppid: 1, argv: ["python", "-m", "gunicorn", "-c", "/etc/custom.py", "app:app"], startTicks: clock.startTicks(ago: 60)))
        try f.put(.init(pid: 201, ppid: 200, argv: ["python", "-m", "gunicorn", "-c", "/etc/custom.py", "app:app"], startTicks: clock.startTicks(ago: 59)))
        // Unreadable environment of the master (a directory here; EACCES on a real host).
        try FileManager.default.removeItem(atPath: f.root + "/proc/200/environ")
        try FileManager.default.createDirectory(atPath: f.root + "/proc/200/environ", withIntermediateDirectories: true)
        let sampler = try Sampler(configuration: f.configuration(.rootOf(201)), clock: clock)
        let d = sampler.tick().1
        #expect(!d.target.found)
        let message = try #require(d.target.message)
        #expect(message.hasPrefix("no DRUM process at or above pid 201"))
        #expect(message.contains("/proc/200/environ"), "\(message)")

        // The same gunicorn given by pid is watched as `pid`, and says why it is not `gunicorn`.
        let byPid = try Sampler(configuration: f.configuration(.pid(200)), clock: clock).tick().1
        #expect(byPid.target.found && byPid.target.mode == .pid)
        #expect(byPid.target.message?.contains("/proc/200/environ") == true)
    }

    @Test func uvicornWorkersAndHelper() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let master = ["/venv/bin/python", "-m", "uvicorn", "app:app", "--workers", "2"]
        try f.put(.init(pid: 700, ppid: 50, argv: master, startTicks: clock.startTicks(ago: 60),
                        environment: ["DRUM_UVICORN_DRUM_ARGS": "drum server --code-dir /m"]))
        try f.put(.init(pid: 701, ppid: 700, argv: ["/venv/bin/python", "-c", "from multiprocessing.resource_tracker import main;main(4)"], startTicks: clock.startTicks(ago: 59)))
        for pid in Int32(702)...703 {
            try f.put(.init(pid: pid, ppid: 700, argv: ["/venv/bin/python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=\(pid))", "--multiprocessing-fork"], startTicks: clock.startTicks(ago: 59)))
        }
        try f.exit(100)
        let d = try Sampler(configuration: f.configuration(.discover), clock: clock).tick().1
        #expect(d.target.rootPid == 700 && d.target.mode == .uvicorn)
        #expect(d.processes.map(\.role) == [.master, .helper, .worker, .worker])
    }

    /// Issue 11 item 4: a sampler that replaces another (a reload) continues its numbers.
    @Test func aReplacingSamplerContinuesSequenceAndGeneration() throws {
        let clock = ManualClock()
        let f = try host(clock)
        try f.put(.init(pid: 400, ppid: 1, argv: ["sleep", "600"], startTicks: clock.startTicks(ago: 60)))
        let counters = SampleCounters()
        let a = try Sampler(configuration: f.configuration(.pid(100)), clock: clock, counters: counters)
        var last = a.tick().0
        for _ in 0..<5 { clock.advance(seconds: 1); last = a.tick().0 }

        for target in [TargetSpec.pid(400), .pidfile(f.root + "/missing.pid"), .pid(100)] {
            let b = try Sampler(configuration: f.configuration(target), clock: clock, counters: counters)
            for _ in 0..<3 {
                clock.advance(seconds: 1)
                let s = b.tick().0
                #expect(s.sequence == last.sequence + 1, "sequence continues across replacement (\(target))")
                #expect(s.generation >= last.generation)
                last = s
            }
        }
        #expect(counters.sequence == last.sequence)
    }

    @Test func aNewSamplerStartsAGenerationOfItsOwn() throws {
        let clock = ManualClock()
        let f = try host(clock)
        let counters = SampleCounters()
        let a = try Sampler(configuration: f.configuration(.pid(100)), clock: clock, counters: counters)
        let attached = a.tick().0
        let b = try Sampler(configuration: f.configuration(.pid(999)), clock: clock, counters: counters)
        let (s, d) = b.tick()
        #expect(!d.target.found)
        #expect(s.generation > attached.generation, "samples without a target never carry the old target's generation")
    }
}
