import History
import SampleModel
import Sampler
import Synchronization

/// Event detection after each tick, on the sampler's queue: the detector compares the new
/// sample with the previous one, the events go to the log (the ring /v1/events reads) and to
/// the journal or the log, and the sample's detail gets the time to the limit. Its cost per tick
/// is the detector's: no allocation in a tick where nothing changed, and no kernel read but the
/// departed cgroup's counter, once, when the target goes (`DepartedCgroupProbe`).
final class EventStage: @unchecked Sendable {
    // Touched only from `process`, which the sampling loop calls on its queue, one tick at a time.
    private var detector: EventDetector
    private let departedCgroup = DepartedCgroupProbe()
    private let reconfiguration = Mutex<EventSettings?>(nil)
    let log: EventLog
    private let reporter: EventReporter

    init(settings: EventSettings, log: EventLog, reporter: EventReporter) {
        detector = EventDetector(settings: settings)
        self.log = log
        self.reporter = reporter
    }

    /// On the sampler's queue, before the sample goes into the history.
    func process(_ sample: Sample, _ detail: inout SampleDetail, intervalNanos: UInt64) {
        if let settings = reconfiguration.withLock({ pending in defer { pending = nil }; return pending }) {
            detector.apply(settings)
        }
        let events = detector.observe(sample, detail, intervalNanos: intervalNanos, departed: departedCgroup.look(detail))
        detail.timeToLimitSeconds = detector.timeToLimitSeconds
        for event in events { reporter.report(log.append(event)) }
    }

    /// At start on a history kept from the previous run: one `daemon_restarted` event saying how
    /// long there were no samples and how many were kept.
    func restarted(after adopted: AdoptedHistory, wallNanos: Int64 = Clock.wallNanos(), monoNanos: UInt64 = Clock.monotonicNanos()) {
        var e = EventRecord(kind: .daemonRestarted, wallNanos: wallNanos, monoNanos: monoNanos,
                            sampleSequence: adopted.lastSequence &+ 1, generation: adopted.lastGeneration)
        e.count = UInt64(adopted.count)
        if wallNanos > adopted.lastWallNanos { e.durationNanos = UInt64(wallNanos - adopted.lastWallNanos) }
        reporter.report(log.append(e))
    }

    /// Waits until the events detected so far have been told (at stop).
    func flush() { reporter.flush() }

    /// New thresholds from a reload; taken at the next tick.
    func reconfigure(_ settings: EventSettings) {
        reconfiguration.withLock { $0 = settings }
    }
}
