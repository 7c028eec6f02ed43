import SampleModel
import Synchronization

/// The shared history: the store plus the latest sample's detail, behind a mutex, and the events
/// (kept in the same file as the samples, or in memory with them).
///
/// The sampler holds the lock only to append (a slot and a few table entries per metric) and
/// readers only for a constant-time window or a bounded copy, so neither waits on I/O,
/// formatting or a slow client, and no reader ever sees a half-written sample.
public final class History: Sendable {
    private struct State: ~Copyable {
        var store: SampleStore
        /// A struct, not a tuple: replacing a tuple of these goes through generic value witnesses
        /// on every append.
        var latest: Latest?
        var persistence: HistoryPersistence
        /// Counts every change readers can see (an append, a new interval or store): answers
        /// built from the history stay right while it is unchanged (QueryServer's AnswerCache).
        var version: UInt64 = 0
    }

    private struct Latest {
        var sample: Sample
        var detail: SampleDetail
    }

    private let state: Mutex<State>
    /// Where a new store is made on reconfiguration (the file's path and the clock), if anywhere.
    private let fileOptions: HistoryFileOptions?
    /// The events: their own lock (the sampler appends, /v1/events reads), their ring in the
    /// history file's event region when the samples are in the file.
    public let events: EventLog

    /// Events kept unless configured otherwise (`event_ring_size`).
    public static let defaultEventCapacity = 1000

    /// A history in memory only.
    public convenience init(capacity: Int, intervalNanos: UInt64, eventCapacity: Int = History.defaultEventCapacity) {
        self.init(store: HistoryStorage.inMemory(capacity, intervalNanos), events: EventLog(capacity: eventCapacity),
                  persistence: .memory(reason: nil), fileOptions: nil)
    }

    private init(store: SampleStore, events: EventLog, persistence: HistoryPersistence, fileOptions: HistoryFileOptions?) {
        state = Mutex(State(store: store, latest: nil, persistence: persistence))
        self.events = events
        self.fileOptions = fileOptions
    }

    /// A history kept in the file `options` names (see `HistoryStorage.open`), or in memory
    /// when that is impossible; `HistoryOpening` says which, and what was found in the file.
    public static func open(capacity: Int, intervalNanos: UInt64, eventCapacity: Int = History.defaultEventCapacity,
                            options: HistoryFileOptions) -> (History, HistoryOpening) {
        let shape = HistoryShape(capacity: capacity, intervalNanos: intervalNanos, eventCapacity: eventCapacity)
        let (store, events, opening) = HistoryStorage.open(shape, options: options)
        return (History(store: store, events: events, persistence: opening.persistence, fileOptions: options), opening)
    }

    /// Bytes a history of `capacity` samples takes, file and private memory together.
    public static func bytesNeeded(capacity: Int) -> Int { SampleStore.bytes(capacity: capacity) }

    /// Where the bytes of a history of `capacity` samples and `eventCapacity` events go: with a
    /// history file, its slots and event records are in the file and only the window tables are
    /// private; without one, everything is private (the event ring's pages only as events are
    /// written, counted here in full).
    public static func footprint(capacity: Int, eventCapacity: Int, inFile: Bool) -> HistoryFootprint {
        let tables = SampleStore.tableBytes(capacity: capacity)
        let file = FileHeader(metrics: HistoryStorage.currentMetrics, capacity: capacity, intervalNanos: 1, bootID: .unknown,
                              timelineOffset: 0, salt: 0, eventCapacity: eventCapacity).fileSize
        return inFile ? HistoryFootprint(fileBytes: file, privateBytes: tables) : HistoryFootprint(fileBytes: 0, privateBytes: file + tables)
    }

    public var capacity: Int { state.withLock { $0.store.capacity } }
    public var intervalNanos: UInt64 { state.withLock { $0.store.intervalNanos } }
    public var persistence: HistoryPersistence { state.withLock { $0.persistence } }

    /// Samples copied per hold of the lock while a reconfigured store is filled.
    static let copyChunk = 4096

    /// A new capacity, interval or event capacity (configuration reload): the newest samples and
    /// events that fit are kept, in a new history file that replaces the old one when there is one.
    ///
    /// The new store is made and filled outside the lock, a chunk of samples per hold, so the
    /// sampler's appends and the queries wait at most for one chunk's copy; the last few samples
    /// are copied, the events moved (under their own lock too), the new file put in place and the
    /// stores swapped under the lock, so no append falls between. The old store (and its file's
    /// lock) is released after the lock is. Without a file, a new event capacity is a new ring
    /// in memory and the samples stay where they are. Callers serialize reconfigurations (the
    /// daemon's reload does). `betweenChunks` runs outside the lock (a test hook).
    @discardableResult
    public func reconfigure(capacity: Int, intervalNanos: UInt64, eventCapacity: Int? = nil, betweenChunks: () -> Void = {}) -> [HistoryNote] {
        let eventCapacity = eventCapacity ?? events.capacity
        let eventsChange = eventCapacity != events.capacity
        let (current, start) = state.withLock { s -> (SampleStore?, UInt64) in
            if s.store.intervalNanos != intervalNanos {
                s.version &+= 1
                s.store.setInterval(intervalNanos)
                HistoryStorage.rewriteHeader(s.store)
            }
            // Events live in the samples' file: a new event capacity is a new file.
            guard s.store.capacity != capacity || (eventsChange && s.store.region.file != nil) else { return (nil, 0) }
            // Only the newest `capacity` samples are copied.
            let skip = s.store.count - capacity
            return (s.store, skip > 0 ? s.store.slot(s.store.oldest + skip - 1).sequence : 0)
        }
        var notes: [HistoryNote] = []
        guard let current else {
            if eventsChange {
                events.resize(to: eventCapacity)
                notes.append(HistoryNote(level: .info, message: "event ring resized to \(eventCapacity) events in memory; \(events.count) kept"))
            }
            return notes
        }
        let shape = HistoryShape(capacity: capacity, intervalNanos: intervalNanos, eventCapacity: eventCapacity)
        let replacement = HistoryStorage.replacement(shape, current: current, options: fileOptions)
        var copied = start
        notes = replacement.notes
        while true {
            let (chunk, old) = state.withLock { s -> ([SampleStore.Copy], SampleStore?) in
                let chunk = s.store.copies(after: copied, limit: Self.copyChunk + 1)
                guard chunk.count <= Self.copyChunk else { return (Array(chunk.prefix(Self.copyChunk)), nil) }
                // The last few: copied, the events moved, the file put in place and the stores
                // swapped under the lock.
                for copy in chunk { replacement.store.append(copy) }
                if let region = replacement.events {
                    events.move(into: region)
                } else if eventsChange || events.isInFile, let region = try? EventRegion(capacity: eventCapacity) {
                    // In memory (no file, or the new one could not be made): the events too.
                    events.move(into: region)
                }
                if let failed = replacement.commit() {
                    notes.append(HistoryNote(level: .warning, message: failed + "; keeping the history in memory only"))
                    s.persistence = .memory(reason: failed)
                } else {
                    s.persistence = replacement.persistence
                }
                let old = s.store
                s.store = replacement.store
                s.version &+= 1
                let place = if case .file(let path) = s.persistence { " in a new \(path)" } else { " in memory" }
                notes.append(HistoryNote(level: .info, message: "history resized to \(capacity) samples and \(eventCapacity) events\(place); \(s.store.count) samples and \(events.count) events kept"))
                return ([], old)
            }
            if old != nil { break }  // the old store is freed here, outside the lock
            betweenChunks()
            for copy in chunk { replacement.store.append(copy) }
            copied = chunk.last?.sample.sequence ?? copied
        }
        return notes
    }

    /// Whether the lock is free right now (tests check that the reconfigure hook runs outside it).
    var lockIsAvailable: Bool { state.withLockIfAvailable { _ in true } ?? false }

    /// `detail` is kept as the latest (`consuming`: moved in, not copied, when the caller is done with it).
    public func append(_ sample: Sample, detail: consuming SampleDetail) {
        var latest: Latest? = Latest(sample: sample, detail: detail)
        state.withLock { s in
            s.store.append(sample)
            // Swapped, not assigned: the previous latest is released after the lock.
            swap(&s.latest, &latest)
            s.version &+= 1
        }
    }

    /// Changes whenever what the history answers may have changed (see `State.version`).
    public var version: UInt64 { state.withLock { $0.version } }

    public var latest: (sample: Sample, detail: SampleDetail)? { state.withLock { $0.latest.map { ($0.sample, $0.detail) } } }

    public var count: Int { state.withLock { $0.store.count } }

    /// The newest held sample (adopted from a file before the first append), without detail.
    public var newest: Sample? { state.withLock { $0.store.isEmpty ? nil : $0.store.sample(at: $0.store.newest) } }

    public func window(_ spec: WindowSpec) -> WindowResult { state.withLock { $0.store.window(spec) } }

    public func samples(after since: UInt64, limit: Int) -> (samples: [Sample], truncated: Bool) {
        state.withLock { $0.store.samples(after: since, limit: limit) }
    }

    /// What the store could not keep since it was made, for the log: values out of its range
    /// (see `MetricCodec`; kept as absent) per metric name, and samples whose sequence did not
    /// follow the newest one's (not kept). Empty and 0 normally.
    public var refused: (values: [String: Int], samples: Int) {
        state.withLock { s in
            var values: [String: Int] = [:]
            for (m, n) in s.store.unrepresentable.enumerated() where n > 0 {
                if let id = s.store.metricIDs[m] { values[Metric.allCases[id].name] = n }
            }
            return (values, s.store.outOfOrder)
        }
    }
}

/// Where a history's bytes are (see `History.footprint`).
public struct HistoryFootprint: Sendable, Equatable {
    /// In the history file: memory too when the file is on tmpfs (the default, /run).
    public var fileBytes: Int
    /// The daemon's own memory.
    public var privateBytes: Int

    public var total: Int { fileBytes + privateBytes }
}
