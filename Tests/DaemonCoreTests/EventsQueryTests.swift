import Testing
@testable import DaemonCore

/// `query events`: the request it sends, the lines it prints, and `--follow` asking again from
/// the last `next_since`.
@Suite struct EventsQueryTests {
    static func page(_ events: [(Int, String, String)], next: Int, truncated: Bool = false) -> [UInt8] {
        let items = events.map { #"{"sequence":\#($0.0),"kind":"\#($0.1)","time":"2026-12-01T03:00:00.000Z","sample_sequence":1,"generation":1,"message":"\#($0.2)","processes":[],"more_processes":0}"# }
        return Array(#"{"truncated":\#(truncated),"next_since":\#(next),"newest_sequence":\#(next),"events":[\#(items.joined(separator: ","))]}"#.utf8) + [10]
    }

    @Test func targets() {
        #expect(EventsQuery(since: nil, limit: nil, kinds: nil).target() == "/v1/events")
        #expect(EventsQuery(since: 4, limit: 10, kinds: "oom_kill,worker_replaced").target() == "/v1/events?since=4&limit=10&kind=oom_kill,worker_replaced")
    }

    @Test func followAsksFromTheLastNextSinceAndPrintsOnlyNewEvents() throws {
        var asked: [String] = []
        var printed: [String] = []
        let pages: [[UInt8]] = [
            Self.page([(1, "target_found", "watching DRUM root 100 (gunicorn)")], next: 1, truncated: true),
            Self.page([], next: 1),
            Self.page([(2, "oom_kill", "OOM kill: worker 102 was killed"), (3, "worker_replaced", "worker 102 replaced by 103")], next: 3),
        ]
        do {
            try EventsQuery(since: nil, limit: nil, kinds: nil).run(follow: true, json: false, everySeconds: 1, get: { target throws(UnixHTTPClient.Failure) in
                asked.append(target)
                // The daemon stops: the query ends as any query would, "not running".
                guard asked.count <= pages.count else { throw UnixHTTPClient.Failure(status: .notRunning, description: "drum-monitor is not running") }
                return (200, pages[asked.count - 1])
            }, output: { printed.append($0) }, sleep: { _ in })
            Issue.record("follow ended by itself")
        } catch {
            #expect(error.status == .notRunning)
        }
        #expect(asked == ["/v1/events", "/v1/events?since=1", "/v1/events?since=1", "/v1/events?since=3"])
        #expect(printed.count == 2, "an empty page prints nothing while following: \(printed)")
        #expect(printed[0].hasPrefix("(older events after the requested sequence were already dropped"))
        #expect(printed[1] == """
            2026-12-01T03:00:00.000Z #2     oom_kill            OOM kill: worker 102 was killed
            2026-12-01T03:00:00.000Z #3     worker_replaced     worker 102 replaced by 103
            """)
    }

    @Test func onceWithoutEventsAndAnError() throws {
        var printed: [String] = []
        try EventsQuery(since: 9, limit: nil, kinds: nil).run(follow: false, json: false, everySeconds: 1,
                                                             get: { _ in (200, Self.page([], next: 9)) }, output: { printed.append($0) })
        #expect(printed == ["no events"])
        #expect(throws: EventsQuery.Failure(description: "drum-monitor: the daemon answered 400: parameter 'kind' must be event kinds", status: .failure)) {
            try EventsQuery(since: nil, limit: nil, kinds: "oom").run(follow: false, json: false, everySeconds: 1,
                get: { _ in (400, Array(#"{"error":"parameter 'kind' must be event kinds"}"#.utf8)) }, output: { _ in })
        }
        #expect(throws: EventsQuery.Failure(description: "drum-monitor is busy: all connections in use", status: .busy)) {
            try EventsQuery(since: nil, limit: nil, kinds: nil).run(follow: false, json: false, everySeconds: 1,
                get: { _ in (503, Array(#"{"error":"busy: all connections in use"}"#.utf8)) }, output: { _ in })
        }
    }

}
