import History
import SampleModel

/// What the endpoints read: the history, the events, the sampler's cadence and, for /metrics,
/// the daemon's other sources.
public struct QueryContext: Sendable {
    public let history: History
    public let events: EventLog
    public let cadence: @Sendable () -> Cadence
    public let metrics: MetricsSources
    /// Snapshot and window answers kept until a sample or an event arrives.
    public let answers = AnswerCache()
    /// /healthz without its age, kept until the next tick.
    public let health = HealthAnswer()

    public var intervalNanos: UInt64 { history.intervalNanos }

    /// `events`: the history's own, unless a test gives another.
    public init(history: History, events: EventLog? = nil, metrics: MetricsSources = MetricsSources(),
                cadence: @escaping @Sendable () -> Cadence) {
        self.history = history
        self.events = events ?? history.events
        self.metrics = metrics
        self.cadence = cadence
    }
}
