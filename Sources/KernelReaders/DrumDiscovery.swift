import SampleModel

public enum DrumCommandLine {
    /// Recognises DRUM's launch shapes. Returns nil for anything else.
    public static func classify(_ argv: [String], environment: () -> String? = { nil }) -> DrumMode? {
        guard !argv.isEmpty else { return nil }
        let basenames = argv.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
        let mentionsDrumPackage = argv.contains { $0.contains("datarobot_drum") }
        let isGunicorn = basenames.contains("gunicorn") || basenames.contains { $0.hasPrefix("gunicorn:") }
        let isUvicorn = basenames.contains("uvicorn")
        // `drum server …`: the drum entry point script, as argv[0] or run by an interpreter.
        let drumScript = basenames.firstIndex(of: "drum")
        let drumServer = drumScript.map { i in i <= 1 && argv[(i + 1)...].contains("server") } ?? false

        if isGunicorn && (mentionsDrumPackage || environment() != nil) { return .gunicorn }
        if isUvicorn && (mentionsDrumPackage || drumServer) { return .uvicorn }
        if drumServer { return .werkzeug }
        // python -m datarobot_drum.drum.main / …entry_point server …
        if let m = argv.firstIndex(of: "-m"), m + 1 < argv.count, argv[m + 1].hasPrefix("datarobot_drum.drum"),
           argv[(m + 2)...].contains("server") {
            return .werkzeug
        }
        return nil
    }

    /// The environment variable DRUM sets before exec'ing into gunicorn: the original drum argv.
    public static let gunicornArgsVariable = "DRUM_GUNICORN_DRUM_ARGS"
}

/// A DRUM root process found on the host.
public struct DiscoveredTarget: Sendable, Equatable {
    public var pid: Int32
    public var startTimeTicks: UInt64
    public var mode: DrumMode
    public var argv: [String]
}

/// Finds the DRUM root: the topmost DRUM process above any DRUM process (a gunicorn worker, a
/// uvicorn worker under an intermediate, a werkzeug request child).
public struct DrumDiscovery: Sendable {
    public let proc: ProcFiles
    /// Reading other users' /proc/PID/environ needs privileges; off, argv alone decides.
    public let readEnvironment: Bool

    public init(proc: ProcFiles, readEnvironment: Bool = true) {
        self.proc = proc
        self.readEnvironment = readEnvironment
    }

    public func classify(_ pid: Int32) -> (mode: DrumMode, argv: [String])? {
        guard let argv = try? proc.cmdline(pid), !argv.isEmpty else { return nil }
        let mode = DrumCommandLine.classify(argv) { [readEnvironment, proc] in
            readEnvironment ? (try? proc.environment(pid, DrumCommandLine.gunicornArgsVariable)) ?? nil : nil
        }
        return mode.map { ($0, argv) }
    }

    /// Climbs from `pid` to the topmost DRUM ancestor (itself if none above it is DRUM).
    public func root(from pid: Int32) -> DiscoveredTarget? {
        var best: DiscoveredTarget?
        var current = pid
        var seen = Set<Int32>()
        while current > 1, seen.insert(current).inserted {
            guard let stat = try? proc.stat(current) else { break }
            if let (mode, argv) = classify(current) {
                best = DiscoveredTarget(pid: current, startTimeTicks: stat.startTimeTicks, mode: mode, argv: argv)
            }
            current = stat.ppid
        }
        return best
    }

    /// Scans /proc for DRUM roots, oldest first.
    public func findRoots() -> [DiscoveredTarget] {
        guard let pids = try? proc.allPids() else { return [] }
        var roots: [Int32: DiscoveredTarget] = [:]
        for pid in pids where roots[pid] == nil {
            guard classify(pid) != nil, let root = root(from: pid) else { continue }
            roots[root.pid] = root
        }
        return roots.values.sorted { ($0.startTimeTicks, $0.pid) < ($1.startTimeTicks, $1.pid) }
    }

    /// A target given by pid: DRUM's mode if it is DRUM (climbing to its root), else `.pid`.
    public func target(pid: Int32) throws(KernelFileError) -> DiscoveredTarget {
        let stat = try proc.stat(pid)
        if let root = root(from: pid), root.pid == pid { return root }
        let argv = (try? proc.cmdline(pid)) ?? []
        if let (mode, _) = classify(pid) {
            return DiscoveredTarget(pid: pid, startTimeTicks: stat.startTimeTicks, mode: mode, argv: argv)
        }
        return DiscoveredTarget(pid: pid, startTimeTicks: stat.startTimeTicks, mode: .pid, argv: argv)
    }
}

/// A pidfile: one decimal pid, optionally followed by white space.
public enum PidFile {
    public static func read(_ path: String) throws(KernelFileError) -> Int32 {
        let bytes = try HeldFile.read(path)
        let text = bytes.trimmingSpace()
        guard let v = Parse.unsigned(text), let pid = Int32(exactly: v), pid > 0 else {
            throw KernelFileError.malformed(path, "expected a positive pid", line: text)
        }
        return pid
    }
}
