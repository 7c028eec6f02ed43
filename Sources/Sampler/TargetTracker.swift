import KernelReaders
import Logging
import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// Which process is the target, tick by tick: attaches (a fixed pid, a pidfile, the DRUM root
/// above a pid, or discovery), notices the root's exit and exec, re-discovers, and counts
/// generations: every attach, detach and exec starts a new one, so nothing sampled without a
/// target, or from another process, carries a target's generation.
final class TargetTracker {
    private let configuration: SamplerConfiguration
    private let proc: ProcFiles
    private let discovery: DrumDiscovery
    private let scanner: DrumScanner?
    private let locator: CgroupLocator?
    private let logger: Logger
    private let clock: any SamplerClock
    private let counters: SampleCounters
    private var ticksPerSecond: UInt64 { configuration.constants.clockTicksPerSecond }

    private(set) var root: TrackedProcess?
    private(set) var mode: DrumMode?
    /// Why there is no target; with a target, something the operator should know about it.
    private(set) var message: String? = "no DRUM process found yet"
    /// DataRobot's MLOPS_DEPLOYMENT_ID and MLOPS_MODEL_ID in the root's environment (read at
    /// attach and exec, when `readEnvironment`): labels that identify the model across a fleet.
    private(set) var mlopsDeploymentID: String?
    private(set) var mlopsModelID: String?

    /// The root's cmdline, held open (compared once a second, and every tick when the kernel
    /// hides argv's address), and its bytes as last compared.
    private var rootCmdline: BoundedRead.Held?
    private var rootCmdlineBytes: [UInt8] = []
    private var rootExecMarks = ExecMarks()
    private var rootCmdlineCheckedNanos: UInt64 = 0
    /// Where the root's replacement may appear (discovery): its parent and its cgroup's members.
    private var rootHints: (parentPid: Int32, cgroupProcs: String?)?

    /// `pid` and `rootOf`: the process the pid named when first seen. Once it is gone, so is the target.
    private var pinnedStartTime: UInt64?
    private var pinnedGone = false
    /// `discover`: what was lost ("DRUM process N exited; looking for it again"), until found.
    private var lostMessage: String?
    /// `pidfile`: the file as last acted on (lstat identity); unchanged means nothing to re-read.
    private var pidfileIdentity: PidFile.Identity?

    static let cmdlineCheckEveryNanos: UInt64 = 1_000_000_000

    init(configuration: SamplerConfiguration, locator: CgroupLocator?, logger: Logger, clock: any SamplerClock,
         counters: SampleCounters) {
        self.configuration = configuration
        self.locator = locator
        self.logger = logger
        self.clock = clock
        self.counters = counters
        proc = ProcFiles(paths: configuration.paths)
        discovery = DrumDiscovery(proc: proc, readEnvironment: configuration.readEnvironment)
        scanner = configuration.target.discovers
            ? DrumScanner(discovery: discovery, match: configuration.target.match,
                          ticksPerSecond: configuration.constants.clockTicksPerSecond) : nil
    }

    var generation: UInt32 { counters.generation }

    /// For tests and measurements: discovery's work so far.
    var scannerStatistics: (scans: Int, classifications: Int, matchChecks: Int)? {
        scanner.map { ($0.scans, $0.classifications, $0.matchChecks) }
    }

    /// Follows the target for this tick. Returns true when the root changed (attached, detached
    /// or replaced): the tree is then walked afresh.
    func follow(now: UInt64) -> Bool {
        var changed = false
        if let current = root {
            if !current.refresh(now: now, ticksPerSecond: ticksPerSecond) {
                logger.info("DRUM root \(current.pid) is gone")
                detach(message: exitMessage(current.pid), now: now)
                changed = true
            } else if rootExeced(now: now) {
                reclassifyAfterExec(current)
            }
        }
        switch configuration.target {
        case .pidfile(let file):
            changed = followPidfile(file, now: now) || changed
        case .pid(let pid):
            if root == nil, !pinnedGone, pin(pid) { changed = attach(pid: pid, now: now) == .attached || changed }
        case .rootOf(let pid):
            if root == nil, !pinnedGone, pin(pid) {
                let climbed = discovery.climb(from: pid)
                if let found = climbed.root {
                    changed = attach(found, now: now) == .attached || changed
                } else {
                    message = "no DRUM process at or above pid \(pid)" + (climbed.unknown.map { " (\($0))" } ?? "")
                }
            }
        case .discover, .matching:
            if root == nil, let scanner { changed = discover(scanner, now: now, boot: clock.bootNanos()) || changed }
        }
        return changed
    }

    // MARK: - Targets

    /// `pid`/`rootOf`: true while `pid` is still the process it was when first seen.
    private func pin(_ pid: Int32) -> Bool {
        let stat: ProcStat
        do { stat = try proc.stat(pid) } catch {
            if Self.isGone(error) {
                pinnedGone = true
                message = pinnedStartTime == nil
                    ? "pid \(pid) does not exist"
                    : "pid \(pid) exited; a fixed pid is not followed to a new process (use pidfile or discovery to follow restarts)"
            } else {
                message = "no target: pid \(pid): \(error)"
            }
            return false
        }
        if let pinned = pinnedStartTime, pinned != stat.startTimeTicks {
            pinnedGone = true
            message = "pid \(pid) exited, and the pid now belongs to a newer process, which is not the target"
            logger.info("pid \(pid) now belongs to a process started later than the watched one; not attaching")
            return false
        }
        pinnedStartTime = stat.startTimeTicks
        return true
    }

    private func followPidfile(_ file: String, now: UInt64) -> Bool {
        let identity: PidFile.Identity
        do { identity = try PidFile.identity(file) } catch {
            pidfileIdentity = nil
            return pidfileFailed("no target: \(error)", now: now)
        }
        guard identity != pidfileIdentity else { return false }
        pidfileIdentity = identity
        let contents: PidFile.Contents
        do { contents = try PidFile.read(file) } catch {
            return pidfileFailed("no target: \(error)", now: now)
        }
        let pid = contents.pid
        if let current = root, current.pid == pid { return false } // rewritten, same process
        var changed = false
        if root != nil {
            detach(message: "pidfile \(file) now names \(pid)", now: now)
            changed = true
        }
        do {
            let owner = try proc.owner(pid)
            guard PidFile.trusts(fileOwner: contents.ownerUID, processOwner: owner, daemonUID: configuration.daemonUID) else {
                message = "no target: pidfile \(file) is owned by uid \(contents.ownerUID) but names pid \(pid) of uid \(owner): refused (a pidfile not owned by root may name only its owner's processes)"
                logger.warning("\(message ?? "")")
                return changed
            }
        } catch {
            message = Self.isGone(error) ? "pidfile \(file) names pid \(pid), which does not exist" : "no target: pid \(pid): \(error)"
            if !Self.isGone(error) { pidfileIdentity = nil } // try again next tick
            return changed
        }
        switch attach(pid: pid, now: now) {
        case .attached: return true
        case .gone: return changed
        case .failed:
            pidfileIdentity = nil // a transient failure (e.g. out of descriptors): try again next tick
            return changed
        }
    }

    private func pidfileFailed(_ why: String, now: UInt64) -> Bool {
        if root != nil {
            detach(message: why, now: now)
            return true
        }
        message = why
        return false
    }

    private func discover(_ scanner: DrumScanner, now: UInt64, boot: UInt64) -> Bool {
        guard case .looked(let roots, let unknown, let unknownCount, let unmatched) = scanner.look(now: now, boot: boot) else {
            return false
        }
        let match = configuration.target.match
        guard let first = roots.first else {
            // After a loss, what was lost stays the news until a DRUM is found.
            var text = lostMessage ?? match.map { "no DRUM process \($0) found" }
                ?? "no DRUM process found (looking for `drum server`, DRUM's gunicorn or uvicorn, or -m datarobot_drum)"
            if let other = unmatched.first {
                let others = unmatched.count == 1 ? "1 other DRUM server does not match" : "\(unmatched.count) other DRUM servers do not match"
                text += "; \(others), e.g. pid \(other.pid): \(Self.excerpt(other.argv))"
            }
            if let unknown {
                text += "; \(unknownCount) process\(unknownCount == 1 ? "" : "es") could not be checked, e.g. \(unknown)"
            }
            message = text
            return false
        }
        if roots.count > 1 {
            let which = match.map { "\(roots.count) DRUM servers match (\($0))" } ?? "\(roots.count) DRUM servers found"
            logger.warning("\(which); watching the oldest, pid \(first.pid). Set `match` (or pid, pidfile) to choose.")
        }
        return attach(first, now: now) == .attached
    }

    /// A command line in a message: its start, at most 200 characters.
    private static func excerpt(_ argv: [String]) -> String {
        let line = argv.joined(separator: " ")
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    // MARK: - Attach, detach, exec

    private enum AttachOutcome { case attached, gone, failed }

    private func attach(pid: Int32, now: UInt64) -> AttachOutcome {
        let target: DiscoveredTarget
        do { target = try discovery.target(pid: pid) } catch {
            let gone = Self.isGone(error)
            message = gone ? "pid \(pid) does not exist" : "no target: pid \(pid): \(error)"
            return gone ? .gone : .failed
        }
        return attach(target, now: now)
    }

    private func attach(_ target: DiscoveredTarget, now: UInt64) -> AttachOutcome {
        let tracked: TrackedProcess
        do {
            tracked = try TrackedProcess(pid: target.pid, paths: configuration.paths, proc: proc, isRoot: true)
        } catch {
            let gone = Self.isGone(error)
            message = gone ? "pid \(target.pid) exited while attaching" : "no target: pid \(target.pid): \(error)"
            return gone ? .gone : .failed
        }
        guard tracked.startTimeTicks == target.startTimeTicks else {
            message = "pid \(target.pid) changed while attaching"
            return .gone
        }
        _ = tracked.refresh(now: now, ticksPerSecond: ticksPerSecond)
        root = tracked
        lostMessage = nil
        mode = target.mode
        message = target.note
        rootCmdline = try? BoundedRead.Held(path: configuration.paths.proc(target.pid, "cmdline"), limit: ProcFiles.maxCmdlineBytes)
        rootCmdlineBytes = (try? rootCmdline?.withPrefix { bytes, _ in Array(bytes) }) ?? []
        rootExecMarks = ExecMarks(tracked.stat)
        rootCmdlineCheckedNanos = now
        if scanner != nil {
            let procs = (try? locator?.locate(pid: target.pid))?.memory.value.flatMap { loc in
                loc.directory == loc.mountPoint ? nil : loc.directory + "/cgroup.procs"
            }
            rootHints = (tracked.stat.ppid, procs)
        }
        readIdentity(target.pid)
        counters.nextGeneration()
        logger.info("watching DRUM root \(target.pid) (\(target.mode.rawValue)): \(target.argv.joined(separator: " "))")
        if let note = target.note { logger.warning("pid \(target.pid): \(note)") }
        return .attached
    }

    /// The MLOPS ids in `pid`'s environment: two bounded reads, once per attach or exec.
    private func readIdentity(_ pid: Int32) {
        guard configuration.readEnvironment else { return }
        func value(_ name: String) -> String? {
            guard let v = (try? proc.environment(pid, name)) ?? nil, !v.isEmpty else { return nil }
            return v.count > Self.maxIdentityCharacters ? String(v.prefix(Self.maxIdentityCharacters)) + "…" : v
        }
        mlopsDeploymentID = value("MLOPS_DEPLOYMENT_ID")
        mlopsModelID = value("MLOPS_MODEL_ID")
    }

    static let maxIdentityCharacters = 256

    private func detach(message: String, now: UInt64) {
        root = nil
        mode = nil
        mlopsDeploymentID = nil
        mlopsModelID = nil
        rootCmdline = nil
        rootCmdlineBytes = []
        self.message = message
        counters.nextGeneration()
        if scanner != nil { lostMessage = message }
        if let scanner, let hints = rootHints {
            scanner.rootLost(parentPid: hints.parentPid, cgroupProcs: hints.cgroupProcs, now: now)
        }
        rootHints = nil
    }

    private func exitMessage(_ pid: Int32) -> String {
        switch configuration.target {
        case .discover: "DRUM process \(pid) exited; looking for it again"
        case .matching(let m): "DRUM process \(pid) exited; looking for a DRUM process \(m) again"
        case .pidfile(let file): "pid \(pid) (from pidfile \(file)) exited; waiting for the pidfile to name a new process"
        case .pid: "pid \(pid) exited; a fixed pid is not followed to a new process (use pidfile or discovery to follow restarts)"
        case .rootOf: "DRUM process \(pid) exited"
        }
    }

    /// True when the root's cmdline changed since it was last compared (see
    /// `SamplingSteps.shouldCompareCmdline` for when that is).
    private func rootExeced(now: UInt64) -> Bool {
        guard let root, let file = rootCmdline else { return false }
        let marks = ExecMarks(root.stat)
        guard SamplingSteps.shouldCompareCmdline(known: rootExecMarks, now: marks, lastComparedNanos: rootCmdlineCheckedNanos,
                                                 nowNanos: now, every: Self.cmdlineCheckEveryNanos) else { return false }
        rootExecMarks = marks
        rootCmdlineCheckedNanos = now
        // Compared in place: copied only when it changed (an exec), not on every check.
        let known = rootCmdlineBytes
        guard let changed = try? file.withPrefix({ bytes, _ in Self.same(bytes, known) ? nil : Array(bytes) }) else { return false }
        rootCmdlineBytes = changed
        return true
    }

    /// Same process, new program (DRUM exec's into gunicorn or uvicorn): a new generation.
    private func reclassifyAfterExec(_ current: TrackedProcess) {
        var argv = ProcCmdline.parse(rootCmdlineBytes)
        if rootCmdlineBytes.count >= ProcFiles.maxCmdlineBytes, !argv.isEmpty { argv[argv.count - 1] += "…" }
        switch discovery.verdict(current.pid, argv: argv) {
        case .drum(let m):
            mode = m
            message = nil
        case .unknown(let why):
            mode = configuration.target.discovers ? mode : .pid
            message = why
        case .notDrum:
            mode = configuration.target.discovers ? mode : .pid
            message = nil
        }
        current.cmdline = argv
        readIdentity(current.pid)
        counters.nextGeneration()
        logger.info("DRUM root \(current.pid) exec'd: now \(mode?.rawValue ?? "?") \(argv.joined(separator: " "))")
    }

    private static func same(_ a: ArraySlice<UInt8>, _ b: [UInt8]) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 }
        }
    }

    static func isGone(_ error: KernelFileError) -> Bool {
        switch error.kind {
        case .open(let e), .read(let e): e == ENOENT || e == ESRCH
        default: false
        }
    }
}
