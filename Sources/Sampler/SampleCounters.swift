import Synchronization

/// The last sample's sequence number and target generation, shared by every `Sampler` that
/// feeds one history: a reload that builds a new sampler (new target settings) continues the
/// old one's numbers, so both stay strictly increasing for the life of the history (a client
/// polling `since=N` never sees the sequence go back). A history adopted from a file can seed it.
///
/// Written only by the sampler that is ticking (one queue); atomics make handing it from one
/// sampler to the next, on another thread, safe.
public final class SampleCounters: Sendable {
    private let lastSequence: Atomic<UInt64>
    private let currentGeneration: Atomic<UInt32>

    public init(sequence: UInt64 = 0, generation: UInt32 = 0) {
        lastSequence = Atomic(sequence)
        currentGeneration = Atomic(generation)
    }

    /// The sequence number of the last sample taken (0: none yet).
    public var sequence: UInt64 { lastSequence.load(ordering: .acquiring) }
    /// The generation of the last sample taken.
    public var generation: UInt32 { currentGeneration.load(ordering: .acquiring) }

    /// The next sample's sequence number.
    func nextSequence() -> UInt64 {
        lastSequence.add(1, ordering: .acquiringAndReleasing).newValue
    }

    /// A new generation: a root attached, detached, replaced or exec'd.
    @discardableResult
    func nextGeneration() -> UInt32 {
        currentGeneration.add(1, ordering: .acquiringAndReleasing).newValue
    }
}
