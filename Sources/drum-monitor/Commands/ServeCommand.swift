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
        abstract: "Run the daemon: sample on a timer, keep the history (in memory and its history file), serve it on a Unix socket.",
        discussion: """
        Settings come from the file (default \(DaemonConfig.defaultPath), or $DRUM_MONITOR_CONFIG), then DRUM_MONITOR_<KEY> variables (others with that prefix are ignored with a warning), then these flags. The defaults shown are those of an empty file.

        \(ExitStatus.helpSection)
        """)

    @Option(name: .long, help: "Configuration file (YAML).") var config: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("socket"))) var socket: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("interval"))) var interval: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("retention"))) var retention: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("max_history_bytes"))) var maxHistoryBytes: String?
    @Option(name: .customLong("history-file"), help: ArgumentHelp(DaemonConfig.optionHelp("history_file"))) var historyFile: String?
    // Unconditional: `--pid -5` is a pid to refuse, not a missing value followed by an option.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(DaemonConfig.optionHelp("pid"))) var pid: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("pidfile"))) var pidfile: String?
    // Unconditional: the text usually starts with dashes (`--match '--address 0.0.0.0:8081'`).
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp(DaemonConfig.optionHelp("match"))) var match: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("cgroup"))) var cgroup: String?
    @Option(name: .customLong("read-environment"), help: ArgumentHelp(DaemonConfig.optionHelp("read_environment"))) var readEnvironment: String?
    @Option(name: .customLong("socket-mode"), help: ArgumentHelp(DaemonConfig.optionHelp("socket_mode"))) var socketMode: String?
    @Option(name: .customLong("socket-group"), help: ArgumentHelp(DaemonConfig.optionHelp("socket_group"))) var socketGroup: String?
    @Option(name: .customLong("log-level"), help: ArgumentHelp(DaemonConfig.optionHelp("log_level"))) var logLevel: String?
    @Option(name: .customLong("log-format"), help: ArgumentHelp(DaemonConfig.optionHelp("log_format"))) var logFormat: String?
    @Option(name: .customLong("max-connections"), help: ArgumentHelp(DaemonConfig.optionHelp("max_connections"))) var maxConnections: String?
    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp(DaemonConfig.optionHelp("idle_timeout"))) var idleTimeout: String?
    @Option(name: .customLong("head-timeout"), help: ArgumentHelp(DaemonConfig.optionHelp("head_timeout"))) var headTimeout: String?
    @Option(name: .customLong("max-head-bytes"), help: ArgumentHelp(DaemonConfig.optionHelp("max_head_bytes"))) var maxHeadBytes: String?
    @Option(name: .customLong("event-ring-size"), help: ArgumentHelp(DaemonConfig.optionHelp("event_ring_size"))) var eventRingSize: String?
    @Option(name: .customLong("memory-high-fraction"), help: ArgumentHelp(DaemonConfig.optionHelp("memory_high_fraction"))) var memoryHighFraction: String?
    @Option(name: .customLong("memory-high-samples"), help: ArgumentHelp(DaemonConfig.optionHelp("memory_high_samples"))) var memoryHighSamples: String?
    @Option(name: .customLong("memory-high-clear-fraction"), help: ArgumentHelp(DaemonConfig.optionHelp("memory_high_clear_fraction"))) var memoryHighClearFraction: String?
    @Option(name: .customLong("memory-high-metric"), help: ArgumentHelp(DaemonConfig.optionHelp("memory_high_metric"))) var memoryHighMetric: String?
    @Option(name: .customLong("growth-window"), help: ArgumentHelp(DaemonConfig.optionHelp("growth_window"))) var growthWindow: String?
    @Option(name: .customLong("growth-horizon"), help: ArgumentHelp(DaemonConfig.optionHelp("growth_horizon"))) var growthHorizon: String?
    @Option(name: .customLong("stall-after-intervals"), help: ArgumentHelp(DaemonConfig.optionHelp("stall_after_intervals"))) var stallAfterIntervals: String?
    @Option(name: .customLong("limit-hit-quiet"), help: ArgumentHelp(DaemonConfig.optionHelp("limit_hit_quiet"))) var limitHitQuiet: String?
    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(DaemonConfig.optionHelp("metrics_listen"))) var metricsListen: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("labels"))) var labels: String?
    @Option(name: .long, help: ArgumentHelp(DaemonConfig.optionHelp("textfile"))) var textfile: String?
    @Option(name: .customLong("textfile-interval"), help: ArgumentHelp(DaemonConfig.optionHelp("textfile_interval"))) var textfileInterval: String?

    var flags: [String: String] {
        var f: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("socket", socket), ("interval", interval), ("retention", retention), ("max_history_bytes", maxHistoryBytes),
            ("history_file", historyFile),
            ("pid", pid), ("pidfile", pidfile), ("match", match), ("socket_mode", socketMode), ("socket_group", socketGroup), ("cgroup", cgroup),
            ("read_environment", readEnvironment), ("log_level", logLevel), ("log_format", logFormat),
            ("max_connections", maxConnections), ("idle_timeout", idleTimeout), ("head_timeout", headTimeout),
            ("max_head_bytes", maxHeadBytes), ("metrics_listen", metricsListen), ("labels", labels), ("textfile", textfile),
            ("textfile_interval", textfileInterval),
            ("event_ring_size", eventRingSize), ("memory_high_fraction", memoryHighFraction),
            ("memory_high_samples", memoryHighSamples), ("memory_high_clear_fraction", memoryHighClearFraction),
            ("memory_high_metric", memoryHighMetric), ("growth_window", growthWindow), ("growth_horizon", growthHorizon),
            ("stall_after_intervals", stallAfterIntervals), ("limit_hit_quiet", limitHitQuiet),
        ]
        for (k, v) in pairs { if let v { f[k] = v } }
        // --pid, --pidfile and --match replace whatever the file says about the others.
        if pid != nil || match != nil, f["pidfile"] == nil { f["pidfile"] = "" }
        if pidfile != nil || match != nil, f["pid"] == nil { f["pid"] = "0" }
        if pid != nil || pidfile != nil, f["match"] == nil { f["match"] = "" }
        return f
    }

    func run() async throws {
        // First of all: from here on SIGTERM/SIGINT/SIGHUP are queued for the daemon's loop.
        let signals = SignalStream(signals: [SIGTERM, SIGINT, SIGHUP])
        let environment = ProcessEnvironment.current()
        let explicitFile = config ?? environment[ConfigLoader.configFileVariable]
        let loader = ConfigLoader(file: explicitFile ?? DaemonConfig.defaultPath, fileRequired: explicitFile != nil,
                                  environment: environment, flags: flags)
        // Even an invalid configuration says how to log (log_format), so its problems are
        // reported the way the log pipeline expects.
        let (settings, errors) = loader.resolve()
        LogSetup.bootstrap(level: settings.logLevel, format: settings.logFormat)
        let logger = Logger(label: "drum-monitor")
        if let errors {
            if settings.logFormat == .json {
                for line in errors.lines { logger.critical("invalid configuration: \(line)") }
            } else {
                writeStderr("drum-monitor: invalid configuration:\n\(errors)\n")
            }
            throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
        }
        for warning in loader.warnings + settings.warnings { logger.warning("\(warning)") }
        do {
            try await Daemon(config: settings, loader: loader, logger: logger).run(signals: signals)
        } catch let error as HistoryDoesNotFit {
            logger.critical("\(error)")
            throw ExitCode(ExitStatus.invalidConfiguration.rawValue)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}
