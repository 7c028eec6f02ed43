import History
import Prometheus
import SampleModel

/// `/metrics`: the latest sample as gauges, window maxima over 1m/5m/1h, and the sampler's own
/// counters, in the Prometheus text format (written by swift-prometheus).
final class PrometheusExporter: Sendable {
    static let windows: [(label: String, seconds: Double)] = [("1m", 60), ("5m", 300), ("1h", 3600)]

    private let registry = PrometheusCollectorRegistry()
    private let latest: [Gauge?]
    private let maxima: [[Gauge]]
    private let oomKills: Gauge
    private let ticks: Gauge
    private let lateTicks: Gauge
    private let missedTicks: Gauge
    private let sampleAge: Gauge
    /// Events logged per kind since the daemon started (a full event ring does not lower them).
    private let events: [(EventKind, Counter)]

    init() {
        latest = Metric.allCases.map { [registry] m in
            m == .memoryOOMKills ? nil : Self.gauge(registry, Self.promName(m), Self.help(m))
        }
        maxima = Metric.allCases.map { [registry] m in
            Self.windows.map { window in
                Self.gauge(registry, Self.promName(m) + "_max", "Maximum of \(Self.promName(m)) over the window",
                           labels: [("window", window.label)])
            }
        }
        // The kernel's OOM-kill count is cumulative: a counter by meaning, but it is copied from
        // the kernel rather than incremented here, and it restarts with a new cgroup.
        oomKills = Self.gauge(registry, "drum_monitor_memory_oom_kills", "OOM kills in the watched cgroup (kernel counter)")
        ticks = Self.gauge(registry, "drum_monitor_sampler_ticks", "Samples taken since start")
        lateTicks = Self.gauge(registry, "drum_monitor_sampler_late_ticks", "Samples taken more than a tenth of an interval late")
        missedTicks = Self.gauge(registry, "drum_monitor_sampler_missed_ticks", "Scheduled samples skipped after an overrun")
        sampleAge = Self.gauge(registry, "drum_monitor_last_sample_age_seconds", "Age of the newest sample")
        events = EventKind.allCases.map { [registry] kind in
            (kind, registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "drum_monitor_events_total", unitName: "",
                                                                           helpText: "Events detected since the daemon started, by kind (see /v1/events)"),
                                        labels: [("kind", kind.name)]))
        }
    }

    /// The full name is given whole (its unit suffix included), hence the empty unitName.
    static func gauge(_ registry: PrometheusCollectorRegistry, _ name: String, _ help: String,
                      labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    static func promName(_ m: Metric) -> String {
        switch m {
        case .cpuThrottled: "drum_monitor_cpu_throttled_ratio"
        case .processCount: "drum_monitor_processes"
        case .memoryPressureSome: "drum_monitor_memory_pressure_some_avg10_percent"
        case .memoryPressureFull: "drum_monitor_memory_pressure_full_avg10_percent"
        default: "drum_monitor_" + m.name
        }
    }

    static func help(_ m: Metric) -> String {
        switch m {
        case .memoryCurrent: "Memory charged to the watched cgroup"
        case .memoryPeak: "Lifetime peak memory of the watched cgroup"
        case .memoryIntervalPeak: "Peak memory within the last sampling interval"
        case .memoryLimit: "Effective memory limit (smallest over the cgroup and its ancestors, else host RAM)"
        case .memoryWorkingSet: "Memory usage minus inactive file cache"
        case .memoryOOMKills: "OOM kills"
        case .memoryLimitHits: "Times usage reached the memory limit and reclaim ran (v1 failcnt, v2 memory.events max)"
        case .memoryOOMEvents: "Times reclaim at the limit failed and the OOM killer was invoked (v2 memory.events oom)"
        case .memoryPressureSome: "PSI memory some avg10"
        case .memoryPressureFull: "PSI memory full avg10"
        case .hostAvailable: "Host MemAvailable"
        case .treeRSS: "Resident memory of the DRUM process tree"
        case .treeCPU: "CPU used by the DRUM process tree, in cores"
        case .cgroupCPU: "CPU used by the watched cgroup, in cores"
        case .cpuLimit: "CPU quota of the watched cgroup, in cores"
        case .cpuThrottled: "Fraction of CFS periods throttled"
        case .processCount: "Processes in the DRUM tree"
        }
    }

    func response(_ context: QueryContext) -> Response {
        let cadence = context.cadence()
        ticks.set(Double(cadence.ticks))
        lateTicks.set(Double(cadence.lateTicks))
        missedTicks.set(Double(cadence.missedTicks))
        if let (sample, _) = context.history.latest {
            sampleAge.set(SampleFreshness.ageSeconds(of: sample))
            for m in Metric.allCases {
                let value = sample.values[m] ?? .nan
                if m == .memoryOOMKills { oomKills.set(value) } else { latest[m.rawValue]?.set(value) }
            }
            for (i, window) in Self.windows.enumerated() {
                let result = context.history.window(.seconds(window.seconds))
                for m in Metric.allCases { maxima[m.rawValue][i].set(result[m]?.max ?? .nan) }
            }
        }
        // Scrapes run one at a time on the server's event loop: set each counter to the count.
        for (kind, counter) in events {
            counter.reset()
            counter.increment(by: Int64(clamping: context.events.count(of: kind)))
        }
        return Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
    }
}
