import Logging
import QueryServer
import SampleModel
import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// Every setting of the daemon, with its default. The key table below is the single place that
/// names them: the YAML file, DRUM_MONITOR_<KEY> variables and --<key> flags all go through it.
public struct DaemonConfig: Equatable, Sendable {
    var intervalSeconds = 1.0
    var retentionSeconds = 3600.0
    public internal(set) var socket = "/run/drum-monitor/drum-monitor.sock"
    var socketMode: mode_t = 0o660
    var socketGroup: String?
    var pid: Int32?
    var pidfile: String?
    var cgroup: String?
    var readEnvironment = true
    public internal(set) var logLevel: Logger.Level = .info
    var maxConnections = 256
    var idleTimeoutSeconds = 30.0
    var headTimeoutSeconds = 10.0
    var maxHeadBytes = 8192

    public static let defaultPath = "/etc/drum-monitor/drum-monitor.yaml"
    static let minimumInterval = 0.01
    /// A ring larger than this is a configuration mistake, not a plan (it would take ~2 GB).
    static let maximumCapacity = 16_000_000

    public init() {}

    var intervalNanos: UInt64 { UInt64((intervalSeconds * 1e9).rounded()) }
    var capacity: Int { max(1, Int((retentionSeconds / intervalSeconds).rounded(.down))) }

    var target: TargetSpec {
        if let pid { return .pid(pid) }
        if let pidfile { return .pidfile(pidfile) }
        return .discover
    }

    /// The keys, how each is parsed into the config, and the text for --help and check-config.
    struct Key: Sendable {
        let name: String
        let help: String
        let apply: @Sendable (inout DaemonConfig, String) throws(ValueError) -> Void
        let show: @Sendable (DaemonConfig) -> String

        var flag: String { "--" + name.split(separator: "_").joined(separator: "-") }
    }

    struct ValueError: Error { let message: String }

    static let keys: [Key] = [
        Key(name: "interval", help: "sampling interval (minimum 10ms)", apply: { c, v throws(ValueError) in
            c.intervalSeconds = try duration(v, atLeast: minimumInterval)
        }, show: { DurationText.format(seconds: $0.intervalSeconds) }),
        Key(name: "retention", help: "history kept in memory; capacity = retention / interval", apply: { c, v throws(ValueError) in
            c.retentionSeconds = try duration(v, atLeast: minimumInterval)
        }, show: { DurationText.format(seconds: $0.retentionSeconds) }),
        Key(name: "socket", help: "Unix socket path to serve on (unless systemd passes one)", apply: { c, v throws(ValueError) in
            guard v.hasPrefix("/") else { throw ValueError(message: "must be an absolute path, got '\(v)'") }
            guard v.utf8.count < 108 else { throw ValueError(message: "is longer than the 107 bytes a Unix socket path may have") }
            c.socket = v
        }, show: { $0.socket }),
        Key(name: "socket_mode", help: "permissions of the socket file, octal", apply: { c, v throws(ValueError) in
            guard let m = mode_t(v, radix: 8), m <= 0o777 else { throw ValueError(message: "must be an octal mode like 0660, got '\(v)'") }
            c.socketMode = m
        }, show: { "0" + String($0.socketMode, radix: 8) }),
        Key(name: "socket_group", help: "group owning the socket file (empty: drum-monitor if that group exists, else the daemon's)", apply: { c, v throws(ValueError) in
            c.socketGroup = v.isEmpty ? nil : v
        }, show: { $0.socketGroup ?? "" }),
        Key(name: "pid", help: "watch this pid instead of discovering DRUM (0: discover)", apply: { c, v throws(ValueError) in
            guard let p = DecimalText.wholeNumber(v).flatMap({ Int32(exactly: $0) }) else { throw ValueError(message: "must be a pid (a positive whole number) or 0, got '\(v)'") }
            c.pid = p == 0 ? nil : p
        }, show: { $0.pid.map(String.init) ?? "0" }),
        Key(name: "pidfile", help: "watch the pid in this file, re-read every tick (empty: discover)", apply: { c, v throws(ValueError) in
            guard v.isEmpty || v.hasPrefix("/") else { throw ValueError(message: "must be an absolute path, got '\(v)'") }
            c.pidfile = v.isEmpty ? nil : v
        }, show: { $0.pidfile ?? "" }),
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
        Key(name: "max_connections", help: "query connections open at once; more are closed at once", apply: { c, v throws(ValueError) in
            c.maxConnections = try integer(v, 1...65536)
        }, show: { String($0.maxConnections) }),
        Key(name: "idle_timeout", help: "close query connections silent this long", apply: { c, v throws(ValueError) in
            c.idleTimeoutSeconds = try duration(v, atLeast: 0.001)
        }, show: { DurationText.format(seconds: $0.idleTimeoutSeconds) }),
        Key(name: "head_timeout", help: "answer 408 when a request head takes longer than this", apply: { c, v throws(ValueError) in
            c.headTimeoutSeconds = try duration(v, atLeast: 0.001)
        }, show: { DurationText.format(seconds: $0.headTimeoutSeconds) }),
        Key(name: "max_head_bytes", help: "answer 431 to request heads larger than this", apply: { c, v throws(ValueError) in
            c.maxHeadBytes = try integer(v, 256...1_048_576)
        }, show: { String($0.maxHeadBytes) }),
    ]

    static func key(named name: String) -> Key? { keys.first { $0.name == name } }

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
        if retentionSeconds < intervalSeconds { problems.append("'retention' must be at least 'interval'") }
        if Double(capacity) > Double(Self.maximumCapacity) {
            problems.append("'retention' / 'interval' = \(capacity) samples; at most \(Self.maximumCapacity) may be held")
        }
        return problems
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
}
