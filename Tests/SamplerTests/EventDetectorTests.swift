import Testing
import SampleModel
@testable import Sampler

/// A DRUM tree sampled once a second, changed by hand between samples.
struct Scene {
    static let gib = 1024.0 * 1024 * 1024
    var sequence: UInt64 = 0
    var mono: UInt64 = 1_000_000_000_000
    var boot: UInt64 = 9_000_000_000_000
    var interval: UInt64 = 1_000_000_000
    var values = MetricValues()
    var found = true
    var rootPid: Int32 = 100
    var mode = DrumMode.gunicorn
    var generation: UInt32 = 1
    var cgroup: String? = "/drum"
    var limitSource = "/drum"
    var message: String?
    var processes: [SampleDetail.Process]

    init(workers: Int = 2) {
        processes = [Self.process(100, ppid: 1, role: .master, rss: 100 << 20)]
        for i in 0..<workers { processes.append(Self.process(101 + Int32(i), rss: 300 << 20)) }
        values[.memoryCurrent] = 1 * Self.gib
        values[.memoryWorkingSet] = 0.9 * Self.gib
        values[.memoryLimit] = 2 * Self.gib
        values[.memoryOOMKills] = 0
        values[.memoryLimitHits] = 0
    }

    static func process(_ pid: Int32, ppid: Int32 = 100, role: ProcessRole = .worker, rss: UInt64,
                        start: UInt64? = nil, cmdline: [String] = ["python", "-m", "gunicorn", "app:app"]) -> SampleDetail.Process {
        SampleDetail.Process(pid: pid, ppid: ppid, role: role, cmdline: cmdline, rssBytes: rss, startNanos: start ?? UInt64(pid) * 1_000_000_000)
    }

    subscript(pid: Int32) -> SampleDetail.Process? {
        get { processes.first { $0.pid == pid } }
        set {
            processes.removeAll { $0.pid == pid }
            if let newValue { processes.append(newValue) }
            processes.sort { ($0.role == .master ? 0 : 1, $0.pid) < ($1.role == .master ? 0 : 1, $1.pid) }
        }
    }

    mutating func take(after nanos: UInt64? = nil) -> (Sample, SampleDetail) {
        sequence += 1
        mono += nanos ?? interval
        boot += nanos ?? interval
        let sample = Sample(sequence: sequence, wallNanos: Int64(mono), monoNanos: mono, generation: generation, values: values)
        var detail = SampleDetail(target: .init(found: found, rootPid: found ? rootPid : nil, mode: found ? mode : nil,
                                                generation: generation, processCount: found ? processes.count : 0,
                                                message: found ? nil : message))
        detail.cgroup = cgroup.map { SampleDetail.Cgroup(path: $0, version: 1) }
        detail.limitSource = limitSource
        detail.bootNanos = boot
        detail.processes = found ? processes : []
        return (sample, detail)
    }
}

/// Runs a detector over a scene.
struct Watch {
    var scene: Scene
    var detector: EventDetector

    init(_ scene: Scene = Scene(), settings: EventSettings = EventSettings()) {
        self.scene = scene
        detector = EventDetector(settings: settings)
    }

    /// Takes a sample and returns its events.
    @discardableResult
    mutating func tick(after nanos: UInt64? = nil) -> [EventRecord] {
        let (s, d) = scene.take(after: nanos)
        return detector.observe(s, d, intervalNanos: scene.interval)
    }

    /// Samples until nothing is pending, as in a steady tree.
    mutating func settle() {
        tick()
        tick()
    }
}

@Suite struct EventDetectorTests {
    @Test func theFirstSampleFindsTheTargetAndASteadyTreeSaysNothing() {
        var w = Watch()
        let first = w.tick()
        #expect(first.map(\.kind) == [.targetFound])
        #expect(first[0].pid == 100 && first[0].mode == .gunicorn)
        #expect(first[0].processes.map(\.pid) == [100, 101, 102])
        for _ in 0..<50 { #expect(w.tick().isEmpty) }
    }

    // MARK: OOM kills

    @Test func anOOMKillNamesTheWorkerThatVanishedWithItsLastRSSThenItsReplacement() throws {
        var w = Watch()
        w.settle()
        w.scene[102] = Scene.process(102, rss: 1_800 << 20) // it grows before the kill
        w.scene.values[.memoryCurrent] = 1.99 * Scene.gib
        w.tick()
        w.scene[102] = nil
        w.scene[103] = Scene.process(103, rss: 50 << 20)
        w.scene.values[.memoryOOMKills] = 1
        w.scene.values[.memoryCurrent] = 0.5 * Scene.gib
        let events = w.tick()
        #expect(events.map(\.kind) == [.oomKill, .workerReplaced])
        let oom = events[0]
        #expect(oom.count == 1)
        #expect(oom.processes.map(\.pid) == [102])
        #expect(oom.processes[0].rssBytes == 1_800 << 20, "the last RSS, from the sample before")
        #expect(oom.processes[0].role == .worker)
        #expect(oom.processes[0].cmdline == "python -m gunicorn app:app")
        #expect(oom.memoryCurrentBytes == UInt64((1.99 * Scene.gib).rounded()), "memory just before the kill")
        #expect(oom.memoryLimitBytes == UInt64(2 * Scene.gib))
        #expect(oom.sampleSequence == 4)
        #expect(events[1].previousPid == 102 && events[1].pid == 103)
        #expect(oom.message.contains("worker 102 (RSS 1.8 GiB) was killed"))
    }

    /// The counter is read before the victim is reaped: it vanishes a sample later and is
    /// still named; its zombie (exited, RSS 0) does not replace its last RSS.
    @Test(arguments: [false, true])
    func aVictimReapedOneSampleLaterIsStillNamed(asZombie: Bool) {
        var w = Watch()
        w.settle()
        w.scene.values[.memoryOOMKills] = 1
        if asZombie {
            var zombie = Scene.process(101, rss: 0)
            zombie.exited = true
            w.scene[101] = zombie
            let events = w.tick()
            #expect(events.map(\.kind) == [.oomKill], "a zombie has exited: named at once")
            #expect(events.first?.processes.first?.rssBytes == 300 << 20)
        } else {
            #expect(w.tick().isEmpty, "held one sample")
            w.scene[101] = nil
            let events = w.tick()
            #expect(events.map(\.kind) == [.oomKill])
            #expect(events.first?.processes.map(\.pid) == [101])
            #expect(events.first?.memoryCurrentBytes == UInt64(1 * Scene.gib))
        }
    }

    /// The OOM reaper frees a victim's memory before it becomes a zombie: a sample may see it
    /// alive with RSS 0. Its last RSS is the last it had (found with real DRUM: "rss_bytes": 0).
    @Test func aVictimSeenWithItsMemoryAlreadyReapedKeepsItsLastRSS() {
        var w = Watch()
        w.settle()
        w.scene[102] = Scene.process(102, rss: 0)
        w.scene.values[.memoryOOMKills] = 1
        let events = w.tick()
        #expect(events.map(\.kind) == [.oomKill], "emptied by the reaper: dying, named at once")
        #expect(events.first?.processes.map(\.pid) == [102])
        #expect(events.first?.processes.first?.rssBytes == 300 << 20)
        #expect(w.tick().isEmpty, "still listed, already named")
        w.scene[102] = nil
        w.scene[110] = Scene.process(110, rss: 1 << 20)
        #expect(w.tick().map(\.kind) == [.workerReplaced], "its exit is still a replacement")
        #expect(w.tick().isEmpty)
    }

    /// A large victim takes a while to die: the kill is held until it does (here, a sample at
    /// 100 ms shows it alive three times), and a second kill names the second victim only.
    @Test func aSlowDyingVictimAndASecondKill() {
        var scene = Scene()
        scene.interval = 100_000_000
        var w = Watch(scene)
        w.settle()
        w.scene.values[.memoryOOMKills] = 1
        for _ in 0..<3 { #expect(w.tick().isEmpty) }
        w.scene[101] = nil
        let first = w.tick()
        #expect(first.map(\.kind) == [.oomKill] && first.first?.processes.map(\.pid) == [101])
        w.scene.values[.memoryOOMKills] = 2
        w.scene[102] = nil
        let second = w.tick()
        #expect(second.first?.kind == .oomKill && second.first?.processes.map(\.pid) == [102])
    }

    /// Held while nothing dies, two seconds at most (two samples at 1 s).
    @Test func anOOMKillWithNothingVanishingWasOutsideTheTree() {
        var w = Watch()
        w.settle()
        w.scene.values[.memoryOOMKills] = 2
        #expect(w.tick().isEmpty)
        #expect(w.tick().isEmpty)
        let events = w.tick()
        #expect(events.map(\.kind) == [.oomKill])
        #expect(events.first?.processes.isEmpty == true)
        #expect(events.first?.count == 2)
        #expect(events.first?.message.contains("outside the DRUM tree") == true)
    }

    /// A new cgroup (or the same path recreated) starts its counters again: no event for the
    /// difference, and the next rise is counted from the new value.
    @Test func counterResetsAreNotEvents() {
        var w = Watch()
        w.scene.values[.memoryOOMKills] = 5
        w.scene.values[.memoryLimitHits] = 900
        w.settle()
        w.scene.cgroup = "/elsewhere"
        w.scene.values[.memoryOOMKills] = 9
        w.scene.values[.memoryLimitHits] = 1000
        #expect(w.tick().isEmpty, "another cgroup: not comparable")
        w.scene.values[.memoryOOMKills] = 0
        w.scene.values[.memoryLimitHits] = 0
        #expect(w.tick().isEmpty, "the counters went back: recreated")
        w.tick()
        w.scene.values[.memoryOOMKills] = 1
        w.scene[102] = nil
        let events = w.tick()
        #expect(events.first?.kind == .oomKill && events.first?.count == 1)
    }

    // MARK: Processes

    @Test func aWorkerReplacedWithinOneIntervalIsOneEvent() {
        var w = Watch()
        w.settle()
        w.scene[101] = nil
        #expect(w.tick().isEmpty, "the exit waits a sample for its replacement")
        w.scene[107] = Scene.process(107, rss: 40 << 20)
        let events = w.tick()
        #expect(events.map(\.kind) == [.workerReplaced])
        #expect(events[0].processes.map(\.pid) == [101, 107])
        #expect(events[0].message.hasPrefix("worker 101 replaced by 107"))
    }

    @Test func anExitWithoutReplacementAndAStartOnTheirOwn() throws {
        var w = Watch()
        w.settle()
        w.scene[101] = nil
        #expect(w.tick().isEmpty)
        let exit = w.tick()
        #expect(exit.map(\.kind) == [.processExit])
        let gone = try #require(exit.first?.processes.first)
        #expect(gone.pid == 101 && gone.role == .worker && gone.rssBytes == 300 << 20)
        // Started at 101 s of boot time, found gone at the sample of boot time 9,003 s.
        #expect(gone.lifetimeNanos == 9_003_000_000_000 - 101_000_000_000)
        w.scene[110] = Scene.process(110, rss: 10 << 20)
        let start = w.tick()
        #expect(start.map(\.kind) == [.processStart])
        #expect(start.first?.pid == 110)
    }

    /// A pid reused by a new process (another start time) is an exit and a start, not the same
    /// worker: here, a replacement that happens to get the old pid.
    @Test func aReusedPidIsAnotherProcess() {
        var w = Watch()
        w.settle()
        w.scene[101] = Scene.process(101, rss: 20 << 20, start: 8_000_000_000_000)
        let events = w.tick()
        #expect(events.map(\.kind) == [.workerReplaced])
        #expect(events.first?.processes.map(\.rssBytes) == [300 << 20, 20 << 20])
    }

    /// Children the model spawns come and go without events; several replacements at once pair
    /// by parent.
    @Test func childrenAreNotEventsAndReplacementsPairByParent() {
        var w = Watch(Scene(workers: 4))
        w.settle()
        w.scene[500] = Scene.process(500, ppid: 101, role: .child, rss: 1 << 20, cmdline: ["sh"])
        #expect(w.tick().isEmpty)
        w.scene[500] = nil
        w.scene[103] = nil
        w.scene[104] = nil
        w.scene[201] = Scene.process(201, rss: 1 << 20)
        w.scene[202] = Scene.process(202, rss: 1 << 20)
        let events = w.tick()
        #expect(events.map(\.kind) == [.workerReplaced, .workerReplaced])
        #expect(events.map { [$0.previousPid, $0.pid] } == [[103, 201], [104, 202]])
    }

    // MARK: The target

    @Test func anExecOfTheRootIsATargetChange() {
        var w = Watch(Scene(workers: 0))
        w.scene.mode = .werkzeug
        w.scene[100] = Scene.process(100, ppid: 1, role: .master, rss: 1 << 20, cmdline: ["drum", "server"])
        w.settle()
        w.scene.generation += 1
        w.scene.mode = .gunicorn
        w.scene[100] = Scene.process(100, ppid: 1, role: .master, rss: 1 << 20, cmdline: ["python", "-m", "gunicorn"])
        let events = w.tick()
        #expect(events.map(\.kind) == [.targetChanged])
        let e = events[0]
        #expect(e.previousPid == 100 && e.pid == 100 && e.previousMode == .werkzeug && e.mode == .gunicorn)
        #expect(e.processes.map(\.cmdline) == ["drum server", "python -m gunicorn"])
        #expect(e.message == "DRUM root 100 exec'd: now gunicorn: python -m gunicorn")
        // The workers it then forks are starts.
        w.scene[150] = Scene.process(150, rss: 1 << 20)
        #expect(w.tick().map(\.kind) == [.processStart])
    }

    @Test func aNewRootIsATargetChangeWithoutProcessEvents() {
        var w = Watch()
        w.settle()
        w.scene.rootPid = 300
        w.scene.generation += 1
        w.scene.processes = [Scene.process(300, ppid: 1, role: .master, rss: 1 << 20), Scene.process(301, ppid: 300, rss: 1 << 20)]
        let events = w.tick()
        #expect(events.map(\.kind) == [.targetChanged])
        #expect(events[0].previousPid == 100 && events[0].pid == 300)
        #expect(w.tick().isEmpty && w.tick().isEmpty)
    }

    @Test func aLostTargetListsItsProcessesAndIsFoundAgain() {
        var w = Watch()
        w.settle()
        w.scene.found = false
        w.scene.message = "DRUM process 100 exited; looking for it again"
        let lost = w.tick()
        #expect(lost.map(\.kind) == [.targetLost])
        #expect(lost[0].pid == 100 && lost[0].reason == "DRUM process 100 exited; looking for it again")
        #expect(lost[0].processes.map(\.pid) == [100, 101, 102])
        #expect(lost[0].processes.allSatisfy { $0.lifetimeNanos != nil })
        #expect(w.tick().isEmpty)
        w.scene.found = true
        w.scene.generation += 1
        #expect(w.tick().map(\.kind) == [.targetFound])
    }

    /// werkzeug: the root is the server. OOM-killed and reaped at once, the next sample has no
    /// target and reads no cgroup; the count read from the cgroup it left names the root.
    @Test func anOOMKilledRootIsNamedFromTheCgroupItLeft() {
        var w = Watch(Scene(workers: 0))
        w.scene.mode = .werkzeug
        w.scene.values[.memoryOOMKills] = 3
        w.settle()
        w.scene.found = false
        w.scene.cgroup = nil
        w.scene.values = MetricValues()
        let (s, d) = w.scene.take()
        let events = w.detector.observe(s, d, intervalNanos: w.scene.interval, departed: DepartedCgroup(path: "/drum", oomKills: 4))
        #expect(events.map(\.kind) == [.oomKill, .targetLost])
        #expect(events.first?.processes.map(\.pid) == [100] && events.first?.processes.first?.role == .master)
        #expect(events.first?.count == 1)
        // Another cgroup's count, or an unchanged one, is no kill.
        var again = Watch(Scene(workers: 0))
        again.settle()
        again.scene.found = false
        let (s2, d2) = again.scene.take()
        #expect(again.detector.observe(s2, d2, intervalNanos: again.scene.interval, departed: DepartedCgroup(path: "/other", oomKills: 9)).map(\.kind) == [.targetLost])
    }

    /// A worker that exited just before the target was lost is still reported.
    @Test func aHeldExitIsNotLostWithTheTarget() {
        var w = Watch()
        w.settle()
        w.scene[102] = nil
        w.tick()
        w.scene.found = false
        #expect(w.tick().map(\.kind) == [.processExit, .targetLost])
    }

    // MARK: The limit

    @Test func limitHitsOncePerEpisode() {
        var settings = EventSettings()
        settings.limitHitQuietNanos = 10_000_000_000
        var w = Watch(settings: settings)
        w.settle()
        w.scene.values[.memoryLimitHits] = 3
        let first = w.tick()
        #expect(first.map(\.kind) == [.limitHit])
        #expect(first.first?.count == 3 && first.first?.memoryLimitBytes == UInt64(2 * Scene.gib))
        for i in 1...9 {
            w.scene.values[.memoryLimitHits] = 3 + Double(i) * 10
            #expect(w.tick().isEmpty, "still the same episode")
        }
        for _ in 1...8 { #expect(w.tick().isEmpty) }
        w.scene.values[.memoryLimitHits]! += 1
        #expect(w.tick().isEmpty, "9 s since the last rise")
        for _ in 1...10 { w.tick() }
        w.scene.values[.memoryLimitHits]! += 1
        #expect(w.tick().map(\.kind) == [.limitHit], "11 s since the last rise: a new episode")
    }

    @Test func aChangedLimitSaysFromWhatToWhat() {
        var w = Watch()
        w.settle()
        w.scene.values[.memoryLimit] = 4 * Scene.gib
        w.scene.limitSource = "/kubepods/pod1"
        let events = w.tick()
        #expect(events.map(\.kind) == [.limitChanged])
        #expect(events[0].previousLimitBytes == UInt64(2 * Scene.gib) && events[0].memoryLimitBytes == UInt64(4 * Scene.gib))
        #expect(events[0].previousLimitSource == "/drum" && events[0].limitSource == "/kubepods/pod1")
        #expect(w.tick().isEmpty)
    }

    // MARK: Memory levels

    @Test func memoryHighNeedsItsRunAndClearsWithHysteresis() throws {
        var w = Watch()
        w.settle()
        func ws(_ fraction: Double) { w.scene.values[.memoryWorkingSet] = fraction * 2 * Scene.gib }
        ws(0.91); #expect(w.tick().isEmpty)
        ws(0.95); #expect(w.tick().isEmpty)
        ws(0.89); #expect(w.tick().isEmpty, "the run is broken")
        ws(0.90); #expect(w.tick().isEmpty)
        ws(0.93); #expect(w.tick().isEmpty)
        ws(0.97)
        let high = w.tick()
        #expect(high.map(\.kind) == [.memoryHigh])
        #expect(high.first?.count == 3 && high.first?.thresholdFraction == 0.9)
        #expect(high.first?.memoryWorkingSetBytes == UInt64((0.97 * 2 * Scene.gib).rounded()))
        ws(0.99); #expect(w.tick().isEmpty, "raised once")
        ws(0.87); #expect(w.tick().isEmpty, "below 90 % but not below 85 %: still high")
        ws(0.86); #expect(w.tick().isEmpty)
        ws(0.84)
        let cleared = w.tick()
        #expect(cleared.map(\.kind) == [.memoryHighCleared])
        #expect(cleared.first?.durationNanos == 4_000_000_000)
        #expect(cleared.first?.thresholdFraction == 0.85)
        ws(0.95); #expect(w.tick().isEmpty, "a new run starts from zero")
    }

    @Test func memoryHighOnCurrentWhenConfigured() {
        var settings = EventSettings()
        settings.memoryHighMetric = .current
        settings.memoryHighSamples = 1
        var w = Watch(settings: settings)
        w.settle()
        w.scene.values[.memoryCurrent] = 1.9 * Scene.gib
        let events = w.tick()
        #expect(events.map(\.kind) == [.memoryHigh])
        #expect(events.first?.memoryCurrentBytes == UInt64((1.9 * Scene.gib).rounded()) && events.first?.memoryWorkingSetBytes == nil)
        #expect(events.first?.message.hasPrefix("memory 1.9 GiB is at or above 90%") == true)
    }

    // MARK: The sampler

    @Test func aStallIsAGapOfMoreThanTheWatchdogsThreeIntervals() {
        var w = Watch()
        w.settle()
        #expect(w.tick(after: 2_900_000_000).isEmpty)
        let events = w.tick(after: 5_200_000_000)
        #expect(events.map(\.kind) == [.samplerStall])
        #expect(events.first?.durationNanos == 5_200_000_000 && events.first?.count == 4)
    }

    /// A reload from 1 s to 100 ms: the first gap at the new interval is one old interval, not a
    /// stall of ten new ones.
    @Test func aShorterIntervalAfterAReloadIsNotAStall() {
        var w = Watch()
        w.settle()
        w.scene.interval = 100_000_000
        #expect(w.tick(after: 1_000_000_000).isEmpty)
        #expect(w.tick().isEmpty)
        #expect(w.tick(after: 400_000_000).map(\.kind) == [.samplerStall])
    }
}
