/// `/v1/events` as `top` reads it (the fields the panel shows; others are ignored).
struct TopEventsPage: Decodable, Sendable {
    struct Event: Decodable, Sendable, Equatable {
        var sequence: Int
        var kind: String
        var time: String
        var time_unix_ns: Int64?
        var message: String
    }
    var truncated: Bool
    var next_since: UInt64
    var newest_sequence: Int?
    var events: [Event]
}

/// The newest events, newest first, at most `capacity` (the most the panel ever shows).
struct RecentEvents: Sendable, Equatable {
    static let capacity = 8
    private(set) var newestFirst: [TopEventsPage.Event] = []

    var newestSequence: Int? { newestFirst.first?.sequence }

    /// Adds a page (oldest first, as the daemon answers); events already held are skipped.
    mutating func add(_ page: [TopEventsPage.Event]) {
        let known = Set(newestFirst.map(\.sequence))
        let fresh = page.filter { !known.contains($0.sequence) }
        newestFirst = Array((fresh + newestFirst).sorted { $0.sequence > $1.sequence }.prefix(Self.capacity))
    }

    /// What `since` to ask for to learn what happened after what is held, given the daemon's
    /// newest sequence: only the newest `capacity` are of interest.
    func since(newest: Int) -> Int {
        max(newestSequence ?? 0, newest - Self.capacity, 0)
    }
}
