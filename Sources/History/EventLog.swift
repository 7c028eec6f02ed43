import SampleModel
import Synchronization

/// The shared event ring behind a mutex, with a count per kind since the daemon started (for
/// /metrics: counters that a full ring does not lower). The sampler's queue appends; the query
/// server reads. Each holds the lock for a bounded copy, never for I/O.
public final class EventLog: Sendable {
    private struct State: ~Copyable {
        var ring: EventRing
        var counts: [UInt64]
    }

    private let state: Mutex<State>

    /// An empty log in memory whose first event gets `firstSequence`.
    public convenience init(capacity: Int, firstSequence: UInt64 = 1) {
        self.init(ring: EventRing(capacity: capacity, firstSequence: firstSequence))
    }

    /// A log over `ring` (in the history file, or holding the events adopted from it).
    init(ring: consuming EventRing) {
        state = Mutex(State(ring: ring, counts: [UInt64](repeating: 0, count: Int(EventKind.allCases.map(\.rawValue).max()!) + 1)))
    }

    public var capacity: Int { state.withLock { $0.ring.capacity } }

    /// Events held now.
    public var count: Int { state.withLock { $0.ring.count } }

    /// Logs the event; returns it with its sequence.
    @discardableResult
    public func append(_ record: EventRecord) -> EventRecord {
        state.withLock { s in
            s.counts[Int(record.kind.rawValue)] &+= 1
            return s.ring.append(record)
        }
    }

    public func events(after since: UInt64, limit: Int, kinds: Set<EventKind>? = nil) -> EventPage {
        state.withLock { $0.ring.events(after: since, limit: limit, kinds: kinds) }
    }

    /// The newest event's sequence (0 before any).
    public var newestSequence: UInt64 { state.withLock { $0.ring.newestSequence } }

    public var newest: EventRecord? { state.withLock { $0.ring.newest } }

    public func newest(of kind: EventKind) -> EventRecord? { state.withLock { $0.ring.newest(of: kind) } }

    /// Events of each kind logged since the daemon started.
    public func count(of kind: EventKind) -> UInt64 { state.withLock { $0.counts[Int(kind.rawValue)] } }

    /// The oldest held event's sequence (nil when empty).
    public var oldestSequence: UInt64? { state.withLock { $0.ring.oldestSequence } }

    /// A new capacity in memory (configuration reload without a history file): the newest
    /// events that fit are kept (a copy of at most the old ring's bytes, under the lock: events
    /// are rare and reloads rarer).
    public func resize(to capacity: Int) {
        state.withLock { s in
            guard capacity != s.ring.capacity else { return }
            s.ring = s.ring.resized(to: capacity)
        }
    }

    /// The events move to `region` (a new history file's, at a reload): the newest that fit,
    /// copied under the lock, so that no append falls between.
    func move(into region: EventRegion) {
        state.withLock { s in s.ring = s.ring.copied(into: region) }
    }

    /// Where the ring is: anonymous memory, or a history file's event region.
    var region: EventRegion { state.withLock { $0.ring.region } }
    var isInFile: Bool { region.file != nil }
}
