import History
import SampleModel
import Synchronization
import Testing
@testable import QueryServer

/// /healthz built once per tick (or history or status change); the requests in between write only
/// the age, and get exactly the bytes a full build at their time gives. Counted, not timed.
@Suite struct HealthAnswerTests {
    final class Ticks: Sendable {
        let cadence = Mutex(Cadence())
        func tick(at mono: UInt64, lateBy: UInt64 = 150_000) {
            cadence.withLock { $0.recordTick(at: mono, earliestDeadline: mono - lateBy, fires: 1, intervalNanos: 1_000_000_000) }
        }
    }

    @Test func builtOncePerTickWithTheAgeOfEachRequest() {
        let ticks = Ticks()
        let history = Fixture.history(samples: 5)
        let context = QueryContext(history: history) { ticks.cadence.withLock { $0 } }
        let t0: UInt64 = 1_000_000_000_000
        ticks.tick(at: t0)
        for (i, now) in stride(from: t0 + 1, to: t0 + 2_900_000_000, by: 29_000_001).enumerated() {
            let kept = Endpoints.health(context, now: now)
            let full = Endpoints.health(ticks.cadence.withLock { $0 }, SampleFreshness(ticks.cadence.withLock { $0 }, intervalNanos: 1_000_000_000, now: now), context)
            #expect(kept.body == full.body, "request \(i)")
            #expect(kept.status == .ok)
        }
        #expect(context.health.built == 1)
        // A tick: built again, with the new tick count and lateness.
        ticks.tick(at: t0 + 3_000_000_000, lateBy: 9_000_000)
        let after = String(decoding: Endpoints.health(context, now: t0 + 3_000_000_001).body, as: UTF8.self)
        #expect(after.contains(#""ticks":2,"#) && after.contains(#""max":0.009}"#), "\(after)")
        #expect(context.health.built == 2)
        // Stale (more than three intervals without a tick): a new status, built again, 503.
        let stale = Endpoints.health(context, now: t0 + 6_500_000_000)
        #expect(stale.status == .serviceUnavailable)
        #expect(String(decoding: stale.body, as: UTF8.self).contains(#""status":"stale","#))
        #expect(context.health.built == 3)
        // A sample appended to the history (samples_held changes) without a tick: built again.
        _ = Endpoints.health(context, now: t0 + 6_500_000_002)
        #expect(context.health.built == 3)
        AnswerCacheTests.append(history, sequence: 6, memory: 1)
        let held = String(decoding: Endpoints.health(context, now: t0 + 6_500_000_003).body, as: UTF8.self)
        #expect(held.contains(#""samples_held":6,"#), "\(held)")
        #expect(context.health.built == 4)
    }

    @Test func beforeTheFirstTickNothingIsKept() {
        let context = QueryContext(history: Fixture.history(samples: 0)) { Cadence() }
        let body = String(decoding: Endpoints.health(context).body, as: UTF8.self)
        #expect(body.contains(#""last_sample_age_seconds":null"#))
        #expect(context.health.built == 0)
    }
}
