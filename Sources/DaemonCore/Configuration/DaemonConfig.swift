import History
import KernelReaders
import Logging
import QueryServer
import SampleModel
import UnixSocket
import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// Every setting of the daemon, with its default. The key table below is the single place that
/// names them: the YAML file, DRUM_MONITOR_<KEY> variables and --<key> flags all go through it.
public struct DaemonConfig: Equatable, Sendable {
    var intervalSeconds = 1.0
    var retentionSeconds = 3600.0
    public internal(set) var socket = Self.runDirectory + "/drum-monitor.sock"
    var socketMode: mode_t = 0o660
    var socketGroup: String?
    var pid: Int32?
    var pidfile: String?
    /// Discovery watches only a DRUM that matches (several DRUM servers on one host).
    var match: DrumMatch?
    var cgroup: String?
    var readEnvironment = true
    public internal(set) var logLevel: Logger.Level = .info
    public internal(set) var logFormat: LogFormat = .text
    var maxHistoryBytes = 256 << 20
    var historyFile = HistoryFileSetting.besideSocket
    var maxConnections = 256
    var idleTimeoutSeconds = 30.0
    var headTimeoutSeconds = 10.0
    var maxHeadBytes = 8192
    /// The opt-in TCP listener for /metrics and /healthz (nil: none). Under systemd the socket
    /// comes from drum-monitor-metrics.socket instead.
    var metricsListen: MetricsAddress?
    /// Labels on every series of /metrics, in the order given.
    var labels: [MetricLabel] = []
    /// node_exporter textfile output (nil: none), rewritten every `textfileIntervalSeconds`.
    var textfile: String?
    var textfileIntervalSeconds = 15.0
    var eventRingSize = History.defaultEventCapacity
    var events = EventSettings()

    public static let defaultPath = "/etc/drum-monitor/drum-monitor.yaml"
    /// Where the daemon's sockets live: the default one, and NAME.sock for `query --instance NAME`.
    public static let runDirectory = "/run/drum-monitor"
    static let minimumInterval = 0.01
    /// A ring larger than this is a configuration mistake, not a plan (several GiB).
    static let maximumCapacity = 16_000_000
    /// The longest socket path `serve` can bind: the server builds its own address (not through
    /// SwiftNIO's SocketAddress, which stops at 103 bytes), so Linux's sun_path limit applies.
    public static let maximumSocketPathBytes = UnixSocketAddress.maxPathBytes

    public init() {}

    var intervalNanos: UInt64 { UInt64((intervalSeconds * 1e9).rounded()) }
    var capacity: Int { max(1, Int((retentionSeconds / intervalSeconds).rounded(.down))) }
    /// The bytes the history takes, its file and private memory together (what
    /// `max_history_bytes` bounds): the samples' slots and tables, and the event ring once full.
    var historyBytes: Int { historyFootprint(inFile: true).total }

    func historyFootprint(inFile: Bool) -> HistoryFootprint {
        History.footprint(capacity: capacity, eventCapacity: eventRingSize, inFile: inFile)
    }

    /// The history in words, for the log and for messages about its size.
    var historyDescription: String {
        "\(capacity) samples (retention \(DurationText.format(seconds: retentionSeconds)) at interval \(DurationText.format(seconds: intervalSeconds))) and up to \(eventRingSize) events, \(ByteText.format(Double(historyBytes)))"
    }

    /// Where the history is kept across restarts: the `history_file` key, by default next to the
    /// socket and named after it (/run/drum-monitor/drum-monitor.sock → drum-monitor.history).
    enum HistoryFileSetting: Equatable, Sendable {
        case besideSocket
        case path(String)
        /// `none`: in memory only.
        case none
    }

    /// The history file's path, nil for none.
    public var historyFilePath: String? {
        switch historyFile {
        case .none: return nil
        case .path(let path): return path
        case .besideSocket:
            let slash = socket.lastIndex(of: "/") ?? socket.startIndex
            let directory = socket[..<slash], name = socket[socket.index(after: slash)...]
            let stem = name.hasSuffix(".sock") ? name.dropLast(5) : name
            return "\(directory)/\(stem.isEmpty ? "drum-monitor" : stem).history"
        }
    }

    var target: TargetSpec {
        if let pid { return .pid(pid) }
        if let pidfile { return .pidfile(pidfile) }
        if let match { return .matching(match) }
        return .discover
    }

    /// The keys, how each is parsed into the config, and the text for --help and check-config.
    struct Key: Sendable {
        let name: String
        let help: String
        let apply: @Sendable (inout DaemonConfig, String) throws(ValueError) -> Void
        let show: @Sendable (DaemonConfig) -> String
        /// For a key whose YAML value is a mapping (`labels`): the pairs, in file order. Such a
        /// key also takes `name=value,name=value` text (environment, command line) in `apply`.
        var applyPairs: (@Sendable (inout DaemonConfig, [(String, String)]) throws(ValueError) -> Void)? = nil

        var flag: String { "--" + name.split(separator: "_").joined(separator: "-") }
    }

    struct ValueError: Error { let message: String }

    static let keys: [Key] = [
        Key(name: "interval", help: "sampling interval (minimum 10ms)", apply: { c, v throws(ValueError) in
            c.intervalSeconds = try duration(v, atLeast: minimumInterval)
        }, show: { DurationText.format(seconds: $0.intervalSeconds) }),
        Key(name: "retention", help: "history kept; capacity = retention / interval", apply: { c, v throws(ValueError) in
            c.retentionSeconds = try duration(v, atLeast: minimumInterval)
        }, show: { DurationText.format(seconds: $0.retentionSeconds) }),
        Key(name: "socket", help: "Unix socket path to serve on (unless systemd passes one)", apply: { c, v throws(ValueError) in
            guard v.hasPrefix("/") else { throw ValueError(message: "must be an absolute path, got '\(v)'") }
            guard v.utf8.count <= maximumSocketPathBytes else {
                throw ValueError(message: "is \(v.utf8.count) bytes long; a socket path may have at most \(maximumSocketPathBytes)")
            }
            c.socket = v
        }, show: { $0.socket }),
        Key(name: "socket_mode", help: "permissions of the socket file, octal", apply: { c, v throws(ValueError) in
            guard let m = mode_t(v, radix: 8), m <= 0o777 else { throw ValueError(message: "must be an octal mode like 0660, got '\(v)'") }
            c.socketMode = m
        }, show: { "0" + String($0.socketMode, radix: 8) }),
        Key(name: "socket_group", help: "group owning the socket file (empty: drum-monitor if that group exists, else the daemon's)", apply: { c, v throws(ValueError) in
            guard v.isEmpty || GroupLookup.exists(v) else {
                throw ValueError(message: "no group '\(v)' on this host (see getent group); the socket could not be given to it")
            }
            c.socketGroup = v.isEmpty ? nil : v
        }, show: { $0.socketGroup ?? "" }),
        Key(name: "pid", help: "watch this pid instead of discovering DRUM (0: discover)", apply: { c, v throws(ValueError) in
            guard let p = DecimalText.wholeNumber(v).flatMap({ Int32(exactly: $0) }) else {
                throw ValueError(message: "must be a positive whole number (a pid), or 0 to discover DRUM; got '\(v)'")
            }
            c.pid = p == 0 ? nil : p
        }, show: { $0.pid.map(String.init) ?? "0" }),
        Key(name: "pidfile", help: "watch the pid in this file, re-read every tick (empty: discover)", apply: { c, v throws(ValueError) in
            guard v.isEmpty || v.hasPrefix("/") else { throw ValueError(message: "must be an absolute path, got '\(v)'") }
            c.pidfile = v.isEmpty ? nil : v
        }, show: { $0.pidfile ?? "" }),
        Key(name: "match", help: "discover only the DRUM whose command line contains this text, or with env:NAME=VALUE, whose environment has it (empty: any DRUM)", apply: { c, v throws(ValueError) in
            guard !v.isEmpty else { c.match = nil; return }
            do throws(DrumMatch.Invalid) { c.match = try DrumMatch.parse(v) } catch { throw ValueError(message: error.description) }
        }, show: { $0.match?.text ?? "" }),
        Key(name: "cgroup", help: "watch this cgroup (as in /proc/PID/cgroup) instead of the target's", apply: { c, v throws(ValueError) in
            guard v.isEmpty || v.hasPrefix("/") else { throw ValueError(message: "must be a cgroup path starting with /, got '\(v)'") }
            c.cgroup = v.isEmpty ? nil : v
        }, show: { $0.cgroup ?? "" }),
        Key(name: "read_environment", help: "read /proc/PID/environ to recognise DRUM's gunicorn (needs same uid or root)", apply: { c, v throws(ValueError) in
            switch v.lowercased() {
            case "true", "yes", "on", "1": c.readEnvironment = true
            case "false", "no", "off", "0": c.readEnvironment = false
            default: throw ValueError(message: "must be true or false, got '\(v)'")
            }
        }, show: { $0.readEnvironment ? "true" : "false" }),
        Key(name: "log_level", help: "trace, debug, info, notice, warning, error or critical", apply: { c, v throws(ValueError) in
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw ValueError(message: "must be one of trace, debug, info, notice, warning, error, critical; got '\(v)'")
            }
            c.logLevel = level
        }, show: { $0.logLevel.rawValue }),
        Key(name: "log_format", help: "text, or json: one JSON object per line", apply: { c, v throws(ValueError) in
            guard let format = LogFormat(rawValue: v.lowercased()) else { throw ValueError(message: "must be text or json; got '\(v)'") }
            c.logFormat = format
        }, show: { $0.logFormat.rawValue }),
        Key(name: "max_history_bytes", help: "most memory the history may take (K, M, G: powers of 1024)", apply: { c, v throws(ValueError) in
            guard let bytes = ByteSizeText.bytes(v), bytes >= 1 << 20, bytes <= 1 << 40 else {
                throw ValueError(message: "must be a size from 1M to 1T, like 256M or 2G (powers of 1024); got '\(v)'")
            }
            c.maxHistoryBytes = bytes
        }, show: { ByteSizeText.format($0.maxHistoryBytes) }),
        Key(name: "history_file", help: "file the history is kept in across restarts (empty: next to the socket, named after it; none: memory only)",
            apply: { c, v throws(ValueError) in
            if v.isEmpty { c.historyFile = .besideSocket; return }
            if v == "none" { c.historyFile = .none; return }
            guard v.hasPrefix("/"), !v.hasSuffix("/"), v.utf8.count < 4000 else {
                throw ValueError(message: "must be an absolute path to a file, or none; got '\(v)'")
            }
            c.historyFile = .path(v)
        }, show: { $0.historyFilePath ?? "none" }),
        Key(name: "max_connections", help: "query connections open at once; a new one replaces the longest-idle, or is told busy", apply: { c, v throws(ValueError) in
            c.maxConnections = try integer(v, 1...65536)
        }, show: { String($0.maxConnections) }),
        Key(name: "idle_timeout", help: "close query connections with nothing read or written this long", apply: { c, v throws(ValueError) in
            c.idleTimeoutSeconds = try duration(v, atLeast: 0.001)
        }, show: { DurationText.format(seconds: $0.idleTimeoutSeconds) }),
        Key(name: "head_timeout", help: "answer 408 when a request head takes longer than this", apply: { c, v throws(ValueError) in
            c.headTimeoutSeconds = try duration(v, atLeast: 0.001)
        }, show: { DurationText.format(seconds: $0.headTimeoutSeconds) }),
        Key(name: "max_head_bytes", help: "answer 431 to request heads larger than this", apply: { c, v throws(ValueError) in
            c.maxHeadBytes = try integer(v, 256...1_048_576)
        }, show: { String($0.maxHeadBytes) }),
        Key(name: "metrics_listen", help: "TCP address for GET /metrics and /healthz, e.g. 127.0.0.1:\(MetricsAddress.defaultPort) (empty: none; under systemd use drum-monitor-metrics.socket)", apply: { c, v throws(ValueError) in
            guard !v.isEmpty else { c.metricsListen = nil; return }
            guard let (host, port) = TCPAddressText.parse(v) else {
                throw ValueError(message: "must be an IP address and a port, like 127.0.0.1:\(MetricsAddress.defaultPort) or [::1]:\(MetricsAddress.defaultPort) (empty: no TCP listener); got '\(v)'")
            }
            c.metricsListen = MetricsAddress(host: host, port: port)
        }, show: { $0.metricsListen?.description ?? "" }),
        Key(name: "labels", help: "labels on every /metrics series: a mapping in the file, name=value,name=value in flags", apply: { c, v throws(ValueError) in
            var pairs: [(String, String)] = []
            for item in v.split(separator: ",", omittingEmptySubsequences: true) {
                guard let eq = item.firstIndex(of: "=") else {
                    throw ValueError(message: "must be name=value pairs separated by commas (a mapping in the file); got '\(item)'")
                }
                pairs.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
            }
            c.labels = try MetricLabel.validated(pairs)
        }, show: { $0.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }, applyPairs: { c, pairs throws(ValueError) in
            c.labels = try MetricLabel.validated(pairs)
        }),
        Key(name: "textfile", help: "write /metrics to this .prom file for node_exporter's textfile collector (empty: none)", apply: { c, v throws(ValueError) in
            guard !v.isEmpty else { c.textfile = nil; return }
            guard v.hasPrefix("/") else { throw ValueError(message: "must be an absolute path, got '\(v)'") }
            guard v.hasSuffix(".prom"), !v.hasSuffix("/.prom") else {
                throw ValueError(message: "must name a file ending in .prom (node_exporter's textfile collector reads only those); got '\(v)'")
            }
            guard v.utf8.count < 4000 else { throw ValueError(message: "is too long (\(v.utf8.count) bytes)") }
            c.textfile = v
        }, show: { $0.textfile ?? "" }),
        Key(name: "textfile_interval", help: "how often the textfile is rewritten", apply: { c, v throws(ValueError) in
            c.textfileIntervalSeconds = try duration(v, atLeast: 1)
        }, show: { DurationText.format(seconds: $0.textfileIntervalSeconds) }),
    ] + eventKeys

    /// Event detection (issue 14): the ring's size and the thresholds.
    static let eventKeys: [Key] = [
        Key(name: "event_ring_size", help: "events kept (oldest dropped first); allocated at start", apply: { c, v throws(ValueError) in
            c.eventRingSize = try integer(v, 1...EventRing.maximumCapacity)
        }, show: { String($0.eventRingSize) }),
        Key(name: "memory_high_fraction", help: "memory_high when memory stays at or above this fraction of the limit", apply: { c, v throws(ValueError) in
            c.events.memoryHighFraction = try fraction(v)
        }, show: { wholeOrDecimal($0.events.memoryHighFraction) }),
        Key(name: "memory_high_samples", help: "… for this many samples in a row", apply: { c, v throws(ValueError) in
            c.events.memoryHighSamples = try integer(v, 1...1_000_000)
        }, show: { String($0.events.memoryHighSamples) }),
        Key(name: "memory_high_clear_fraction", help: "memory_high_cleared below this fraction (empty: 0.05 under memory_high_fraction)", apply: { c, v throws(ValueError) in
            c.events.memoryHighClearFraction = v.isEmpty ? nil : try fraction(v)
        }, show: { $0.events.memoryHighClearFraction.map(wholeOrDecimal) ?? "" }),
        Key(name: "memory_high_metric", help: "what memory_high compares with the limit: working_set or current", apply: { c, v throws(ValueError) in
            guard let m = EventSettings.HighMetric(rawValue: v) else { throw ValueError(message: "must be working_set or current, got '\(v)'") }
            c.events.memoryHighMetric = m
        }, show: { $0.events.memoryHighMetric.rawValue }),
        Key(name: "growth_window", help: "memory_growth fits the working set's trend over this window", apply: { c, v throws(ValueError) in
            c.events.growthWindowNanos = UInt64((try duration(v, atLeast: 0.1) * 1e9).rounded())
        }, show: { DurationText.format(seconds: Double($0.events.growthWindowNanos) / 1e9) }),
        Key(name: "growth_horizon", help: "memory_growth when the limit would be reached within this", apply: { c, v throws(ValueError) in
            c.events.growthHorizonNanos = UInt64((try duration(v, atLeast: 0.001) * 1e9).rounded())
        }, show: { DurationText.format(seconds: Double($0.events.growthHorizonNanos) / 1e9) }),
        Key(name: "stall_after_intervals", help: "sampler_stall when two samples are further apart than this many intervals", apply: { c, v throws(ValueError) in
            guard let n = DecimalText.value(v), n >= 1.5, n <= 1_000_000 else { throw ValueError(message: "must be a number from 1.5 to 1000000, got '\(v)'") }
            c.events.stallAfterIntervals = n
        }, show: { wholeOrDecimal($0.events.stallAfterIntervals) }),
        Key(name: "limit_hit_quiet", help: "a new limit_hit only after the limit was not hit for this long", apply: { c, v throws(ValueError) in
            c.events.limitHitQuietNanos = UInt64((try duration(v, atLeast: 0) * 1e9).rounded())
        }, show: { DurationText.format(seconds: Double($0.events.limitHitQuietNanos) / 1e9) }),
    ]

    static func key(named name: String) -> Key? { keys.first { $0.name == name } }

    /// A setting's --help text with its default, e.g. "sampling interval (minimum 10ms) (default: 1s)".
    public static func optionHelp(_ name: String) -> String {
        guard let key = key(named: name) else { preconditionFailure("no configuration key \(name)") }
        let value = key.show(DaemonConfig())
        return "\(key.help) (default: \(value.isEmpty ? "none" : value))"
    }

    /// `key: value` for every setting, as check-config prints them.
    public var effectiveSettings: [String] { Self.keys.map { "\($0.name): \($0.show(self))" } }

    private static func duration(_ v: String, atLeast minimum: Double) throws(ValueError) -> Double {
        guard let s = DurationText.secondsOrNumber(v), s.isFinite else {
            throw ValueError(message: "must be a duration like 100ms, 1s, 5m, 1h; got '\(v)'")
        }
        guard s >= minimum else {
            throw ValueError(message: "must be at least \(DurationText.format(seconds: minimum)), got '\(v)'")
        }
        guard s <= 315_360_000 else { throw ValueError(message: "must be at most 10 years, got '\(v)'") }
        return s
    }

    private static func fraction(_ v: String) throws(ValueError) -> Double {
        guard let f = DecimalText.value(v), f > 0, f <= 1 else { throw ValueError(message: "must be a fraction above 0 and at most 1 (e.g. 0.9), got '\(v)'") }
        return f
    }

    private static func wholeOrDecimal(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    private static func integer(_ v: String, _ range: ClosedRange<Int>) throws(ValueError) -> Int {
        guard let n = DecimalText.wholeNumber(v).flatMap({ Int(exactly: $0) }), range.contains(n) else {
            throw ValueError(message: "must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(v)'")
        }
        return n
    }

    /// Checks that concern several keys together.
    func crossCheck() -> [String] {
        var problems: [String] = []
        if pid != nil && pidfile != nil { problems.append("set only one of 'pid' and 'pidfile'") }
        if let match, pid != nil || pidfile != nil {
            problems.append("'match' (\(match.text)) chooses among the DRUM servers discovery finds; it cannot be combined with '\(pid != nil ? "pid" : "pidfile")', which names the process itself: set one of them")
        }
        if case .environment = match, !readEnvironment {
            problems.append("'match' (\(match!.text)) compares the environment, which 'read_environment: false' leaves unread")
        }
        if retentionSeconds < intervalSeconds { problems.append("'retention' must be at least 'interval'") }
        problems += events.problems
        if Double(events.growthWindowNanos) < 10 * intervalSeconds * 1e9 {
            problems.append("'growth_window' must be at least 10 intervals: the trend is fitted over 10 spans of at least one sample")
        }
        if Double(capacity) > Double(Self.maximumCapacity) {
            problems.append("'retention' / 'interval' = \(capacity) samples; at most \(Self.maximumCapacity) may be held")
        }
        if let file = historyFilePath, file == socket { problems.append("'history_file' must not be the socket's path") }
        if historyBytes > maxHistoryBytes {
            problems.append("the history would take \(historyDescription), more than 'max_history_bytes' (\(ByteSizeText.format(maxHistoryBytes))): "
                            + "lengthen 'interval', shorten 'retention' or raise 'max_history_bytes'")
        }
        return problems
    }

    /// Settings that work but are probably not meant (check-config prints them; serve logs them).
    public var warnings: [String] {
        var warnings: [String] = []
        if let listen = metricsListen, !TCPAddressText.isLoopback(listen.host) {
            warnings.append("metrics_listen \(listen) is not a loopback address: anyone who can reach it can read /metrics "
                            + "(the watched cgroup's path, the configured labels); put a firewall or an authenticating proxy in front")
        }
        if socketMode & 0o002 != 0 {
            warnings.append("socket_mode \(Self.key(named: "socket_mode")!.show(self)) lets every local user query the daemon and take its connections; "
                            + "0660 with socket_group limits it to a group")
        }
        return warnings
    }

    /// The group that may query the daemon, created by the package and `make install`
    /// (systemd/drum-monitor.sysusers); the socket's group when `socket_group` is empty and it exists.
    static let readerGroup = "drum-monitor"

    var serverListen: ServerConfiguration.Listen {
        .path(socket, mode: socketMode, group: socketGroup ?? (getgrnam(Self.readerGroup) != nil ? Self.readerGroup : nil))
    }

    func server(listen: ServerConfiguration.Listen) -> ServerConfiguration {
        ServerConfiguration(listen: listen, maxConnections: maxConnections, idleTimeoutSeconds: idleTimeoutSeconds,
                            headTimeoutSeconds: headTimeoutSeconds, maxHeadBytes: maxHeadBytes)
    }

    /// The metrics listener: the query server's limits, with fewer connections (scrapers hold
    /// one each).
    func metricsServer(listen: ServerConfiguration.Listen) -> ServerConfiguration {
        var configuration = ServerConfiguration(listen: listen, maxConnections: min(maxConnections, Self.maximumMetricsConnections),
                                                idleTimeoutSeconds: idleTimeoutSeconds, headTimeoutSeconds: headTimeoutSeconds,
                                                maxHeadBytes: maxHeadBytes)
        configuration.role = .metrics
        return configuration
    }

    static let maximumMetricsConnections = 32

    var metricLabels: [(name: String, value: String)] { labels.map { ($0.name, $0.value) } }

    var textfileSettings: TextfileWriter.Settings? {
        textfile.map { TextfileWriter.Settings(path: $0, intervalSeconds: textfileIntervalSeconds) }
    }
}

/// `metrics_listen`: where the TCP listener binds outside systemd.
public struct MetricsAddress: Equatable, Sendable, CustomStringConvertible {
    var host: String
    var port: Int

    /// drum-monitor's port, documented in the README. The Prometheus project's default-port
    /// allocations list (its GitHub wiki) has no free port left in its 9100–9999 exporter range;
    /// newer exporters take ports above 10000.
    public static let defaultPort = 10042

    public var description: String { TCPAddressText.format(host: host, port: port) }
}

/// One configured label of /metrics.
public struct MetricLabel: Equatable, Sendable {
    var name: String
    var value: String

    static let maximumCount = 32
    static let maximumValueBytes = 1024

    /// Checks names (Prometheus label names, not `__`-reserved, not a name /metrics uses itself,
    /// not twice) and values (bounded).
    static func validated(_ pairs: [(String, String)]) throws(DaemonConfig.ValueError) -> [MetricLabel] {
        guard pairs.count <= maximumCount else {
            throw DaemonConfig.ValueError(message: "has \(pairs.count) labels; at most \(maximumCount) (every series carries each)")
        }
        var seen = Set<String>()
        var labels: [MetricLabel] = []
        for (name, value) in pairs {
            let bytes = Array(name.utf8)
            let valid = !bytes.isEmpty && bytes.count <= 100 && bytes.enumerated().allSatisfy { i, b in
                (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F || (i > 0 && b >= 0x30 && b <= 0x39)
            }
            guard valid else {
                throw DaemonConfig.ValueError(message: "label name '\(name)' is not a Prometheus label name (letters, digits and _, not starting with a digit)")
            }
            guard !name.hasPrefix("__") else {
                throw DaemonConfig.ValueError(message: "label name '\(name)': names starting with __ are reserved by Prometheus")
            }
            guard !MetricLabels.reserved.contains(name) else {
                throw DaemonConfig.ValueError(message: "label name '\(name)' is one /metrics uses itself (\(MetricLabels.reserved.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw DaemonConfig.ValueError(message: "label '\(name)' is given twice") }
            guard value.utf8.count <= maximumValueBytes else {
                throw DaemonConfig.ValueError(message: "label '\(name)': the value is \(value.utf8.count) bytes; at most \(maximumValueBytes)")
            }
            labels.append(MetricLabel(name: name, value: value))
        }
        return labels
    }
}
