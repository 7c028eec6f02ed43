import SampleModel
import Synchronization

/// The shared history: the store plus the latest sample's detail, behind a mutex.
///
/// The sampler holds the lock only to append (a slot and a few table entries per metric) and
/// readers only for a constant-time window or a bounded copy, so neither waits on I/O,
/// formatting or a slow client, and no reader ever sees a half-written sample.
public final class History: Sendable {
    private struct State: ~Copyable {
        var store: SampleStore
        var latest: (sample: Sample, detail: SampleDetail)?
        var persistence: HistoryPersistence
    }

    private let state: Mutex<State>
    /// Where a new store is made on reconfiguration (the file's path and the clock), if anywhere.
    private let fileOptions: HistoryFileOptions?

    /// A history in memory only.
    public convenience init(capacity: Int, intervalNanos: UInt64) {
        self.init(store: HistoryStorage.inMemory(capacity, intervalNanos),
                  persistence: .memory(reason: nil), fileOptions: nil)
    }

    private init(store: SampleStore, persistence: HistoryPersistence, fileOptions: HistoryFileOptions?) {
        state = Mutex(State(store: store, latest: nil, persistence: persistence))
        self.fileOptions = fileOptions
    }

    /// A history kept in the file `options` names (see `HistoryStorage.open`), or in memory
    /// when that is impossible; `HistoryOpening` says which, and what was found in the file.
    public static func open(capacity: Int, intervalNanos: UInt64, options: HistoryFileOptions) -> (History, HistoryOpening) {
        let (store, opening) = HistoryStorage.open(capacity: capacity, intervalNanos: intervalNanos, options: options)
        return (History(store: store, persistence: opening.persistence, fileOptions: options), opening)
    }

    /// Bytes a history of `capacity` samples takes, file and private memory together.
    public static func bytesNeeded(capacity: Int) -> Int { SampleStore.bytes(capacity: capacity) }

    public var capacity: Int { state.withLock { $0.store.capacity } }
    public var intervalNanos: UInt64 { state.withLock { $0.store.intervalNanos } }
    public var persistence: HistoryPersistence { state.withLock { $0.persistence } }

    /// Samples copied per hold of the lock while a reconfigured store is filled.
    static let copyChunk = 4096

    /// A new capacity or interval (configuration reload): the newest samples that fit are kept,
    /// in a new history file that replaces the old one when there is one.
    ///
    /// The new store is made and filled outside the lock, a chunk of samples per hold, so the
    /// sampler's appends and the queries wait at most for one chunk's copy; the last few samples
    /// are copied, the new file put in place and the stores swapped under the lock, so no append
    /// falls between. The old store (and its file's lock) is released after the lock is.
    /// Callers serialize reconfigurations (the daemon's reload does). `betweenChunks` runs
    /// outside the lock (a test hook).
    @discardableResult
    public func reconfigure(capacity: Int, intervalNanos: UInt64, betweenChunks: () -> Void = {}) -> [HistoryNote] {
        let (current, start) = state.withLock { s -> (SampleStore?, UInt64) in
            if s.store.intervalNanos != intervalNanos {
                s.store.setInterval(intervalNanos)
                HistoryStorage.rewriteHeader(s.store)
            }
            guard s.store.capacity != capacity else { return (nil, 0) }
            // Only the newest `capacity` samples are copied.
            let skip = s.store.count - capacity
            return (s.store, skip > 0 ? s.store.slot(s.store.oldest + skip - 1).sequence : 0)
        }
        guard let current else { return [] }
        let replacement = HistoryStorage.replacement(capacity: capacity, intervalNanos: intervalNanos, current: current, options: fileOptions)
        var copied = start
        var notes = replacement.notes
        while true {
            let (chunk, old) = state.withLock { s -> ([SampleStore.Copy], SampleStore?) in
                let chunk = s.store.copies(after: copied, limit: Self.copyChunk + 1)
                guard chunk.count <= Self.copyChunk else { return (Array(chunk.prefix(Self.copyChunk)), nil) }
                // The last few: copied, the file put in place and the stores swapped under the lock.
                for copy in chunk { replacement.store.append(copy) }
                if let failed = replacement.commit() {
                    notes.append(HistoryNote(level: .warning, message: failed + "; keeping the history in memory only"))
                    s.persistence = .memory(reason: failed)
                } else {
                    s.persistence = replacement.persistence
                }
                let old = s.store
                s.store = replacement.store
                let place = if case .file(let path) = s.persistence { " in a new \(path)" } else { " in memory" }
                notes.append(HistoryNote(level: .info, message: "history resized to \(capacity) samples\(place); \(s.store.count) samples kept"))
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

    public func append(_ sample: Sample, detail: SampleDetail) {
        state.withLock { s in
            s.store.append(sample)
            s.latest = (sample, detail)
        }
    }

    public var latest: (sample: Sample, detail: SampleDetail)? { state.withLock { $0.latest } }

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
