import History
import SampleModel

/// What the endpoints read: the history, the sampler's cadence and, for /metrics, the daemon's
/// other sources.
public struct QueryContext: Sendable {
    public let history: History
    public let cadence: @Sendable () -> Cadence
    public let metrics: MetricsSources

    public var intervalNanos: UInt64 { history.intervalNanos }

    public init(history: History, metrics: MetricsSources = MetricsSources(), cadence: @escaping @Sendable () -> Cadence) {
        self.history = history
        self.metrics = metrics
        self.cadence = cadence
    }
}
