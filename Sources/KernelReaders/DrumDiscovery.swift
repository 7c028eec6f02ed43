import SampleModel
#if canImport(Glibc)
import Glibc
#endif

public enum DrumCommandLine {
    /// Recognises DRUM's launch shapes. Returns nil for anything else.
    ///
    /// `environment` is asked for one variable, and only for a gunicorn or uvicorn command line
    /// that does not name DRUM: DRUM sets `DRUM_GUNICORN_DRUM_ARGS` (or, for its planned FastAPI
    /// mode, `DRUM_UVICORN_DRUM_ARGS`) before it execs into the server. Its error (e.g. EACCES on
    /// another user's /proc/PID/environ) propagates: "cannot tell" is not "not DRUM".
    public static func classify(
        _ argv: [String], environment: (String) throws(KernelFileError) -> String? = { _ in nil }
    ) throws(KernelFileError) -> DrumMode? {
        guard !argv.isEmpty else { return nil }
        let basenames = argv.map(basename)
        let mentionsDrumPackage = argv.contains { $0.containsBytes("datarobot_drum") }
        let isGunicorn = basenames.contains("gunicorn") || basenames.contains { $0.hasPrefix("gunicorn:") }
        // `drum server …`: the drum entry point script, as argv[0] or run by an interpreter.
        let drumScript = basenames.firstIndex(of: "drum")
        let drumServer = drumScript.map { i in i <= 1 && argv[(i + 1)...].contains("server") } ?? false

        if isGunicorn {
            if mentionsDrumPackage { return .gunicorn }
            if try environment(gunicornArgsVariable) != nil { return .gunicorn }
        }
        if isUvicorn(argv) {
            if mentionsDrumPackage || drumServer { return .uvicorn }
            if try environment(uvicornArgsVariable) != nil { return .uvicorn }
        }
        if drumServer { return .werkzeug }
        // python -m datarobot_drum.drum.main / …entry_point server …
        if let m = argv.firstIndex(of: "-m"), m + 1 < argv.count, argv[m + 1].hasPrefix("datarobot_drum.drum"),
           argv[(m + 2)...].contains("server") {
            return .werkzeug
        }
        return nil
    }

    /// The classification when the environment cannot be read (or is not to be).
    public static func classifyByArgv(_ argv: [String]) -> DrumMode? {
        (try? classify(argv)) ?? nil
    }

    /// `uvicorn …`, `python -m uvicorn …`: the uvicorn master (DRUM's planned FastAPI mode, or a
    /// plain uvicorn app watched by pid).
    public static func isUvicorn(_ argv: [String]) -> Bool {
        argv.prefix(3).contains { basename($0) == "uvicorn" }
    }

    /// A `multiprocessing` spawn child: `python -c "from multiprocessing.spawn import spawn_main;
    /// spawn_main(…)" --multiprocessing-fork`. uvicorn's `--workers N` starts its workers so.
    public static func isSpawnChild(_ argv: [String]) -> Bool {
        argv.contains("--multiprocessing-fork") && inlineCode(argv).contains { $0.containsBytes("multiprocessing.spawn") }
    }

    /// multiprocessing's helper processes (`python -c "from multiprocessing.resource_tracker
    /// import main;main(5)"`, the forkserver, and the semaphore tracker of older Pythons).
    public static func isMultiprocessingHelper(_ argv: [String]) -> Bool {
        inlineCode(argv).contains { code in
            code.containsBytes("multiprocessing.resource_tracker") || code.containsBytes("multiprocessing.forkserver")
                || code.containsBytes("multiprocessing.semaphore_tracker")
        }
    }

    /// The role of a process of a watched tree (pure: decided from command lines alone).
    public static func role(argv: [String], ppid: Int32, rootPid: Int32, rootArgv: [String]) -> ProcessRole {
        if isMultiprocessingHelper(argv) { return .helper }
        if argv == rootArgv || classifyByArgv(argv) != nil { return .worker }
        if ppid == rootPid, isSpawnChild(argv), isUvicorn(rootArgv) { return .worker }
        return .child
    }

    /// The environment variable DRUM sets before exec'ing into gunicorn: the original drum argv.
    public static let gunicornArgsVariable = "DRUM_GUNICORN_DRUM_ARGS"
    /// Its counterpart for DRUM's planned uvicorn (FastAPI) mode.
    public static let uvicornArgsVariable = "DRUM_UVICORN_DRUM_ARGS"

    /// Where a DRUM root of this mode keeps the `drum` command line it was exec'd from.
    public static func argsVariable(for mode: DrumMode) -> String? {
        switch mode {
        case .gunicorn: gunicornArgsVariable
        case .uvicorn: uvicornArgsVariable
        case .werkzeug, .pid: nil
        }
    }

    private static func basename(_ arg: String) -> String {
        arg.split(separator: "/").last.map(String.init) ?? arg
    }

    /// The arguments that follow `-c` (Python's inline program).
    private static func inlineCode(_ argv: [String]) -> [String] {
        guard argv.count > 2 else { return [] }
        return argv.indices.dropLast().compactMap { argv[$0] == "-c" ? argv[$0 + 1] : nil }
    }
}

/// A DRUM root process found on the host.
public struct DiscoveredTarget: Sendable, Equatable {
    public var pid: Int32
    public var startTimeTicks: UInt64
    public var mode: DrumMode
    public var argv: [String]
    /// Something the operator should know about the target, e.g. why its mode is `pid` although
    /// it looks like gunicorn (its environment could not be read).
    public var note: String?

    public init(pid: Int32, startTimeTicks: UInt64, mode: DrumMode, argv: [String], note: String? = nil) {
        self.pid = pid
        self.startTimeTicks = startTimeTicks
        self.mode = mode
        self.argv = argv
        self.note = note
    }
}

/// What one process is to discovery.
public enum DrumVerdict: Sendable, Equatable {
    case drum(DrumMode)
    case notDrum
    /// Its command line looks like DRUM's server but what decides it could not be read (e.g.
    /// EACCES on /proc/PID/environ): the reason, for the operator.
    case unknown(String)

    public var mode: DrumMode? {
        if case .drum(let m) = self { return m }
        return nil
    }
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

    /// The verdict on `argv`, the command line of `pid`.
    public func verdict(_ pid: Int32, argv: [String]) -> DrumVerdict {
        do {
            let mode = try DrumCommandLine.classify(argv) { [readEnvironment, proc] (name) throws(KernelFileError) in
                readEnvironment ? try proc.environment(pid, name) : nil
            }
            return mode.map { .drum($0) } ?? .notDrum
        } catch {
            // ENOENT/ESRCH: the process exited while being looked at; nothing to report.
            if case .open(let e) = error.kind, e == ENOENT || e == ESRCH { return .notDrum }
            return .unknown("pid \(pid) (\(argv.first ?? "?")) looks like gunicorn or uvicorn, but whether it is DRUM's cannot be told: \(error)")
        }
    }

    public func classify(_ pid: Int32) -> (verdict: DrumVerdict, argv: [String])? {
        guard let argv = try? proc.cmdline(pid), !argv.isEmpty else { return nil }
        return (verdict(pid, argv: argv), argv)
    }

    /// What `root(from:)` found: the topmost DRUM process, and what could not be told on the way.
    public struct Climb: Sendable, Equatable {
        public var root: DiscoveredTarget?
        /// Why a process on the way up could not be classified (the first such reason).
        public var unknown: String?
    }

    /// Climbs from `pid` to the topmost DRUM ancestor (itself if none above it is DRUM).
    public func climb(from pid: Int32) -> Climb {
        var result = Climb()
        var current = pid
        var seen = Set<Int32>()
        while current > 1, seen.insert(current).inserted {
            guard let stat = try? proc.stat(current) else { break }
            if let (verdict, argv) = classify(current) {
                switch verdict {
                case .drum(let mode):
                    result.root = DiscoveredTarget(pid: current, startTimeTicks: stat.startTimeTicks, mode: mode, argv: argv)
                case .unknown(let why):
                    if result.unknown == nil { result.unknown = why }
                case .notDrum:
                    break
                }
            }
            current = stat.ppid
        }
        return result
    }

    /// Climbs from `pid` to the topmost DRUM ancestor (itself if none above it is DRUM).
    public func root(from pid: Int32) -> DiscoveredTarget? { climb(from: pid).root }

    /// Scans /proc for DRUM roots, oldest first (a full scan; the daemon uses `DrumScanner`).
    public func findRoots() -> [DiscoveredTarget] {
        guard let pids = try? proc.allPids() else { return [] }
        var roots: [Int32: DiscoveredTarget] = [:]
        for pid in pids where roots[pid] == nil {
            guard classify(pid)?.verdict.mode != nil, let root = root(from: pid) else { continue }
            roots[root.pid] = root
        }
        return DiscoveredTarget.oldestFirst(Array(roots.values))
    }

    /// A target given by pid: DRUM's mode if it is DRUM (climbing to its root), else `.pid`
    /// (with a note when it looks like DRUM but could not be checked).
    public func target(pid: Int32) throws(KernelFileError) -> DiscoveredTarget {
        let stat = try proc.stat(pid)
        let climbed = climb(from: pid)
        if let root = climbed.root, root.pid == pid { return root }
        let argv = (try? proc.cmdline(pid)) ?? []
        switch verdict(pid, argv: argv) {
        case .drum(let mode):
            return DiscoveredTarget(pid: pid, startTimeTicks: stat.startTimeTicks, mode: mode, argv: argv)
        case .unknown(let why):
            return DiscoveredTarget(pid: pid, startTimeTicks: stat.startTimeTicks, mode: .pid, argv: argv, note: why)
        case .notDrum:
            return DiscoveredTarget(pid: pid, startTimeTicks: stat.startTimeTicks, mode: .pid, argv: argv)
        }
    }
}

extension DiscoveredTarget {
    /// Several DRUM servers: the oldest is watched.
    public static func oldestFirst(_ targets: [DiscoveredTarget]) -> [DiscoveredTarget] {
        targets.sorted { ($0.startTimeTicks, $0.pid) < ($1.startTimeTicks, $1.pid) }
    }
}

extension String {
    /// Whether `needle` occurs in the string, byte for byte (`Substrings`, linear in any input).
    /// Not `contains(_: StringProtocol)`: that brings in _StringProcessing's generic searcher,
    /// ~130 KiB of code resident in every daemon for a few substring tests (issue 11 item 16).
    func containsBytes(_ needle: String) -> Bool {
        Substrings.contains(Array(utf8), Array(needle.utf8))
    }
}
