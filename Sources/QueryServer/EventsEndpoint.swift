import History
import SampleModel

/// `GET /v1/events?since=SEQ&limit=N&kind=K[,K…]`: the events after `since`, oldest first.
enum EventsEndpoint {
    static let maxEventsPerRequest: UInt64 = 1000

    /// Parameters checked now; the page (up to 1,000 events) built off the event loop.
    static func route(_ params: QueryParameters, _ context: QueryContext) throws(QueryParameters.Invalid) -> Endpoints.Route {
        try params.allowOnly(["since", "limit", "kind"])
        let since = try params.unsigned("since", range: 0...UInt64.max) ?? 0
        let limit = try params.unsigned("limit", range: 1...maxEventsPerRequest) ?? 100
        let kinds = try params.values["kind"].map { text throws(QueryParameters.Invalid) in try kindSet(text) }
        return .slow { page(since: since, limit: Int(limit), kinds: kinds, context) }
    }

    static func page(since: UInt64, limit: Int, kinds: Set<EventKind>?, _ context: QueryContext) -> Response {
        let page = context.events.events(after: since, limit: limit, kinds: kinds)
        let newest = context.events.newestSequence
        return .json { w in
            w.field("truncated", page.truncated)
            w.field("next_since", page.nextSince)
            w.field("newest_sequence", newest == 0 ? nil : newest)
            w.field("events", array: { w in
                for event in page.events { w.object { w in write(&w, event) } }
            })
        }
    }

    static func kindSet(_ text: String) throws(QueryParameters.Invalid) -> Set<EventKind> {
        var kinds = Set<EventKind>()
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let kind = EventKind(name: name) else {
                let known = EventKind.allCases.map(\.name).joined(separator: ", ")
                throw .init(message: "parameter 'kind' must be event kinds separated by commas (\(known)); got '\(text)'")
            }
            kinds.insert(kind)
        }
        return kinds
    }

    /// One event: identity and message always; each structured field only when the kind has it.
    static func write(_ w: inout JSONWriter, _ e: EventRecord) {
        w.field("sequence", e.sequence)
        w.field("kind", e.kind.name)
        w.field("time", wallTime: e.wallNanos)
        w.field("time_unix_ns", Int64(e.wallNanos))
        w.field("sample_sequence", e.sampleSequence)
        w.field("generation", UInt64(e.generation))
        w.field("message", e.message)
        func seconds(_ nanos: UInt64?) -> Double? { nanos.map { Double($0) / 1e9 } }
        let numbers: [(String, UInt64?)] = [
            ("count", e.count), ("memory_current_bytes", e.memoryCurrentBytes), ("memory_working_set_bytes", e.memoryWorkingSetBytes),
            ("memory_limit_bytes", e.memoryLimitBytes), ("previous_limit_bytes", e.previousLimitBytes),
        ]
        for (name, value) in numbers { if let value { w.field(name, value) } }
        let texts: [(String, String?)] = [
            ("limit_source", e.limitSource), ("previous_limit_source", e.previousLimitSource), ("reason", e.reason),
            ("mode", e.mode?.rawValue), ("previous_mode", e.previousMode?.rawValue),
        ]
        for (name, value) in texts { if let value { w.field(name, value) } }
        let reals: [(String, Double?)] = [
            ("threshold_fraction", e.thresholdFraction), ("duration_seconds", seconds(e.durationNanos)),
            ("slope_bytes_per_hour", e.slopeBytesPerHour), ("time_to_limit_seconds", e.timeToLimitSeconds),
            ("window_seconds", seconds(e.windowNanos)),
        ]
        for (name, value) in reals { if let value { w.field(name, value) } }
        if let pid = e.pid { w.field("pid", Int64(pid)) }
        if let pid = e.previousPid { w.field("previous_pid", Int64(pid)) }
        if e.kind == .oomKill { w.field("victim_outside_tree", e.processes.isEmpty) }
        w.field("processes", array: { w in
            for p in e.processes {
                w.object { w in
                    w.field("pid", Int64(p.pid))
                    w.field("ppid", Int64(p.ppid))
                    w.field("role", p.role.rawValue)
                    w.field("rss_bytes", p.rssBytes)
                    w.field("lifetime_seconds", seconds(p.lifetimeNanos))
                    if let g = p.growthBytesPerHour { w.field("growth_bytes_per_hour", g) }
                    w.field("cmdline", p.cmdline)
                    w.field("cmdline_truncated", p.cmdlineTruncated)
                }
            }
        })
        w.field("more_processes", UInt64(e.moreProcesses))
    }
}
