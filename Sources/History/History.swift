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

    /// A new capacity or interval (configuration reload): the newest samples that fit are kept.
    public func reconfigure(capacity: Int, intervalNanos: UInt64) {
        state.withLock { s in
            guard capacity != s.ring.capacity || intervalNanos != s.ring.intervalNanos else { return }
            var ring = SampleRing(capacity: capacity, intervalNanos: intervalNanos)
            let held = s.ring.samples(after: 0, limit: s.ring.count).samples
            for sample in held.suffix(capacity) { ring.append(sample) }
            s.ring = ring
        }
    }

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
