import History
import SampleModel

/// What the endpoints read: the history, the events, the sampler's cadence and, for /metrics,
/// the daemon's other sources.
public struct QueryContext: Sendable {
    public let history: History
    public let events: EventLog
    public let cadence: @Sendable () -> Cadence
    public let metrics: MetricsSources

    public var intervalNanos: UInt64 { history.intervalNanos }

    public init(history: History, events: EventLog = EventLog(capacity: 1), metrics: MetricsSources = MetricsSources(),
                cadence: @escaping @Sendable () -> Cadence) {
        self.history = history
        self.events = events
        self.metrics = metrics
        self.cadence = cadence
    }
}
