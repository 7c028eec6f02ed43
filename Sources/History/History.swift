import SampleModel
import Synchronization

/// The shared history: the ring plus the latest sample's detail, behind a mutex.
///
/// The sampler holds the lock only to append (O(log n) per metric) and readers only for an
/// O(log n) query or a bounded copy, so neither waits on I/O, formatting or a slow client, and
/// no reader ever sees a half-written sample.
public final class History: Sendable {
    private struct State: ~Copyable {
        var ring: SampleRing
        var latest: (sample: Sample, detail: SampleDetail)?
    }

    private let state: Mutex<State>

    public init(capacity: Int, intervalNanos: UInt64) {
        state = Mutex(State(ring: SampleRing(capacity: capacity, intervalNanos: intervalNanos), latest: nil))
    }

    public var capacity: Int { state.withLock { $0.ring.capacity } }
    public var intervalNanos: UInt64 { state.withLock { $0.ring.intervalNanos } }

    /// The memory a history of `capacity` samples takes (its ring's arrays).
    public static func bytesNeeded(capacity: Int) -> Int { SampleRing.bytes(capacity: capacity) }

    /// Samples copied per hold of the lock while a reconfigured ring is filled.
    static let copyChunk = 4096

    /// A new capacity or interval (configuration reload): the newest samples that fit are kept.
    ///
    /// The new ring is allocated and filled outside the lock, a chunk of samples per hold, so
    /// the sampler's appends and the queries wait at most for one chunk's copy; the last few
    /// samples are copied and the rings swapped under the lock, so no append falls between.
    /// The old ring is freed after the lock is released. Callers serialize reconfigurations
    /// (the daemon's reload does). `betweenChunks` runs outside the lock (a test hook).
    public func reconfigure(capacity: Int, intervalNanos: UInt64, betweenChunks: () -> Void = {}) {
        guard state.withLock({ capacity != $0.ring.capacity || intervalNanos != $0.ring.intervalNanos }) else { return }
        var ring = SampleRing(capacity: capacity, intervalNanos: intervalNanos)
        // Logical index of the next sample to copy: the oldest of the newest `capacity`.
        var next = state.withLock { $0.ring.appended - Swift.min($0.ring.count, capacity) }
        while true {
            let chunk: [Sample]? = state.withLock { s in
                // Appends meanwhile may have overwritten the oldest samples not yet copied.
                next = Swift.max(next, s.ring.appended - s.ring.count)
                let end = s.ring.appended
                guard end - next > Self.copyChunk else {
                    for i in next..<end { ring.append(s.ring.sample(at: i)) }
                    swap(&s.ring, &ring)
                    return nil
                }
                defer { next += Self.copyChunk }
                return (next..<next + Self.copyChunk).map { s.ring.sample(at: $0) }
            }
            guard let chunk else { break }
            betweenChunks()
            for sample in chunk { ring.append(sample) }
        }
    }

    /// Whether the lock is free right now (tests check that the reconfigure hook runs outside it).
    var lockIsAvailable: Bool { state.withLockIfAvailable { _ in true } ?? false }

    public func append(_ sample: Sample, detail: SampleDetail) {
        state.withLock { s in
            s.ring.append(sample)
            s.latest = (sample, detail)
        }
    }

    public var latest: (sample: Sample, detail: SampleDetail)? { state.withLock { $0.latest } }

    public var count: Int { state.withLock { $0.ring.count } }

    public func window(_ spec: WindowSpec) -> WindowResult { state.withLock { $0.ring.window(spec) } }

    public func samples(after since: UInt64, limit: Int) -> (samples: [Sample], truncated: Bool) {
        state.withLock { $0.ring.samples(after: since, limit: limit) }
    }
}
