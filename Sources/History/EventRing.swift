#if canImport(Glibc)
import Glibc
#endif
import SampleModel

/// The events, newest last, in a fixed number of fixed-size slots (`EventRecordLayout`)
/// allocated at start: no pointers inside, so a history file can hold the same bytes. When full,
/// an append overwrites the oldest event; readers learn it from `truncated`.
///
/// The slots come from calloc: pages the ring never wrote stay untouched, so memory grows with
/// the events that happened, up to capacity × `EventRecordLayout.size` (1,000 events: 5.3 MiB).
/// Reading skips the slots' checksums (this process wrote them; a history file's slots are
/// checked when adopted). Not thread-safe; `EventLog` guards it.
public struct EventRing: ~Copyable {
    public let capacity: Int
    private let slots: UnsafeMutableRawBufferPointer
    /// The sequence the first event got (1, or where a kept history left off).
    public let firstSequence: UInt64
    /// The newest event's sequence; `firstSequence - 1` before any.
    public private(set) var newestSequence: UInt64

    /// Bytes a ring of `capacity` events may come to hold.
    public static func bytes(capacity: Int) -> Int { capacity * EventRecordLayout.size }

    public init(capacity: Int, firstSequence: UInt64 = 1) {
        precondition(capacity >= 1 && capacity <= Self.maximumCapacity, "event ring capacity out of range")
        self.capacity = capacity
        self.firstSequence = max(firstSequence, 1)
        newestSequence = self.firstSequence - 1
        guard let memory = calloc(capacity, EventRecordLayout.size) else { fatalError("cannot allocate \(Self.bytes(capacity: capacity)) bytes for the event ring") }
        slots = UnsafeMutableRawBufferPointer(start: memory, count: Self.bytes(capacity: capacity))
    }

    /// 100,000 events would take 534 MiB; more is a configuration mistake.
    public static let maximumCapacity = 100_000

    deinit { free(slots.baseAddress) }

    /// Events held now.
    public var count: Int { Int(min(newestSequence - (firstSequence - 1), UInt64(capacity))) }
    /// The oldest held event's sequence (nil when empty).
    public var oldestSequence: UInt64? { count == 0 ? nil : newestSequence - UInt64(count) + 1 }
    /// Events overwritten since the ring started.
    public var dropped: UInt64 { newestSequence - (firstSequence - 1) - UInt64(count) }

    private func slot(_ sequence: UInt64) -> UnsafeMutableRawBufferPointer {
        let start = Int(sequence % UInt64(capacity)) * EventRecordLayout.size
        return UnsafeMutableRawBufferPointer(rebasing: slots[start..<(start + EventRecordLayout.size)])
    }

    /// Stores the event under the next sequence, overwriting the oldest when full; returns it
    /// with its sequence.
    @discardableResult
    public mutating func append(_ record: EventRecord) -> EventRecord {
        var record = record
        record.sequence = newestSequence + 1
        EventRecordLayout.encode(record, into: slot(record.sequence))
        newestSequence = record.sequence
        return record
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

    /// The same events in a ring of another capacity: the newest that fit, sequences kept.
    public func resized(to newCapacity: Int) -> EventRing {
        let keep = min(count, newCapacity)
        let first = newestSequence - UInt64(keep) + 1
        var ring = EventRing(capacity: newCapacity, firstSequence: first)
        for sequence in first..<(first + UInt64(keep)) {
            ring.slot(sequence).copyMemory(from: UnsafeRawBufferPointer(slot(sequence)))
        }
        ring.newestSequence = newestSequence
        return ring
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
