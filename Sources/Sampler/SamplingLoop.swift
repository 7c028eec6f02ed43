import Dispatch
import SampleModel
import Synchronization

/// Runs a `Sampler` on a `DispatchSourceTimer` on its own serial queue. An overrun never causes a
/// burst of catch-up ticks: the timer coalesces missed fires into one, and they are counted.
public final class SamplingLoop: Sendable {
    /// The sampler and the timer are touched only on `queue`.
    private final class Confined: @unchecked Sendable {
        var sampler: Sampler
        var intervalNanos: UInt64
        var timer: (any DispatchSourceTimer)?
        var firesSeen: UInt64 = 0
        var firstDeadline: UInt64 = 0
        init(sampler: Sampler, intervalNanos: UInt64) {
            self.sampler = sampler
            self.intervalNanos = intervalNanos
        }
    }

    private let queue = DispatchQueue(label: "drum-monitor.sampler", qos: .userInitiated)
    private let confined: Confined
    private let cadence = Mutex(Cadence())
    /// Takes the detail (`consuming`): the sink keeps it (the history's latest) without copying
    /// its every string and array on every tick.
    private let sink: @Sendable (Sample, consuming SampleDetail) -> Void

    public init(sampler: sending Sampler, intervalNanos: UInt64, sink: @escaping @Sendable (Sample, consuming SampleDetail) -> Void) {
        confined = Confined(sampler: sampler, intervalNanos: intervalNanos)
        self.sink = sink
    }

    public var progress: Cadence { cadence.withLock { $0 } }

    /// Takes one sample right away (so there is data before the first interval), then ticks.
    /// `firstSample` runs on the sampler's queue once that first sample is in.
    public func start(firstSample: (@Sendable () -> Void)? = nil) {
        queue.async { [self] in
            tick(earliestDeadline: Clock.monotonicNanos(), fires: 1)
            firstSample?()
            schedule()
        }
    }

    /// Replaces the sampler (new target settings) and/or the interval, between two ticks.
    public func reconfigure(intervalNanos: UInt64, sampler: sending Sampler?) {
        let box = SendingBox(sampler)
        queue.sync {
            if let sampler = box.take() { confined.sampler = sampler }
            guard intervalNanos != confined.intervalNanos else { return }
            confined.intervalNanos = intervalNanos
            confined.timer?.cancel()
            schedule()
        }
    }

    /// Stops the timer; returns once no tick is running.
    public func stop() {
        queue.sync {
            confined.timer?.cancel()
            confined.timer = nil
        }
    }

    /// On `queue`: an anchored repeating timer; missed fires are coalesced, never replayed.
    private func schedule() {
        let interval = confined.intervalNanos
        let timer = DispatchSource.makeTimerSource(queue: queue)
        confined.firstDeadline = Clock.monotonicNanos() &+ interval
        confined.firesSeen = 0
        timer.schedule(deadline: .now() + .nanoseconds(Int(interval)), repeating: .nanoseconds(Int(interval)),
                       leeway: .nanoseconds(Int(Swift.max(interval / 1000, 50_000))))
        timer.setEventHandler { [self] in
            guard let timer = confined.timer else { return }
            let fires = Swift.max(UInt64(timer.data), 1)
            // The first deadline this run stands for: after a stall (SIGSTOP, an overrun) that is
            // the first one missed, so the lateness is the whole gap.
            let earliest = confined.firstDeadline &+ confined.firesSeen &* confined.intervalNanos
            confined.firesSeen &+= fires
            tick(earliestDeadline: earliest, fires: fires)
        }
        confined.timer = timer
        timer.resume()
    }

    private func tick(earliestDeadline: UInt64, fires: UInt64) {
        let (sample, detail) = confined.sampler.tick()
        let interval = confined.intervalNanos
        cadence.withLock { $0.recordTick(at: sample.monoNanos, earliestDeadline: earliestDeadline, fires: fires, intervalNanos: interval) }
        sink(sample, detail)
    }
}

/// Carries a non-Sendable value into the sampler's queue exactly once.
private final class SendingBox<T>: @unchecked Sendable {
    private var value: T?
    init(_ value: sending T?) { self.value = value }
    func take() -> T? { defer { value = nil }; return value }
}
