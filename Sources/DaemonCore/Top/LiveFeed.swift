import SampleModel

/// What the screen asks the feed for: the window and how many sparkline columns fit.
struct FeedRequest: Sendable, Equatable {
    var windowSeconds: Double
    var sparkRoom: Int
}

/// What the feed learnt in one round of questions.
struct FeedReport: Sendable {
    var connection: TopView.Connection
    var snapshot: SnapshotDocument?
    var window: WindowDocument?
    var series: Series?
    /// Nil when the daemon has no events endpoint.
    var events: RecentEvents?
    var rootStartedUnixNs: Int64?
    /// Why the daemon could not be asked, as `query` would exit for it.
    var failure: UnixHTTPClient.Failure?
}

/// The questions `top` asks the daemon each refresh, on one kept-alive connection, and what it
/// keeps between refreshes: the sparkline buckets (filled once from range windows or samples,
/// then from the samples that are new since), the window's maximum, the latest events, and
/// what the endpoints support. A refresh asks the snapshot and the new samples; the window once
/// per sparkline column; the events only when the snapshot says there are new ones.
struct LiveFeed {
    /// Asks the daemon; the session's `get`, or recorded answers in tests.
    typealias Get = (String) throws(UnixHTTPClient.Failure) -> (status: Int, body: [UInt8])

    let socketPath: String
    private var report: FeedReport
    /// The newest sample folded into the series.
    private var seriesSequence: Int?
    /// nil: not known yet on this connection.
    private var rangesSupported: Bool?
    private var eventsSupported: Bool?
    /// The window asked for last: its length, and the newest sample's time then (Unix ns).
    private var windowAsked: (seconds: Double, at: Int64)?
    private var downSince: Int64?
    private var root: (pid: Int, generation: Int, started: Int64?)?
    private let rootStart: (Int, String) -> Int64?

    /// `rootStart(pid, cmdline)`: when that process started (Unix ns), if it is the one named.
    init(socketPath: String, rootStart: @escaping (Int, String) -> Int64? = RootStart.unixNanos) {
        self.socketPath = socketPath
        self.rootStart = rootStart
        report = FeedReport(connection: .connecting)
    }

    static let eventPage = RecentEvents.capacity

    /// One round: snapshot, series, window, events. `now` is the wall clock (Unix ns).
    mutating func refresh(_ request: FeedRequest, now: Int64, get: Get) -> FeedReport {
        do {
            try ask(request, get: get)
            report.connection = .up
            report.failure = nil
            downSince = nil
        } catch {
            let since = downSince ?? now
            downSince = since
            report.connection = .down(error.description, sinceUnixNs: since)
            report.failure = error
            forgetConnection()
        }
        return report
    }

    /// What holds only for one daemon: after a reconnect everything is asked again (what was
    /// shown stays on screen until then).
    private mutating func forgetConnection() {
        rangesSupported = nil
        eventsSupported = nil
        seriesSequence = nil
        windowAsked = nil
    }

    private mutating func ask(_ request: FeedRequest, get: Get) throws(UnixHTTPClient.Failure) {
        let snapshot = try document(SnapshotDocument.self, "/v1/snapshot", get)
        if let previous = report.snapshot, snapshot.sequence < previous.sequence {
            // Another daemon (restarted without its history): nothing kept applies.
            forgetConnection()
            report.events = nil
        }
        report.snapshot = snapshot
        updateRoot(snapshot)

        let geometry = SparkGeometry(windowSeconds: request.windowSeconds, room: request.sparkRoom, intervalSeconds: snapshot.interval_seconds)
        var newest: (memory: Double?, oomKills: Double?) = (nil, nil)
        if report.series?.geometry != geometry || seriesSequence == nil {
            try backfill(geometry, snapshot, get)
            windowAsked = nil
        } else {
            newest = try followSamples(get)
        }
        // The window's maximum (and OOM kills in it) falls only as old samples leave the window:
        // asked once per sparkline column, raised by the new samples in between.
        let now = snapshot.time_unix_ns ?? 0
        if let asked = windowAsked, asked.seconds == request.windowSeconds, now >= asked.at, now - asked.at < geometry.bucketNanos,
           var window = report.window {
            Self.raise(&window, memory: newest.memory, oomKills: newest.oomKills)
            report.window = window
        } else {
            report.window = try? document(WindowDocument.self, "/v1/window?seconds=\(TopText.window(request.windowSeconds))", get)
            windowAsked = (request.windowSeconds, now)
        }
        try followEvents(snapshot, get)
    }

    /// A window's statistics after samples with these maxima joined it.
    static func raise(_ window: inout WindowDocument, memory: Double?, oomKills: Double?) {
        for (name, value) in [("memory_interval_peak_bytes", memory), ("memory_current_bytes", memory), ("memory_oom_kills", oomKills)] {
            guard let value, let held = window.fields[name] else { continue }
            window.fields[name]?.max = Swift.max(held.max ?? value, value)
            if held.min == nil { window.fields[name]?.min = value }
        }
    }

    private func document<T: Decodable>(_ type: T.Type, _ target: String, _ get: Get) throws(UnixHTTPClient.Failure) -> T {
        let answer = try get(target)
        if case .fail(let status, let message) = QueryOutcome.of(.snapshot, status: answer.status, body: answer.body) {
            throw UnixHTTPClient.Failure(status: status, description: message)
        }
        do { return try Documents.decode(T.self, answer.body) } catch {
            throw UnixHTTPClient.Failure(status: .failure, description: "drum-monitor: cannot read the daemon's answer to \(target): \(error)")
        }
    }

    // MARK: sparklines

    /// Fills every bucket of a new geometry: from range windows (one per column, each as cheap
    /// for the daemon as the newest-sample window), or, from a daemon without them, from its
    /// samples (at most 10,000: the newest part of a longer window).
    private mutating func backfill(_ geometry: SparkGeometry, _ snapshot: SnapshotDocument, _ get: Get) throws(UnixHTTPClient.Failure) {
        var series = Series(geometry)
        guard let newestTime = snapshot.time_unix_ns else { return }
        let last = geometry.index(ofSampleAt: newestTime)
        let intervalNanos = Int64(snapshot.interval_seconds * 1e9)
        var newestSequence = snapshot.sequence
        if rangesSupported != false {
            for i in (last - Int64(geometry.columns) + 1)...last {
                let (from, to) = geometry.rangeNanos(i, intervalNanos: intervalNanos)
                let answer = try get("/v1/window?from=\(Self.unixSeconds(from))&to=\(Self.unixSeconds(to))")
                if answer.status == 400, rangesSupported == nil, QueryAnswer.errorMessage(answer.body).contains("unknown parameter") {
                    rangesSupported = false
                    break
                }
                guard answer.status == 200, let w = try? Documents.decode(WindowDocument.self, answer.body) else {
                    throw UnixHTTPClient.Failure(status: .failure, description: "drum-monitor: the daemon answered \(answer.status) to a range window: \(QueryAnswer.errorMessage(answer.body))")
                }
                rangesSupported = true
                series.set(i, Self.bucket(w))
                newestSequence = max(newestSequence, w.window.to_sequence ?? 0)
            }
        }
        if rangesSupported == false {
            let wanted = Int(min(geometry.windowSeconds / max(snapshot.interval_seconds, 0.001) + 2, 10_000))
            let since = max(0, snapshot.sequence - wanted)
            let page = try document(SamplesDocument.self, "/v1/samples?since=\(since)&limit=\(wanted)", get)
            Self.fold(page, into: &series)
            newestSequence = max(newestSequence, page.next_since)
        }
        report.series = series
        seriesSequence = newestSequence
    }

    /// Adds the samples taken since the last round; their largest memory and OOM-kill count.
    private mutating func followSamples(_ get: Get) throws(UnixHTTPClient.Failure) -> (memory: Double?, oomKills: Double?) {
        guard var series = report.series, let since = seriesSequence else { return (nil, nil) }
        let limit = 10_000
        let page = try document(SamplesDocument.self, "/v1/samples?since=\(since)&limit=\(limit)", get)
        if page.samples.count >= limit || page.truncated {
            // Far behind (top was stopped): start over at the next round.
            seriesSequence = nil
            return (nil, nil)
        }
        let maxima = Self.fold(page, into: &series)
        report.series = series
        seriesSequence = max(since, page.next_since)
        return maxima
    }

    /// Adds a page of samples to the buckets; the largest memory (interval peak or current) and
    /// OOM-kill count among them.
    @discardableResult
    static func fold(_ page: SamplesDocument, into series: inout Series) -> (memory: Double?, oomKills: Double?) {
        func column(_ name: String) -> Int? { page.fields.firstIndex(of: name) }
        guard let time = column("time_unix_ns") else { return (nil, nil) }
        let current = column("memory_current_bytes"), peak = column("memory_interval_peak_bytes"), cpu = column("tree_cpu_cores")
        let kills = column("memory_oom_kills")
        var maxima: (memory: Double?, oomKills: Double?) = (nil, nil)
        for row in page.samples {
            func value(_ i: Int?) -> Double? { i.flatMap { $0 < row.count ? row[$0] : nil } }
            guard let t = value(time), t.isFinite, abs(t) < 9e18 else { continue }
            let memory = [value(current), value(peak)].compactMap { $0 }.max()
            series.add(sampleAt: Int64(t), memory: memory, cpu: value(cpu))
            maxima.memory = [maxima.memory, memory].compactMap { $0 }.max()
            maxima.oomKills = [maxima.oomKills, value(kills)].compactMap { $0 }.max()
        }
        return maxima
    }

    static func bucket(_ w: WindowDocument) -> Bucket? {
        guard w.window.samples > 0 else { return nil }
        var b = Bucket()
        b.memoryMax = [w.fields["memory_current_bytes"]?.max, w.fields["memory_interval_peak_bytes"]?.max].compactMap { $0 }.max()
        if let cpu = w.fields["tree_cpu_cores"], let avg = cpu.avg, cpu.count > 0 {
            b.cpuSum = avg * Double(cpu.count)
            b.cpuCount = cpu.count
        }
        return b
    }

    /// Unix seconds with nine decimals, as the window's `from` and `to` take them.
    static func unixSeconds(_ ns: Int64) -> String {
        let (s, f) = max(ns, 0).quotientAndRemainder(dividingBy: 1_000_000_000)
        let fraction = String(f)
        return "\(s)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }

    // MARK: events

    /// Asks for events only when the snapshot's newest event is newer than those held; a
    /// daemon without the endpoint (404) hides the panel until the next connection.
    private mutating func followEvents(_ snapshot: SnapshotDocument, _ get: Get) throws(UnixHTTPClient.Failure) {
        if eventsSupported == false { return }
        var recent = report.events ?? RecentEvents()
        if eventsSupported == nil {
            let answer = try get("/v1/events?limit=\(Self.eventPage)")
            if answer.status == 404 {
                eventsSupported = false
                report.events = nil
                return
            }
            let page = try events(answer)
            eventsSupported = true
            recent = RecentEvents()
            recent.add(page.events)
            if let newest = page.newest_sequence, newest > (recent.newestSequence ?? 0) {
                recent.add(try events(try get("/v1/events?since=\(recent.since(newest: newest))&limit=\(Self.eventPage)")).events)
            }
        } else if let newest = snapshot.newest_event_sequence {
            if newest < (recent.newestSequence ?? 0) { recent = RecentEvents() }
            if newest > (recent.newestSequence ?? 0) {
                recent.add(try events(try get("/v1/events?since=\(recent.since(newest: newest))&limit=\(Self.eventPage)")).events)
            }
        }
        report.events = recent
    }

    private func events(_ answer: (status: Int, body: [UInt8])) throws(UnixHTTPClient.Failure) -> EventsDocument {
        if case .fail(let status, let message) = QueryOutcome.of(.snapshot, status: answer.status, body: answer.body) {
            throw UnixHTTPClient.Failure(status: status, description: message)
        }
        do { return try Documents.decode(EventsDocument.self, answer.body) } catch {
            throw UnixHTTPClient.Failure(status: .failure, description: "drum-monitor: cannot read the daemon's events: \(error)")
        }
    }

    // MARK: the root's age

    private mutating func updateRoot(_ s: SnapshotDocument) {
        guard s.target.found, let pid = s.target.root_pid else {
            root = nil
            report.rootStartedUnixNs = nil
            return
        }
        if let root, root.pid == pid, root.generation == s.target.generation, root.started != nil {
            report.rootStartedUnixNs = root.started
            return
        }
        let cmdline = s.processes.first { $0.pid == pid }?.cmdline ?? ""
        let started = rootStart(pid, cmdline)
        root = (pid, s.target.generation, started)
        report.rootStartedUnixNs = started
    }
}
