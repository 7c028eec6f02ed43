import ArgumentParser
import DaemonCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the daemon: sample on a timer, keep the history in memory, serve it on a Unix socket.",
        discussion: "Settings come from the file (default \(DaemonConfig.defaultPath), or $DRUM_MONITOR_CONFIG), then DRUM_MONITOR_<KEY> variables (others with that prefix are ignored with a warning), then these flags.")

    @Option(name: .long, help: "Configuration file (YAML).") var config: String?
    @Option(name: .long, help: "Unix socket path.") var socket: String?
    @Option(name: .long, help: "Sampling interval, e.g. 100ms, 1s.") var interval: String?
    @Option(name: .long, help: "History to keep, e.g. 1h.") var retention: String?
    @Option(name: .long, help: "Watch this pid instead of discovering DRUM.") var pid: String?
    @Option(name: .long, help: "Watch the pid in this file.") var pidfile: String?
    @Option(name: .customLong("socket-mode"), help: "Socket file mode, octal.") var socketMode: String?
    @Option(name: .customLong("socket-group"), help: "Socket file group.") var socketGroup: String?
    @Option(name: .long, help: "Watch this cgroup instead of the target's.") var cgroup: String?
    @Option(name: .customLong("read-environment"), help: "true/false: read /proc/PID/environ.") var readEnvironment: String?
    @Option(name: .customLong("log-level"), help: "trace … critical.") var logLevel: String?
    @Option(name: .customLong("max-connections"), help: "Query connections open at once.") var maxConnections: String?
    @Option(name: .customLong("idle-timeout"), help: "Close silent connections after this.") var idleTimeout: String?
    @Option(name: .customLong("head-timeout"), help: "408 for request heads slower than this.") var headTimeout: String?
    @Option(name: .customLong("max-head-bytes"), help: "431 for request heads larger than this.") var maxHeadBytes: String?
    @Option(name: .customLong("event-ring-size"), help: "Events kept.") var eventRingSize: String?
    @Option(name: .customLong("memory-high-fraction"), help: "memory_high threshold, a fraction of the limit.") var memoryHighFraction: String?
    @Option(name: .customLong("memory-high-samples"), help: "memory_high after this many samples above.") var memoryHighSamples: String?
    @Option(name: .customLong("memory-high-clear-fraction"), help: "memory_high_cleared below this fraction.") var memoryHighClearFraction: String?
    @Option(name: .customLong("memory-high-metric"), help: "working_set or current.") var memoryHighMetric: String?
    @Option(name: .customLong("growth-window"), help: "memory_growth's trend window, e.g. 10m.") var growthWindow: String?
    @Option(name: .customLong("growth-horizon"), help: "memory_growth when the limit is this near, e.g. 1h.") var growthHorizon: String?
    @Option(name: .customLong("stall-after-intervals"), help: "sampler_stall after a gap of this many intervals.") var stallAfterIntervals: String?
    @Option(name: .customLong("limit-hit-quiet"), help: "a new limit_hit after this long without one.") var limitHitQuiet: String?

    var flags: [String: String] {
        var f: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("socket", socket), ("interval", interval), ("retention", retention), ("pid", pid), ("pidfile", pidfile),
            ("socket_mode", socketMode), ("socket_group", socketGroup), ("cgroup", cgroup),
            ("read_environment", readEnvironment), ("log_level", logLevel), ("max_connections", maxConnections),
            ("idle_timeout", idleTimeout), ("head_timeout", headTimeout), ("max_head_bytes", maxHeadBytes),
            ("event_ring_size", eventRingSize), ("memory_high_fraction", memoryHighFraction),
            ("memory_high_samples", memoryHighSamples), ("memory_high_clear_fraction", memoryHighClearFraction),
            ("memory_high_metric", memoryHighMetric), ("growth_window", growthWindow), ("growth_horizon", growthHorizon),
            ("stall_after_intervals", stallAfterIntervals), ("limit_hit_quiet", limitHitQuiet),
        ]
        for (k, v) in pairs { if let v { f[k] = v } }
        // --pid and --pidfile replace whatever the file says about the other.
        if pid != nil, f["pidfile"] == nil { f["pidfile"] = "" }
        if pidfile != nil, f["pid"] == nil { f["pid"] = "0" }
        return f
    }

    func run() async throws {
        // First of all: from here on SIGTERM/SIGINT/SIGHUP are queued for the daemon's loop.
        let signals = SignalStream(signals: [SIGTERM, SIGINT, SIGHUP])
        let environment = ProcessEnvironment.current()
        let explicitFile = config ?? environment[ConfigLoader.configFileVariable]
        let loader = ConfigLoader(file: explicitFile ?? DaemonConfig.defaultPath, fileRequired: explicitFile != nil,
                                  environment: environment, flags: flags)
        let settings: DaemonConfig
        do { settings = try loader.load() } catch {
            writeStderr("drum-monitor: invalid configuration:\n\(error)\n")
            throw ExitCode(2)
        }
        LogSetup.bootstrap(level: settings.logLevel)
        let logger = Logger(label: "drum-monitor")
        for warning in loader.warnings { logger.warning("\(warning)") }
        do {
            try await Daemon(config: settings, loader: loader, logger: logger).run(signals: signals)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}
