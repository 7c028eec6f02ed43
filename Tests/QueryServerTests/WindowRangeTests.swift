// /v1/window over wall-clock ranges (issue 15): the endpoint as a pure function of the request.
import Foundation
import History
import NIOHTTP1
@testable import QueryServer
import SampleModel
import Testing

@Suite struct WindowRangeTests {
    static let second: Int64 = 1_000_000_000
    /// 2026-05-01T14:00:00Z
    static let t0: Int64 = 1_777_644_000 * second

    /// Samples 1…60, one a second from t0 + 1 s, memory_current_bytes = 1000 × sequence.
    static func context() -> QueryContext {
        let history = History(capacity: 100, intervalNanos: UInt64(second))
        for seq in 1...60 {
            var v = MetricValues()
            v[.memoryCurrent] = Double(seq * 1000)
            history.append(Sample(sequence: UInt64(seq), wallNanos: t0 + Int64(seq) * second, monoNanos: UInt64(seq) * UInt64(second),
                                  generation: 1, values: v),
                           detail: SampleDetail(target: .init(found: false, generation: 0, processCount: 0)))
        }
        return QueryContext(history: history) { Cadence() }
    }

    func get(_ target: String) throws -> (status: HTTPResponseStatus, json: [String: Any]) {
        let r = Endpoints.respond(method: .GET, uri: target, context: Self.context())
        return (r.status, try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any]))
    }

    @Test func aRangeInRFC3339() throws {
        // 14:00:10 … 14:00:20: the samples taken at 11 … 20 s (a sample stands for the second before it).
        let (status, json) = try get("/v1/window?from=2026-05-01T14:00:10Z&to=2026-05-01T16:00:20%2B02:00")
        #expect(status == .ok)
        let window = try #require(json["window"] as? [String: Any])
        #expect(window["samples"] as? Int == 10)
        #expect(window["from_sequence"] as? Int == 11 && window["to_sequence"] as? Int == 20)
        #expect(window["covered"] as? Bool == true)
        #expect(window["seconds"] as? Double == 10)
        #expect(window["from"] as? String == "2026-05-01T14:00:10.000Z" && window["to"] as? String == "2026-05-01T14:00:20.000Z")
        #expect(window["from_unix_ns"] as? Int == Int(Self.t0 + 10 * Self.second))
        let memory = try #require((json["fields"] as? [String: Any])?["memory_current_bytes"] as? [String: Any])
        #expect(memory["max"] as? Double == 20000 && memory["min"] as? Double == 11000 && memory["count"] as? Int == 10)
        #expect(memory["max_sequence"] as? Int == 20)
    }

    @Test func secondsBeforeAnEndInUnixSeconds() throws {
        let (status, json) = try get("/v1/window?seconds=5&end=1777644030.5")
        #expect(status == .ok)
        let window = try #require(json["window"] as? [String: Any])
        // (25.5 s, 30.5 s]: the samples at 26 … 31 s.
        #expect(window["from_sequence"] as? Int == 26 && window["to_sequence"] as? Int == 31)
        #expect(window["seconds"] as? Double == 5)
        #expect(window["samples_requested"] is NSNull)
    }

    /// Before the oldest sample, after the newest: what the history holds, and not covered.
    @Test func rangesBeyondTheHistoryAreNotCovered() throws {
        let before = try get("/v1/window?from=1777643000&to=1777644005").json["window"] as? [String: Any]
        #expect(before?["samples"] as? Int == 5 && before?["covered"] as? Bool == false)
        let after = try get("/v1/window?from=1777644055&to=1777644100").json["window"] as? [String: Any]
        #expect(after?["from_sequence"] as? Int == 56 && after?["covered"] as? Bool == false)
        let none = try get("/v1/window?from=1700000000&to=1700000010").json["window"] as? [String: Any]
        #expect(none?["samples"] as? Int == 0 && none?["covered"] as? Bool == false && none?["from_sequence"] is NSNull)
    }

    /// A late tick (sample 11 taken at 11.5 s instead of 11 s) and the early one after it (12 at
    /// 12 s): each sample stands for the time since the one before it, as its interval peak
    /// does, so consecutive samples cover the wall clock without a hole and without overlap. With
    /// a nominal (t − 1 s, t] for sample 11, (10 s, 10.5 s] would belong to no sample, and a window
    /// ending there would say `covered` without the sample that measured its end.
    @Test func aLateTickStandsForTheTimeSinceTheSampleBefore() throws {
        let history = History(capacity: 100, intervalNanos: UInt64(Self.second))
        let half = Self.second / 2
        for seq in 1...13 {
            let at = Int64(seq) * Self.second + (seq == 11 ? half : 0)
            var v = MetricValues()
            v[.memoryCurrent] = Double(seq * 1000)
            history.append(Sample(sequence: UInt64(seq), wallNanos: Self.t0 + at, monoNanos: UInt64(at), generation: 1, values: v),
                           detail: SampleDetail(target: .init(found: false, generation: 0, processCount: 0)))
        }
        let context = QueryContext(history: history) { Cadence() }
        func window(_ query: String) throws -> (window: [String: Any], max: Double?) {
            let r = Endpoints.respond(method: .GET, uri: "/v1/window?" + query, context: context)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
            let memory = (json["fields"] as? [String: Any])?["memory_current_bytes"] as? [String: Any]
            return (try #require(json["window"] as? [String: Any]), memory?["max"] as? Double)
        }
        // Inside (10 s, 10.5 s]: sample 11 measured it.
        let inside = try window("from=1777644010.2&to=1777644010.4")
        #expect(inside.window["from_sequence"] as? Int == 11 && inside.window["to_sequence"] as? Int == 11)
        #expect(inside.window["covered"] as? Bool == true)
        // Ending there: samples 10 and 11, and 11's value counts.
        let ending = try window("from=1777644009.5&to=1777644010.2")
        #expect(ending.window["from_sequence"] as? Int == 10 && ending.window["to_sequence"] as? Int == 11)
        #expect(ending.max == 11000 && ending.window["covered"] as? Bool == true)
        // (11 s, 11.5 s] is sample 11's alone: 12 stands for (11.5 s, 12 s].
        let early = try window("from=1777644011.2&to=1777644011.3")
        #expect(early.window["from_sequence"] as? Int == 11 && early.window["to_sequence"] as? Int == 11)
        #expect(try window("from=1777644011.6&to=1777644011.7").window["from_sequence"] as? Int == 12)
    }

    /// The generations of a window's oldest and newest samples (a DRUM restart at sequence 31):
    /// what a request's peak needs to know that one server was watched throughout.
    @Test func theWindowSaysWhichGenerationsItHolds() throws {
        let history = History(capacity: 100, intervalNanos: UInt64(Self.second))
        for seq in 1...60 {
            history.append(Sample(sequence: UInt64(seq), wallNanos: Self.t0 + Int64(seq) * Self.second, monoNanos: UInt64(seq) * UInt64(Self.second),
                                  generation: seq <= 30 ? 4 : 5),
                           detail: SampleDetail(target: .init(found: false, generation: 0, processCount: 0)))
        }
        let context = QueryContext(history: history) { Cadence() }
        func window(_ query: String) throws -> [String: Any] {
            let r = Endpoints.respond(method: .GET, uri: "/v1/window?" + query, context: context)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
            return try #require(json["window"] as? [String: Any])
        }
        let within = try window("from=1777644010&to=1777644020")
        #expect(within["from_generation"] as? Int == 4 && within["to_generation"] as? Int == 4)
        let across = try window("from=1777644025&to=1777644035")
        #expect(across["from_generation"] as? Int == 4 && across["to_generation"] as? Int == 5)
        let newest = try window("samples=5")
        #expect(newest["from_generation"] as? Int == 5 && newest["to_generation"] as? Int == 5)
        let none = try window("from=1700000000&to=1700000010")
        #expect(none["from_generation"] is NSNull && none["to_generation"] is NSNull)
    }

    @Test(arguments: [
        ("/v1/window?from=1777644000", "'from' and 'to'"),
        ("/v1/window?to=1777644000", "'from' and 'to'"),
        ("/v1/window?end=1777644000", "'end' needs 'seconds'"),
        ("/v1/window?samples=3&end=1777644000", "'end' needs 'seconds'"),
        ("/v1/window?from=1777644001&to=1777644000", "'from' must not be after 'to'"),
        ("/v1/window?from=1000000000&to=1777644000", "at most 315360000 seconds apart"),
        ("/v1/window?from=2026-02-30T00:00:00Z&to=1777644000", "parameter 'from' must be a time"),
        ("/v1/window?from=1777644000&to=now", "parameter 'to' must be a time"),
        ("/v1/window?seconds=5&from=1777644000&to=1777644001", "only one of"),
    ])
    func badRangesNameTheParameter(_ target: String, _ text: String) throws {
        let (status, json) = try get(target)
        #expect(status == .badRequest)
        #expect((json["error"] as? String)?.contains(text) == true, "\(target): \(json)")
    }
}
