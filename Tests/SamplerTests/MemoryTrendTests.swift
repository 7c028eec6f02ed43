import Testing
import TestSupport
import SampleModel
@testable import Sampler

/// `memory_growth` and `time_to_limit_seconds` on synthetic series: a leak is seen, the sawtooth
/// of garbage collection and a one-time step are not.
@Suite struct MemoryTrendTests {
    static let mib = 1024.0 * 1024
    static let limit = 2048 * mib

    /// A detector with a 60 s window (spans of 6 s) over a tree whose working set follows
    /// `workingSet(t)` (t in seconds); workers' RSS follow `rss(i, t)`.
    struct Run {
        var watch: Watch
        var events: [EventRecord] = []
        var ttl: [Double?] = []

        init(window: UInt64 = 60_000_000_000, workers: Int = 2) {
            var settings = EventSettings()
            settings.growthWindowNanos = window
            var scene = Scene(workers: workers)
            scene.values[.memoryLimit] = MemoryTrendTests.limit
            watch = Watch(scene, settings: settings)
        }

        mutating func run(seconds: Int, workingSet: (Double) -> Double, rss: (Int, Double) -> Double = { _, _ in 300 * MemoryTrendTests.mib }) {
            for _ in 0..<seconds {
                let t = Double(watch.scene.sequence)
                watch.scene.values[.memoryWorkingSet] = workingSet(t).rounded()
                for i in watch.scene.processes.indices where watch.scene.processes[i].role == .worker {
                    watch.scene.processes[i].rssBytes = UInt64(rss(i, t).rounded())
                }
                events += watch.tick().filter { $0.kind == .memoryGrowth }
                ttl.append(watch.detector.timeToLimitSeconds)
            }
        }
    }

    @Test func aSteadyLeakIsSeenWithItsRateAndTimeToTheLimit() throws {
        var r = Run()
        r.run(seconds: 200) { t in 500 * Self.mib + t * Self.mib }
        #expect(r.events.count == 1, "raised once per episode")
        let e = try #require(r.events.first)
        let slope = try #require(e.slopeBytesPerHour)
        #expect(abs(slope - 3600 * Self.mib) < 0.01 * 3600 * Self.mib)
        // Raised as soon as a whole window is covered (60 s, plus the span still open).
        #expect(e.sampleSequence <= 72)
        let ws = Double(try #require(e.memoryWorkingSetBytes))
        let ttl = try #require(e.timeToLimitSeconds)
        #expect(abs(ttl - (Self.limit - ws) / Self.mib) < 1)
        #expect(e.windowNanos == 60_000_000_000)
        // The snapshot's figure follows the working set every sample.
        let last = try #require(r.ttl.last ?? nil)
        #expect(abs(last - (Self.limit - (500 + 199) * Self.mib) / Self.mib) < 1)
        #expect(r.ttl.prefix(50).allSatisfy { $0 == nil }, "nothing before a window is covered")
    }

    /// Garbage collection: up 40 MiB a second for 4 s, then back down; no leak underneath.
    @Test func aSawtoothWithoutALeakIsNotGrowth() {
        var r = Run()
        r.run(seconds: 600) { t in 800 * Self.mib + t.truncatingRemainder(dividingBy: 5) * 40 * Self.mib }
        #expect(r.events.isEmpty)
        #expect(r.ttl.allSatisfy { $0 == nil })
    }

    @Test func aSawtoothOnALeakIsGrowthAtTheLeaksRate() throws {
        var r = Run()
        r.run(seconds: 200) { t in 800 * Self.mib + t.truncatingRemainder(dividingBy: 5) * 40 * Self.mib + t * 0.5 * Self.mib }
        let e = try #require(r.events.first)
        let slope = try #require(e.slopeBytesPerHour) / 3600
        #expect(abs(slope - 0.5 * Self.mib) < 0.05 * 0.5 * Self.mib, "the troughs' rate, not the teeth's")
    }

    /// A cache filled once: 300 MiB more at t = 100 s, flat before and after.
    @Test(arguments: [100, 103, 127])
    func aStepIsNotGrowth(at step: Int) {
        var r = Run()
        r.run(seconds: 400) { t in 600 * Self.mib + (t >= Double(step) ? 300 * Self.mib : 0) }
        #expect(r.events.isEmpty)
        #expect(r.ttl.allSatisfy { $0 == nil })
    }

    /// Jitter of a few MiB around a flat level: never growth worth an event.
    @Test func noiseIsNotGrowth() {
        var rng = SeededRandom(for: "MemoryTrendTests/noiseIsNotGrowth")
        var r = Run()
        r.run(seconds: 3000) { _ in 700 * Self.mib + Double.random(in: -5...5, using: &rng) * Self.mib }
        #expect(r.events.isEmpty)
    }

    /// A leak too slow to reach the limit within the horizon has a time to the limit, no event.
    @Test func aSlowLeakBeyondTheHorizon() throws {
        var r = Run()
        r.run(seconds: 200) { t in 500 * Self.mib + t * 100 * 1024 }
        #expect(r.events.isEmpty)
        let ttl = try #require(r.ttl.last ?? nil)
        #expect(ttl > 3600 && ttl < 20_000)
    }

    @Test func theFastestGrowingWorkersAreNamedFastestFirst() throws {
        var r = Run(workers: 3)
        r.run(seconds: 120, workingSet: { t in 500 * Self.mib + 3 * t * Self.mib }, rss: { i, t in
            switch i {
            case 1: 100 * Self.mib + 0.5 * t * Self.mib
            case 2: 100 * Self.mib + 2 * t * Self.mib
            default: 100 * Self.mib
            }
        })
        let e = try #require(r.events.first)
        #expect(e.processes.map(\.pid) == [102, 101], "growing workers only, fastest first")
        let fastest = try #require(e.processes.first?.growthBytesPerHour)
        #expect(abs(fastest - 2 * 3600 * Self.mib) < 0.02 * 2 * 3600 * Self.mib)
        #expect(e.message.contains("fastest: worker 102"))
    }

    /// The trend keeps ten floors whatever the window's length in samples.
    @Test func constantMemoryPerSeries() {
        var trend = MemoryTrend(windowNanos: 600_000_000_000)
        for i in 0..<100_000 { trend.add(t: UInt64(i) * 100_000_000, value: Double(i % 77)) }
        #expect(trend.floors.count == MemoryTrend.buckets)
    }
}
