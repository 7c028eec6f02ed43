// The sampling loop's cadence: lateness percentiles from fixed buckets (issue 11 item 13) and a
// stall reported as its whole gap (item 25).
import Testing
@testable import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// SplitMix64: a seeded generator, so a failure can be replayed with CADENCE_SEED=<seed>.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fromEnvironment(_ variable: String) -> (SeededGenerator, UInt64) {
        let seed = getenv(variable).flatMap { UInt64(String(cString: $0)) } ?? UInt64.random(in: 0...UInt64.max)
        return (SeededGenerator(state: seed), seed)
    }
}

@Suite struct CadenceTests {
    /// The exact nearest-rank percentile, as /healthz computed it by sorting.
    static func exact(_ values: [UInt64], _ p: Double) -> UInt64 {
        let sorted = values.sorted()
        let index = min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }

    /// Over the most recent 4,096 ticks (older ones dropped), every percentile is within 1/32
    /// of the exact one, for latenesses from nanoseconds to minutes.
    @Test func percentilesAreWithinTheStatedErrorOfTheExactOnes() {
        var (rng, seed) = SeededGenerator.fromEnvironment("CADENCE_SEED")
        print("CadenceTests seed: \(seed) (replay with CADENCE_SEED=\(seed))")
        for round in 0..<20 {
            var cadence = Cadence()
            var all: [UInt64] = []
            let n = Int.random(in: 1...10_000, using: &rng)
            for _ in 0..<n {
                // Log-uniform up to ~2 minutes, with runs of zeros and of equal values.
                let v: UInt64 = switch UInt8.random(in: 0..<10, using: &rng) {
                case 0: 0
                case 1: all.last ?? 0
                default: UInt64.random(in: 0...(1 << UInt64.random(in: 0...37, using: &rng)), using: &rng)
                }
                all.append(v)
                cadence.record(latenessNanos: v)
            }
            let recent = Array(all.suffix(Cadence.recentCapacity))
            for p in [0, 0.01, 0.5, 0.9, 0.99, 0.999, 1] {
                let got = cadence.latenessPercentile(p) ?? .max
                let want = Self.exact(recent, p)
                let error = got > want ? got - want : want - got
                #expect(error <= want / 32, "seed \(seed) round \(round) n \(n): p\(p) = \(got), exact \(want)")
            }
            #expect(cadence.maxLatenessNanos == all.max())
        }
    }

    @Test func noTicksNoPercentile() {
        #expect(Cadence().latenessPercentile(0.5) == nil)
    }

    /// Every bucket's representative falls in that bucket, and buckets are ordered like values.
    @Test func bucketsCoverEveryValueInOrder() {
        var previous = -1
        for b in 0..<LatenessBuckets.bucketCount {
            let v = LatenessBuckets.representative(b)
            #expect(LatenessBuckets.bucket(v) == b, "bucket \(b): representative \(v)")
            #expect(b > previous)
            previous = b
        }
        #expect(LatenessBuckets.bucket(.max) == LatenessBuckets.bucketCount - 1)
        #expect(LatenessBuckets.bucket(0) == 0 && LatenessBuckets.bucket(15) == 15 && LatenessBuckets.bucket(16) == 16)
    }

    /// A percentile looks at most at one count per group of 16 buckets and at the 16 buckets of
    /// one group (77), not at every bucket up to it (up to 976: a /healthz on a host whose ticks
    /// are late by milliseconds walked ~300 buckets twice); and it is the bucket a scan of every
    /// bucket finds (the recent window wrapped, so counts also go down).
    @Test func aPercentileLooksAtAFewCountsAndFindsTheSameBucket() {
        var generator = SeededGenerator(state: 0x5EED)
        var buckets = LatenessBuckets()
        var values: [UInt64] = []
        for i in 0..<(LatenessBuckets.recentCapacity + 1500) {
            let v = UInt64.random(in: 0...(i % 7 == 0 ? 1 << 40 : 3_000_000), using: &generator)
            buckets.record(v)
            values.append(v)
        }
        let recent = values.suffix(LatenessBuckets.recentCapacity).map(LatenessBuckets.bucket).sorted()
        for p in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0] {
            var steps = 0
            let found = buckets.percentile(p, steps: &steps)
            let rank = min(recent.count, max(1, Int((p * Double(recent.count)).rounded(.up))))
            #expect(found == LatenessBuckets.representative(recent[rank - 1]), "p\(p)")
            #expect(steps <= LatenessBuckets.groupCount + LatenessBuckets.subBuckets, "p\(p): \(steps) counts looked at")
        }
    }

    /// A tick that stands for 56 deadlines (the loop was stopped 5.6 s at 100 ms): 55 missed, and
    /// its lateness counts from the first deadline it missed, not from the last one.
    @Test func aStallIsTheWholeGap() {
        let interval: UInt64 = 100_000_000
        var cadence = Cadence()
        cadence.recordTick(at: 1_000_000_000 + 2_000_000, earliestDeadline: 1_000_000_000, fires: 1, intervalNanos: interval)
        #expect(cadence.lateTicks == 0 && cadence.missedTicks == 0)
        let firstMissed: UInt64 = 1_100_000_000
        cadence.recordTick(at: firstMissed + 5_596_000_000, earliestDeadline: firstMissed, fires: 56, intervalNanos: interval)
        #expect(cadence.ticks == 2)
        #expect(cadence.missedTicks == 55)
        #expect(cadence.lateTicks == 1)
        #expect(cadence.maxLatenessNanos == 5_596_000_000)
        #expect(cadence.lastTickMono == firstMissed + 5_596_000_000)
    }
}
