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
