import History
import SampleModel
import Testing
@testable import QueryServer

/// Issue 11 item 14: /v1/snapshot and /v1/window are built once per sample (or event) per
/// distinct request; identical requests in between get the same bytes. Counted, not timed.
@Suite struct AnswerCacheTests {
    static func append(_ history: History, sequence: UInt64, memory: Double) {
        var values = MetricValues()
        values[.memoryCurrent] = memory
        history.append(Sample(sequence: sequence, wallNanos: Fixture.firstWallNanos + Int64(sequence) * 1_000_000_000,
                              monoNanos: sequence * 1_000_000_000, generation: 1, values: values),
                       detail: SampleDetail(target: .init(found: true, rootPid: 4242, mode: .gunicorn, generation: 1, processCount: 1)))
    }

    static func get(_ uri: String, _ context: QueryContext) -> Response {
        Endpoints.respond(method: .GET, uri: uri, context: context)
    }

    @Test func identicalRequestsBetweenTwoSamplesAreBuiltOnce() {
        let history = Fixture.history(samples: 5)
        let context = QueryContext(history: history) { Cadence() }
        for uri in ["/v1/window?seconds=3600", "/v1/snapshot"] {
            let before = context.answers.built
            let first = Self.get(uri, context)
            for _ in 0..<100 { #expect(Self.get(uri, context).body == first.body) }
            #expect(context.answers.built == before + 1, "\(uri)")
        }
    }

    @Test func aNewSampleOrEventIsAnsweredAtOnce() throws {
        let history = Fixture.history(samples: 5)
        let log = EventLog(capacity: 10)
        let context = QueryContext(history: history, events: log) { Cadence() }
        let window = Self.get("/v1/window?samples=100", context)
        let snapshot = Self.get("/v1/snapshot", context)
        Self.append(history, sequence: 6, memory: Double(999 << 20))
        let window2 = Self.get("/v1/window?samples=100", context)
        let snapshot2 = Self.get("/v1/snapshot", context)
        #expect(window2.body != window.body)
        #expect(String(decoding: window2.body, as: UTF8.self).contains("\"to_sequence\":6"))
        #expect(String(decoding: snapshot2.body, as: UTF8.self).contains("\"sequence\":6"))
        #expect(snapshot2.body != snapshot.body)
        // An event alone (no new sample) changes the snapshot's newest_event_sequence.
        log.append(EventRecord(kind: .oomKill, wallNanos: Fixture.firstWallNanos, monoNanos: 5, sampleSequence: 6, generation: 1))
        let snapshot3 = Self.get("/v1/snapshot", context)
        #expect(String(decoding: snapshot3.body, as: UTF8.self).contains("\"newest_event_sequence\":1"))
        #expect(context.answers.built == 5)
    }

    @Test func aNewIntervalIsAnsweredAtOnce() {
        let history = Fixture.history(samples: 5)
        let context = QueryContext(history: history) { Cadence() }
        let before = Self.get("/v1/snapshot", context)
        history.reconfigure(capacity: history.capacity, intervalNanos: 2_000_000_000)
        let after = Self.get("/v1/snapshot", context)
        #expect(String(decoding: before.body, as: UTF8.self).contains("\"interval_seconds\":1,"))
        #expect(String(decoding: after.body, as: UTF8.self).contains("\"interval_seconds\":2,"))
    }

    @Test func errorsAndManyDistinctRequestsAreNotKept() {
        let history = Fixture.history(samples: 5)
        let context = QueryContext(history: history) { Cadence() }
        _ = Self.get("/v1/window?seconds=-1", context)
        _ = Self.get("/v1/window?seconds=-1", context)
        #expect(context.answers.built == 0) // refused before anything is built
        // More distinct windows than the cache holds: each built, the oldest forgotten, memory bounded.
        for n in 1...(AnswerCache.capacity + 3) { _ = Self.get("/v1/window?samples=\(n)", context) }
        #expect(context.answers.built == UInt64(AnswerCache.capacity + 3))
        _ = Self.get("/v1/window?samples=1", context)
        #expect(context.answers.built == UInt64(AnswerCache.capacity + 4))
        _ = Self.get("/v1/window?samples=\(AnswerCache.capacity + 3)", context)
        #expect(context.answers.built == UInt64(AnswerCache.capacity + 4))
    }
}
