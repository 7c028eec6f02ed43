import History
import SampleModel

/// What the endpoints read: the history and the sampler's cadence.
public struct QueryContext: Sendable {
    public let history: History
    public let cadence: @Sendable () -> Cadence
    let prometheus: PrometheusExporter

    public var intervalNanos: UInt64 { history.intervalNanos }

    public init(history: History, cadence: @escaping @Sendable () -> Cadence) {
        self.history = history
        self.cadence = cadence
        prometheus = PrometheusExporter()
    }
}
