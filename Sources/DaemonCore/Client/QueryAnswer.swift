/// What `drum-monitor query` can ask the daemon for.
public enum QueryKind: String, CaseIterable, Sendable {
    case snapshot, window, samples, stats, health, events
}

/// The daemon's answers as the query client shows them.
public enum QueryAnswer {
    /// An answer's body as text for a person; throws when the body is not the document expected.
    public static func humanText(_ kind: QueryKind, _ body: [UInt8]) throws -> String {
        switch kind {
        case .snapshot: HumanFormat.snapshot(try Documents.decode(SnapshotDocument.self, body))
        case .window: HumanFormat.window(try Documents.decode(WindowDocument.self, body))
        case .health: HumanFormat.health(try Documents.decode(HealthDocument.self, body))
        case .samples: HumanFormat.samples(try Documents.decode(SamplesDocument.self, body))
        case .stats: HumanFormat.stats(try Documents.decode(StatsDocument.self, body))
        case .events: EventsQuery.text(try Documents.decode(EventsDocument.self, body))
        }
    }

    /// The message of an error answer (`{"error": "…"}`), else the body as it came.
    public static func errorMessage(_ body: [UInt8]) -> String {
        (try? Documents.decode(ErrorDocument.self, body).error) ?? String(decoding: body, as: UTF8.self)
    }
}
