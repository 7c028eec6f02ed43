import History
import SampleModel

/// What the endpoints read: the history, the events and the sampler's cadence.
public struct QueryContext: Sendable {
    public let history: History
    public let events: EventLog
    public let cadence: @Sendable () -> Cadence
    let prometheus: PrometheusExporter

    public var intervalNanos: UInt64 { history.intervalNanos }

    /// `events`: the history's own, unless a test gives another.
    public init(history: History, events: EventLog? = nil, cadence: @escaping @Sendable () -> Cadence) {
        self.history = history
        self.events = events ?? history.events
        self.cadence = cadence
        prometheus = PrometheusExporter()
    }
}
