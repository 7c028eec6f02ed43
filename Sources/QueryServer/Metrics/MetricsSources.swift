import BuildInfo
import Synchronization

/// What the exposition needs besides the history, the events and the cadence, given by the
/// daemon: which build this is, the configured labels and the daemon's own process figures.
public struct MetricsSources: Sendable {
    public var version: String
    public var revision: String
    public let labels: MetricLabels
    /// The daemon's own process (`process_*`); nil or nil fields: left out.
    public var process: @Sendable () -> DaemonProcess?

    /// `version`, `revision`: this build's (BuildInfo) unless a test gives others.
    public init(version: String = BuildInfo.version, revision: String = BuildInfo.revision, labels: MetricLabels = MetricLabels(),
                process: @escaping @Sendable () -> DaemonProcess? = { nil }) {
        self.version = version
        self.revision = revision
        self.labels = labels
        self.process = process
    }
}

/// The `labels` of the configuration, on every series; replaced by a reload.
public final class MetricLabels: Sendable {
    private let current: Mutex<[(name: String, value: String)]>

    public init(_ labels: [(name: String, value: String)] = []) { current = Mutex(labels) }

    public var labels: [(name: String, value: String)] { current.withLock { $0 } }
    public func set(_ labels: [(name: String, value: String)]) { current.withLock { $0 = labels } }

    /// Label names the exposition itself uses: configured labels may not take them.
    public static let reserved: Set<String> = [
        "role", "kind", "source", "mode", "cgroup", "cgroup_version", "root_pid", "generation", "version", "revision",
        "mlops_deployment_id", "mlops_model_id", "job", "instance",
    ]
}

/// The daemon's own process, as client libraries export theirs (`process_*`).
public struct DaemonProcess: Sendable, Equatable {
    public var residentBytes: UInt64?
    public var virtualBytes: UInt64?
    public var cpuSeconds: Double?
    /// Unix time the process started.
    public var startTimeSeconds: Double?
    public var openFDs: Int?
    public var maxFDs: UInt64?

    public init(residentBytes: UInt64? = nil, virtualBytes: UInt64? = nil, cpuSeconds: Double? = nil,
                startTimeSeconds: Double? = nil, openFDs: Int? = nil, maxFDs: UInt64? = nil) {
        self.residentBytes = residentBytes
        self.virtualBytes = virtualBytes
        self.cpuSeconds = cpuSeconds
        self.startTimeSeconds = startTimeSeconds
        self.openFDs = openFDs
        self.maxFDs = maxFDs
    }
}
