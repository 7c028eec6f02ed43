import SampleModel

/// The events, newest last, in a fixed number of fixed-size slots (`EventRecordLayout`)
/// allocated at start: no pointers inside, so the history file holds the same bytes. When full,
/// an append overwrites the oldest event; readers learn it from `truncated`. Event `s` is in
/// slot `s mod capacity`, which is how a ring is found again in a file (`EventScan`).
///
/// The slots are an `EventRegion`: anonymous memory, or the history file's event region. Either
/// way pages the ring never wrote stay untouched, so resident memory grows with the events that
/// happened, up to capacity × `EventRecordLayout.size` (1,000 events: 2 MiB). Reading skips the
/// slots' checksums (this process wrote them, or checked them when it adopted the file). Not
/// thread-safe; `EventLog` guards it. (Unchecked Sendable: a ring owns its region and, being
/// non-copyable, is moved, never shared — into the log that guards it.)
public struct EventRing: ~Copyable, @unchecked Sendable {
    public let capacity: Int
    let region: EventRegion
    /// The sequence the ring started from: 1, or the oldest event kept from before.
    public let firstSequence: UInt64
    /// The newest event's sequence; `firstSequence - 1` before any.
    public private(set) var newestSequence: UInt64

    /// Bytes a ring of `capacity` events may come to hold.
    public static func bytes(capacity: Int) -> Int { EventRegion.bytes(capacity: capacity) }

    /// An empty ring in anonymous memory whose first event gets `firstSequence`.
    public init(capacity: Int, firstSequence: UInt64 = 1) {
        precondition(capacity >= 1 && capacity <= Self.maximumCapacity, "event ring capacity out of range")
        let region: EventRegion
        do { region = try EventRegion(capacity: capacity) } catch { fatalError("\(error)") }
        self.init(region: region, firstSequence: firstSequence)
    }

    /// A ring over `region` whose first event gets `firstSequence` (none written yet).
    init(region: EventRegion, firstSequence: UInt64 = 1) {
        capacity = region.capacity
        self.region = region
        self.firstSequence = Swift.max(firstSequence, 1)
        newestSequence = self.firstSequence - 1
    }

    /// A ring over `region` that already holds events `newest - count + 1 ... newest` in their
    /// slots (adopted from a history file, or copied there).
    init(region: EventRegion, holding count: Int, newest: UInt64) {
        precondition(count <= region.capacity && UInt64(count) <= newest)
        capacity = region.capacity
        self.region = region
        firstSequence = count == 0 ? newest + 1 : newest - UInt64(count) + 1
        newestSequence = newest
    }

    /// 100,000 events would take 195 MiB; more is a configuration mistake.
    public static let maximumCapacity = 100_000
    /// Sequences stop well before they could wrap: 2^62 events at a million a second is 146,000
    /// years, and a file claiming more is not believed (`EventScan`).
    static let maximumSequence: UInt64 = 1 << 62

    /// Events held now.
    public var count: Int { Int(min(newestSequence - (firstSequence - 1), UInt64(capacity))) }
    /// The oldest held event's sequence (nil when empty).
    public var oldestSequence: UInt64? { count == 0 ? nil : newestSequence - UInt64(count) + 1 }
    /// Events overwritten since the ring started.
    public var dropped: UInt64 { newestSequence - (firstSequence - 1) - UInt64(count) }

    private func slot(_ sequence: UInt64) -> UnsafeMutableRawBufferPointer {
        region.record(Int(sequence % UInt64(capacity)))
    }

    /// Stores the event under the next sequence, overwriting the oldest when full; returns it as
    /// stored (with its sequence, and its texts as the record keeps them).
    @discardableResult
    public mutating func append(_ record: EventRecord) -> EventRecord {
        var record = record
        record.sequence = newestSequence + 1
        let bytes = slot(record.sequence)
        EventRecordLayout.encode(record, into: bytes)
        newestSequence = record.sequence
        return (try? EventRecordLayout.decode(UnsafeRawBufferPointer(bytes), verifyChecksum: false)) ?? record
    }

    /// Events with a sequence after `since`, oldest first, at most `limit`, only of `kinds`
    /// (nil: all). `truncated`: events after `since` were already overwritten. `nextSince`: what
    /// to ask with next — the last event looked at, so events a filter skipped are not read again.
    public func events(after since: UInt64, limit: Int, kinds: Set<EventKind>? = nil) -> EventPage {
        guard let oldest = oldestSequence else { return EventPage(events: [], truncated: false, nextSince: since) }
        // Events since+1 ..< oldest were dropped (written so since = UInt64.max cannot wrap).
        let truncated = oldest - 1 > since
        var page = EventPage(events: [], truncated: truncated, nextSince: max(since, oldest - 1))
        guard limit > 0, since < newestSequence else { return page }
        var sequence = max(since + 1, oldest)
        while sequence <= newestSequence, page.events.count < limit {
            let bytes = UnsafeRawBufferPointer(slot(sequence))
            if kinds.map({ set in EventRecordLayout.kind(bytes).map(set.contains) ?? false }) ?? true,
               let record = try? EventRecordLayout.decode(bytes, verifyChecksum: false) {
                page.events.append(record)
            }
            page.nextSince = sequence
            sequence += 1
        }
        return page
    }

    /// The newest event, if any.
    public var newest: EventRecord? {
        count == 0 ? nil : try? EventRecordLayout.decode(UnsafeRawBufferPointer(slot(newestSequence)), verifyChecksum: false)
    }

    /// The newest event of a kind, if the ring holds one (looks at one byte per event newer).
    public func newest(of kind: EventKind) -> EventRecord? {
        guard let oldest = oldestSequence else { return nil }
        var sequence = newestSequence
        while sequence >= oldest {
            let bytes = UnsafeRawBufferPointer(slot(sequence))
            if EventRecordLayout.kind(bytes) == kind { return try? EventRecordLayout.decode(bytes, verifyChecksum: false) }
            sequence -= 1
        }
        return nil
    }

    /// The same events in a ring of another capacity in anonymous memory: the newest that fit,
    /// sequences kept.
    public func resized(to newCapacity: Int) -> EventRing {
        do { return copied(into: try EventRegion(capacity: newCapacity)) } catch { fatalError("\(error)") }
    }

    /// The same events in `region` (of any capacity): the newest that fit, sequences kept.
    func copied(into region: EventRegion) -> EventRing {
        let keep = min(count, region.capacity)
        let first = newestSequence - UInt64(keep) + 1
        for sequence in first..<(first + UInt64(keep)) {
            region.record(Int(sequence % UInt64(region.capacity))).copyMemory(from: UnsafeRawBufferPointer(slot(sequence)))
        }
        return keep == 0 ? EventRing(region: region, firstSequence: newestSequence + 1)
            : EventRing(region: region, holding: keep, newest: newestSequence)
    }
}

/// One page of events, as `/v1/events` answers it.
public struct EventPage: Sendable, Equatable {
    public var events: [EventRecord]
    public var truncated: Bool
    public var nextSince: UInt64

    public init(events: [EventRecord], truncated: Bool, nextSince: UInt64) {
        self.events = events
        self.truncated = truncated
        self.nextSince = nextSince
    }
}
