/// The newest events, newest first, at most `capacity` (the most the panel ever shows).
struct RecentEvents: Sendable, Equatable {
    static let capacity = 8
    private(set) var newestFirst: [EventsDocument.Event] = []

    var newestSequence: Int? { newestFirst.first?.sequence }

    /// Adds a page (oldest first, as the daemon answers); events already held are skipped.
    mutating func add(_ page: [EventsDocument.Event]) {
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
