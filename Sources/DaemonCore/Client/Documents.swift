import FoundationEssentials

/// The daemon's JSON answers, as the client reads them for human-readable output.
struct SnapshotDocument: Decodable {
    struct Target: Decodable {
        var found: Bool
        var root_pid: Int?
        var mode: String?
        var generation: Int
        var process_count: Int
        var message: String?
    }
    struct Cgroup: Decodable { var path: String?; var version: Int? }
    struct Memory: Decodable {
        var current_bytes: Double?
        var peak_bytes: Double?
        var interval_peak_bytes: Double?
        var interval_peak_exact: Bool?
        var limit_bytes: Double?
        var limit_source: String?
        var working_set_bytes: Double?
        var oom_kills: Double?
        var limit_hits: Double?
        /// From daemons with events: when the working set would reach the limit at its trend.
        var time_to_limit_seconds: Double?
        var host_total_bytes: Double?
        var host_available_bytes: Double?
    }
    struct CPU: Decodable {
        var tree_cores: Double?
        var cgroup_cores: Double?
        var limit_cores: Double?
        var throttled_fraction: Double?
    }
    struct Process: Decodable {
        var pid: Int
        var ppid: Int
        var role: String
        var cmdline: String
        var rss_bytes: Double
        var cpu_cores: Double?
    }
    var sequence: Int
    var time: String
    var time_unix_ns: Int64?
    var interval_seconds: Double
    var measured_interval_seconds: Double?
    /// From daemons with events (absent or null: none yet, or no events endpoint).
    var newest_event_sequence: Int?
    var target: Target
    var cgroup: Cgroup
    var memory: Memory
    var cpu: CPU
    var tree_rss_bytes: Double?
    var processes: [Process]
    var unavailable: [String: String]
}

struct WindowDocument: Decodable {
    struct Window: Decodable {
        var seconds: Double?
        var samples_requested: Int?
        var from: String?
        var to: String?
        var samples: Int
        var covered: Bool
        var from_sequence: Int?
        var to_sequence: Int?
    }
    struct Stats: Decodable {
        var max: Double?
        var max_time: String?
        var min: Double?
        var avg: Double?
        var last: Double?
        var count: Int
    }
    var window: Window
    var fields: [String: Stats]
}

struct HealthDocument: Decodable {
    struct Lateness: Decodable { var p50: Double?; var p99: Double?; var max: Double? }
    var status: String
    var last_sample_age_seconds: Double?
    var interval_seconds: Double
    var ticks: Int
    var late_ticks: Int
    var missed_ticks: Int
    var lateness_seconds: Lateness
    var samples_held: Int
    var capacity: Int
}

struct SamplesDocument: Decodable {
    var truncated: Bool
    var next_since: Int
    var fields: [String]
    var samples: [[Double?]]
}

struct StatsDocument: Decodable {
    struct Process: Decodable { var pid: Int; var cmdline: [String]; var mem: Double?; var cpu_percent: Double? }
    var mem_info: [String: Double?]
    var drum_info: [Process]
}

struct ErrorDocument: Decodable { var error: String }

enum Documents {
    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body))
    }
}
