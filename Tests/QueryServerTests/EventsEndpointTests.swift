import Foundation
import History
import SampleModel
import Testing
@testable import QueryServer

/// `/v1/events`, `/v1/snapshot`'s event fields and the per-kind counters in `/metrics`, answered
/// from an event log filled by hand (no sockets: the endpoints are pure functions).
@Suite struct EventsEndpointTests {
    static func context(events: [EventRecord], capacity: Int = 10) -> QueryContext {
        let history = History(capacity: 10, intervalNanos: 1_000_000_000)
        var detail = SampleDetail(target: .init(found: true, rootPid: 100, mode: .gunicorn, generation: 1, processCount: 1))
        detail.timeToLimitSeconds = 1234.5
        history.append(Sample(sequence: 1, wallNanos: 1_700_000_000_000_000_000, monoNanos: Clock.monotonicNanos(), generation: 1), detail: detail)
        let log = EventLog(capacity: capacity)
        for e in events { log.append(e) }
        return QueryContext(history: history, events: log) { Cadence() }
    }

    static func oomKill() -> EventRecord {
        var e = EventRecord(kind: .oomKill, wallNanos: 1_700_000_000_000_000_000, monoNanos: 5, sampleSequence: 41, generation: 2)
        e.count = 1
        e.memoryCurrentBytes = 2_147_483_648
        e.memoryLimitBytes = 2_147_483_648
        e.limitSource = "/drum"
        e.setProcesses([EventProcess(pid: 1234, ppid: 100, role: .worker, rssBytes: 1_900_000_000, lifetimeNanos: 61_500_000_000,
                                     cmdline: "python -m gunicorn app:app")])
        return e
    }

    static func get(_ target: String, _ context: QueryContext) throws -> (status: UInt, body: [String: Any]) {
        let r = Endpoints.respond(method: .GET, uri: target, context: context)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any], "\(String(decoding: r.body, as: UTF8.self))")
        return (r.status.code, body)
    }

    @Test func anOOMKillAsTheAPIShowsIt() throws {
        let context = Self.context(events: [Self.oomKill()])
        let (status, body) = try Self.get("/v1/events", context)
        #expect(status == 200)
        #expect(body["truncated"] as? Bool == false)
        #expect(body["next_since"] as? Int == 1)
        #expect(body["newest_sequence"] as? Int == 1)
        let event = try #require((body["events"] as? [[String: Any]])?.first)
        #expect(event["sequence"] as? Int == 1)
        #expect(event["kind"] as? String == "oom_kill")
        #expect(event["time"] as? String == "2023-11-14T22:13:20.000Z")
        #expect(event["sample_sequence"] as? Int == 41)
        #expect(event["generation"] as? Int == 2)
        #expect(event["count"] as? Int == 1)
        #expect(event["memory_limit_bytes"] as? Int == 2_147_483_648)
        #expect(event["victim_outside_tree"] as? Bool == false)
        #expect(event["message"] as? String == "OOM kill (memory 2.0 GiB of 2.0 GiB just before): worker 1234 (RSS 1.8 GiB) was killed")
        #expect(event["reason"] == nil, "fields a kind does not have are left out")
        let victim = try #require((event["processes"] as? [[String: Any]])?.first)
        #expect(victim["pid"] as? Int == 1234 && victim["role"] as? String == "worker" && victim["rss_bytes"] as? Int == 1_900_000_000)
        #expect(victim["lifetime_seconds"] as? Double == 61.5)
        #expect(victim["cmdline_truncated"] as? Bool == false)
        #expect(event["more_processes"] as? Int == 0)
    }

    @Test func sinceLimitKindAndTruncated() throws {
        var events: [EventRecord] = []
        for i in 1...6 {
            events.append(EventRecord(kind: i % 2 == 0 ? .processStart : .processExit, wallNanos: 0, monoNanos: UInt64(i), sampleSequence: UInt64(i), generation: 1))
        }
        let context = Self.context(events: events, capacity: 4)
        let all = try Self.get("/v1/events", context).body
        #expect((all["events"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [3, 4, 5, 6])
        #expect(all["truncated"] as? Bool == true, "events 1 and 2 were dropped")
        let page = try Self.get("/v1/events?since=3&limit=2", context).body
        #expect((page["events"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [4, 5])
        #expect(page["truncated"] as? Bool == false && page["next_since"] as? Int == 5)
        let starts = try Self.get("/v1/events?kind=process_start,oom_kill", context).body
        #expect((starts["events"] as? [[String: Any]])?.compactMap { $0["sequence"] as? Int } == [4, 6])
        let none = try Self.get("/v1/events?since=6", context).body
        #expect((none["events"] as? [Any])?.isEmpty == true && none["next_since"] as? Int == 6)
    }

    @Test(arguments: [("/v1/events?kind=oom", "kind"), ("/v1/events?kind=", "kind"), ("/v1/events?limit=0", "limit"),
                      ("/v1/events?limit=1001", "limit"), ("/v1/events?since=-1", "since"), ("/v1/events?seconds=5", "seconds")])
    func badParametersAreNamed(_ target: String, _ name: String) throws {
        let (status, body) = try Self.get(target, Self.context(events: []))
        #expect(status == 400)
        #expect((body["error"] as? String)?.contains("'\(name)'") == true, "\(body)")
    }

    @Test func theSnapshotCarriesTheNewestEventAndTheTimeToTheLimit() throws {
        let empty = try Self.get("/v1/snapshot", Self.context(events: [])).body
        #expect(empty.keys.contains("newest_event_sequence") && empty["newest_event_sequence"] is NSNull)
        let snapshot = try Self.get("/v1/snapshot", Self.context(events: [Self.oomKill(), Self.oomKill()])).body
        #expect(snapshot["newest_event_sequence"] as? Int == 2)
        #expect((snapshot["memory"] as? [String: Any])?["time_to_limit_seconds"] as? Double == 1234.5)
    }

    @Test func metricsCountEventsPerKind() throws {
        let context = Self.context(events: [Self.oomKill(), Self.oomKill()], capacity: 1)
        for _ in 0..<2 {
            let text = String(decoding: Endpoints.respond(method: .GET, uri: "/metrics", context: context).body, as: UTF8.self)
            #expect(text.contains(#"drum_monitor_events_total{kind="oom_kill"} 2"#), "counted although the ring holds one")
            #expect(text.contains(#"drum_monitor_events_total{kind="memory_growth"} 0"#))
        }
    }
}
