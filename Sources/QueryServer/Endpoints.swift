import BuildInfo
import History
import NIOHTTP1
import SampleModel

/// The HTTP API, as pure functions from a request target to a response (no sockets here).
public enum Endpoints {
    /// Windows reach back at most ten years; samples per request at most this many.
    static let maxWindowSeconds = 315_360_000.0
    static let maxSamplesPerRequest: UInt64 = 10_000

    /// An answer now, or one to build off the event loop (its cost grows with what is asked).
    public enum Route: Sendable {
        case ready(Response)
        case slow(@Sendable () -> Response)

        public var response: Response {
            switch self {
            case .ready(let response): response
            case .slow(let build): build()
            }
        }
    }

    public static func respond(method: HTTPMethod, uri: String, accept: String? = nil, role: ServerRole = .query,
                               context: QueryContext) -> Response {
        route(method: method, uri: uri, accept: accept, role: role, context: context).response
    }

    /// Checks the request (method, path, parameters) and says how it is answered. `accept`: the
    /// request's Accept header (for /metrics). A metrics listener (`role` `.metrics`) answers
    /// /metrics and /healthz only.
    public static func route(method: HTTPMethod, uri: String, accept: String? = nil, role: ServerRole = .query,
                             context: QueryContext) -> Route {
        guard method == .GET || method == .HEAD else {
            return .ready(.error(.methodNotAllowed, "method \(method.rawValue) not allowed; only GET and HEAD"))
        }
        let path: Substring, query: Substring
        if let q = uri.firstIndex(of: "?") {
            path = uri[..<q]
            query = uri[uri.index(after: q)...]
        } else {
            path = uri[...]
            query = ""
        }
        if role == .metrics, path != "/metrics", path != "/healthz" {
            return .ready(.error(.notFound, "no such endpoint: \(path) (this listener serves /metrics and /healthz only)"))
        }
        if path == "/v1/window" || path == "/v1/snapshot", role == .query, let kept = context.answers.kept(uri, context) {
            return .ready(kept)
        }
        do {
            let params = try QueryParameters(query)
            switch path {
            case "/healthz": try params.allowOnly([]); return .ready(health(context))
            case "/v1/snapshot":
                try params.allowOnly([])
                return .ready(context.answers.answer(uri, context) { snapshot(context) })
            case "/v1/window": return .ready(try context.answers.answer(uri, context) { () throws(QueryParameters.Invalid) in try window(params, context) })
            case "/v1/samples": return try samples(params, context)
            case "/v1/events": return try EventsEndpoint.route(params, context)
            case "/stats", "/stats/": try params.allowOnly([]); return .ready(DrumStats.response(context))
            case "/metrics": try params.allowOnly([]); return .ready(MetricsEndpoint.response(context, accept: accept))
            default: return .ready(.error(.notFound, "no such endpoint: \(path)"))
            }
        } catch {
            return .ready(.error(.badRequest, error.message))
        }
    }

    // MARK: /healthz

    static func health(_ context: QueryContext, now: UInt64 = Clock.monotonicNanos()) -> Response {
        let cadence = context.cadence()
        let freshness = SampleFreshness(cadence, intervalNanos: context.intervalNanos, now: now)
        guard let age = freshness.ageNanos else { return health(cadence, freshness, context) }
        let key = HealthAnswer.Key(ticks: cadence.ticks, lateTicks: cadence.lateTicks, missedTicks: cadence.missedTicks,
                                   maxLatenessNanos: cadence.maxLatenessNanos, history: context.history.version,
                                   intervalNanos: freshness.intervalNanos, status: freshness.status)
        return context.health.answer(key, ageNanos: age) { health(cadence, freshness, context) }
    }

    static func health(_ cadence: Cadence, _ freshness: SampleFreshness, _ context: QueryContext) -> Response {
        .json(freshness.isStale ? .serviceUnavailable : .ok) { w in
            w.field("status", freshness.status.rawValue)
            w.field("version", BuildInfo.version)
            w.field("revision", BuildInfo.revision)
            w.field("last_sample_age_seconds", seconds: freshness.ageNanos)
            w.field("interval_seconds", seconds: freshness.intervalNanos)
            w.field("ticks", cadence.ticks)
            w.field("late_ticks", cadence.lateTicks)
            w.field("missed_ticks", cadence.missedTicks)
            w.field("lateness_seconds", object: { w in
                w.field("p50", seconds: cadence.latenessPercentile(0.5))
                w.field("p99", seconds: cadence.latenessPercentile(0.99))
                w.field("max", seconds: cadence.ticks == 0 ? nil : cadence.maxLatenessNanos)
            })
            w.field("samples_held", context.history.count)
            w.field("capacity", context.history.capacity)
        }
    }

    // MARK: /v1/snapshot

    static func snapshot(_ context: QueryContext) -> Response {
        guard let (sample, detail) = context.history.latest else {
            return .error(.serviceUnavailable, "no sample taken yet")
        }
        let v = sample.values
        return .json { w in
            w.field("sequence", sample.sequence)
            w.field("time", wallTime: sample.wallNanos)
            w.field("time_unix_ns", sample.wallNanos)
            w.field("interval_seconds", Double(context.intervalNanos) / 1e9)
            w.field("measured_interval_seconds", detail.intervalSeconds)
            let newestEvent = context.events.newestSequence
            w.field("newest_event_sequence", newestEvent == 0 ? nil : newestEvent)
            w.field("target", object: { w in
                w.field("found", detail.target.found)
                w.field("root_pid", detail.target.rootPid.map(Int64.init))
                w.field("mode", detail.target.mode?.rawValue)
                w.field("generation", UInt64(detail.target.generation))
                w.field("process_count", detail.target.processCount)
                w.field("message", detail.target.message)
                w.field("mlops_deployment_id", detail.target.mlopsDeploymentID)
                w.field("mlops_model_id", detail.target.mlopsModelID)
            })
            w.field("cgroup", object: { w in
                w.field("path", detail.cgroup?.path)
                w.field("version", detail.cgroup.map { Int64($0.version) })
            })
            w.field("memory", object: { w in
                w.field("current_bytes", v[.memoryCurrent])
                w.field("peak_bytes", v[.memoryPeak])
                w.field("interval_peak_bytes", v[.memoryIntervalPeak])
                w.field("interval_peak_exact", detail.intervalPeakExact)
                w.field("limit_bytes", v[.memoryLimit])
                w.field("limit_source", detail.limitSource)
                w.field("working_set_bytes", v[.memoryWorkingSet])
                w.field("oom_kills", v[.memoryOOMKills])
                w.field("limit_hits", v[.memoryLimitHits])
                w.field("oom_events", v[.memoryOOMEvents])
                w.field("time_to_limit_seconds", detail.timeToLimitSeconds)
                w.field("pressure_some_avg10", v[.memoryPressureSome])
                w.field("pressure_full_avg10", v[.memoryPressureFull])
                w.field("pressure_some_seconds_total", detail.counters.memoryPressureSomeSeconds)
                w.field("pressure_full_seconds_total", detail.counters.memoryPressureFullSeconds)
                w.field("host_total_bytes", detail.hostTotalBytes)
                w.field("host_available_bytes", v[.hostAvailable])
            })
            w.field("cpu", object: { w in
                w.field("tree_cores", v[.treeCPU])
                w.field("cgroup_cores", v[.cgroupCPU])
                w.field("limit_cores", v[.cpuLimit])
                w.field("throttled_fraction", v[.cpuThrottled])
                w.field("tree_seconds_total", detail.counters.treeCPUSeconds)
                w.field("cgroup_seconds_total", detail.counters.cgroupCPUSeconds)
                w.field("throttled_seconds_total", detail.counters.cgroupThrottledSeconds)
                w.field("periods_total", detail.counters.cgroupPeriods)
                w.field("throttled_periods_total", detail.counters.cgroupThrottledPeriods)
            })
            w.field("tree_rss_bytes", v[.treeRSS])
            w.field("processes", array: { w in
                for p in detail.processes {
                    w.object { w in
                        w.field("pid", Int64(p.pid))
                        w.field("ppid", Int64(p.ppid))
                        w.field("role", p.role.rawValue)
                        w.field("cmdline", p.cmdline.joined(separator: " "))
                        w.field("rss_bytes", p.rssBytes)
                        w.field("cpu_cores", p.cpuCores)
                    }
                }
            })
            w.field("unavailable", object: { w in
                for metric in Metric.allCases {
                    if let why = detail.unavailable[metric] { w.field(metric.name, why) }
                }
            })
        }
    }

    // MARK: /v1/window

    /// The window forms: the newest `samples`; the last `seconds` (on the monotonic clock);
    /// `from` … `to`, or `seconds` up to `end` (wall clock: RFC 3339 or Unix seconds).
    static func window(_ params: QueryParameters, _ context: QueryContext) throws(QueryParameters.Invalid) -> Response {
        try params.allowOnly(["seconds", "samples", "from", "to", "end"])
        let seconds = try params.seconds("seconds", max: maxWindowSeconds)
        let count = try params.unsigned("samples", range: 1...UInt64(Int32.max))
        let from = try params.wallTime("from"), to = try params.wallTime("to"), end = try params.wallTime("end")
        let spec: WindowSpec
        switch (seconds, count, from, to, end) {
        case (let s?, nil, nil, nil, nil): spec = .seconds(s)
        case (nil, let n?, nil, nil, nil): spec = .samples(Int(n))
        case (let s?, nil, nil, nil, let end?):
            spec = .range(fromWallNanos: end - Int64((s * 1e9).rounded()), toWallNanos: end)
        case (nil, nil, let from?, let to?, nil):
            guard from <= to else { throw .init(message: "parameter 'from' must not be after 'to'") }
            guard Double(to - from) / 1e9 <= maxWindowSeconds else {
                throw .init(message: "parameters 'from' and 'to' may be at most \(Int(maxWindowSeconds)) seconds apart")
            }
            spec = .range(fromWallNanos: from, toWallNanos: to)
        case (_, _, .some, nil, _), (_, _, nil, .some, _):
            throw .init(message: "give both parameters 'from' and 'to'")
        case (nil, _, _, _, .some):
            throw .init(message: "parameter 'end' needs 'seconds' (the window is the 'seconds' before 'end')")
        case (nil, nil, nil, nil, nil):
            throw .init(message: "give parameter 'seconds' or 'samples', or 'from' and 'to'")
        default:
            throw .init(message: "give only one of: 'seconds'; 'samples'; 'from' and 'to'; 'seconds' and 'end'")
        }
        let result = context.history.window(spec)
        return .json { w in writeWindow(&w, result) }
    }

    static func writeWindow(_ w: inout JSONWriter, _ result: WindowResult) {
        w.field("window", object: { w in
            var range: (from: Int64, to: Int64)?
            switch result.spec {
            case .seconds(let s): w.field("seconds", s); w.field("samples_requested", nil as Int64?)
            case .samples(let n): w.field("seconds", nil as Double?); w.field("samples_requested", n)
            case .range(let from, let to):
                w.field("seconds", Double(to - from) / 1e9); w.field("samples_requested", nil as Int64?)
                range = (from, to)
            }
            w.field("from", wallTime: range?.from)
            w.field("to", wallTime: range?.to)
            w.field("from_unix_ns", range?.from)
            w.field("to_unix_ns", range?.to)
            w.field("samples", result.sampleCount)
            w.field("covered", result.covered)
            w.field("from_sequence", result.fromSequence)
            w.field("to_sequence", result.toSequence)
            w.field("from_generation", result.fromGeneration.map(UInt64.init))
            w.field("to_generation", result.toGeneration.map(UInt64.init))
        })
        w.field("fields", object: { w in
            for metric in Metric.allCases {
                w.field(metric.name, object: { w in
                    let s = result[metric]
                    w.field("max", s?.max)
                    w.field("max_time", wallTime: s?.maxWallNanos)
                    w.field("max_sequence", s?.maxSequence)
                    w.field("min", s?.min)
                    w.field("avg", s?.average)
                    w.field("last", s?.last)
                    w.field("count", s?.count ?? 0)
                })
            }
        })
    }

    // MARK: /v1/samples

    /// Up to 10,000 samples: built off the event loop (`Route.slow`).
    static func samples(_ params: QueryParameters, _ context: QueryContext) throws(QueryParameters.Invalid) -> Route {
        try params.allowOnly(["since", "limit"])
        let since = try params.unsigned("since", range: 0...UInt64.max) ?? 0
        let limit = try params.unsigned("limit", range: 1...maxSamplesPerRequest) ?? 1000
        return .slow { samples(since: since, limit: Int(limit), context) }
    }

    static func samples(since: UInt64, limit: Int, _ context: QueryContext) -> Response {
        let (samples, truncated) = context.history.samples(after: since, limit: limit)
        return .json { w in
            w.field("truncated", truncated)
            w.field("next_since", samples.last?.sequence ?? since)
            w.field("fields", array: { w in
                w.value("sequence"); w.value("time_unix_ns"); w.value("generation")
                for m in Metric.allCases { w.value(m.name) }
            })
            w.field("samples", array: { w in
                for s in samples {
                    w.array { w in
                        w.value(s.sequence); w.value(s.wallNanos); w.value(UInt64(s.generation))
                        for m in Metric.allCases { w.value(s.values[m]) }
                    }
                }
            })
        }
    }
}
