import Dispatch
import History
import Logging
import NIOCore
import NIOPosix
import QueryServer
import SampleModel
import Sampler
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's life: sample, serve, tell systemd, reload on SIGHUP, stop on SIGTERM/SIGINT.
public final class Daemon: Sendable {
    private let loader: ConfigLoader
    private let logger: Logger
    private let systemd: SystemdNotifier
    private let config: Mutex<DaemonConfig>
    private let history: History
    private let events: EventStage
    /// What the daemon took over from its history file at start (nil: nothing): the samples
    /// before this start, the newest taken at `lastWallNanos`. The hook for a restart event.
    public let adoptedHistory: AdoptedHistory?
    /// Events up to this sequence were adopted from a file written during an earlier boot: their
    /// monotonic times are that boot's (0: none).
    private let earlierBootEvents: UInt64
    private let loop: SamplingLoop
    /// Sequence and generation, continued by every sampler a reload builds (issue 11 item 4)
    /// and from the history file across restarts.
    private let counters: SampleCounters
    /// The tree's CPU counter, likewise carried from sampler to sampler (not across restarts:
    /// a counter that restarts with the daemon is a reset Prometheus knows).
    private let cpuAccount = TreeCPUAccount()
    private let supervisionQueue = DispatchQueue(label: "drum-monitor.supervision")
    /// What `reportRefused` has already logged.
    private let refusedReported = Mutex<(values: [String: Int], samples: Int)>(([:], 0))
    /// The configured `labels`, which a reload replaces.
    private let metricLabels: MetricLabels
    private let textfile: TextfileWriter
    private let metrics: MetricsSources
    private let context: QueryContext

    /// Throws `HistoryDoesNotFit` before allocating a history the daemon's memory cannot hold.
    public init(config: DaemonConfig, loader: ConfigLoader, logger: Logger) throws {
        self.loader = loader
        self.logger = logger
        systemd = SystemdNotifier(logger: logger)
        self.config = Mutex(config)
        if let raised = FileLimit.raiseSoftToHard() { logger.info("raised the open-file limit from \(raised.from) to \(raised.to)") }
        let room = MemoryRoom.measure(logger: logger)
        let need = HistoryMemory.of(config, file: config.historyFilePath)
        logger.info("allocating the history: \(config.historyDescription); memory counted: \(need.description); \(room?.description ?? "the daemon's memory limit is unknown")")
        if let refusal = room?.refusal(need, config) { throw HistoryDoesNotFit(description: refusal) }
        let opening: HistoryOpening?
        (history, opening) = Self.openHistory(config, logger: logger)
        adoptedHistory = opening?.adopted
        earlierBootEvents = opening?.adoptedEvents.flatMap { $0.fromEarlierBoot ? $0.lastSequence : nil } ?? 0
        // A file that could not be used (its reason is logged) leaves the whole history private:
        // checked again, as such.
        if case .memory = history.persistence, config.historyFilePath != nil,
           let refusal = room?.refusal(HistoryMemory.of(config, file: nil), config) {
            throw HistoryDoesNotFit(description: refusal)
        }
        // Sequences and generations go on from the adopted history's (a client polling
        // `since=N` across the restart misses nothing; the restart starts a new generation).
        // So do the events' (the ring is in the same file).
        counters = SampleCounters(sequence: adoptedHistory?.lastSequence ?? 0, generation: adoptedHistory?.lastGeneration ?? 0)
        events = EventStage(settings: config.events, log: history.events,
                            reporter: EventReporter(destination: EventReporter.destination(environment: ProcessEnvironment.current()),
                                                    logger: logger))
        if let adoptedHistory { events.restarted(after: adoptedHistory) }
        let sampler = try Sampler(configuration: Self.samplerConfiguration(config), logger: logger, counters: counters,
                                  cpuAccount: cpuAccount)
        loop = SamplingLoop(sampler: sampler, intervalNanos: config.intervalNanos) { [history, events] sample, detail in
            var detail = consume detail
            events.process(sample, &detail, intervalNanos: history.intervalNanos)
            history.append(sample, detail: detail)
        }
        metricLabels = MetricLabels(config.metricLabels)
        let selfProcess = SelfProcess()
        metrics = MetricsSources(labels: metricLabels, process: { selfProcess.read() })
        context = QueryContext(history: history, metrics: metrics) { [loop] in loop.progress }
        textfile = TextfileWriter(render: { [context] in MetricsEndpoint.textfile(context) }, logger: logger)
    }

    /// The history in its file (adopted, migrated or new; see `History.open`), or in memory
    /// with `history_file: none` or when the file cannot be used — every note is logged.
    static func openHistory(_ config: DaemonConfig, logger: Logger) -> (History, HistoryOpening?) {
        guard let path = config.historyFilePath else {
            logger.info("history_file: none; the history and the events are kept in memory only and do not survive a restart")
            return (History(capacity: config.capacity, intervalNanos: config.intervalNanos, eventCapacity: config.eventRingSize), nil)
        }
        let options = HistoryFileOptions(path: path, bootID: BootIDFile.current())
        let (history, opening) = History.open(capacity: config.capacity, intervalNanos: config.intervalNanos,
                                              eventCapacity: config.eventRingSize, options: options)
        for note in opening.notes { log(note, logger) }
        return (history, opening)
    }

    static func log(_ note: HistoryNote, _ logger: Logger) {
        switch note.level {
        case .info: logger.info("\(note.message)")
        case .warning: logger.warning("\(note.message)")
        }
    }

    static func samplerConfiguration(_ c: DaemonConfig) -> SamplerConfiguration {
        SamplerConfiguration(target: c.target, cgroupOverride: c.cgroup, readEnvironment: c.readEnvironment)
    }

    /// `signals` must exist before anything can be observed from outside (the socket), so that a
    /// SIGTERM or SIGHUP during start-up is handled once the daemon is up rather than killing it.
    public func run(signals: SignalStream) async throws {
        let initial = config.withLock { $0 }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let inherited = try systemd.listenDescriptors()
        let listen: ServerConfiguration.Listen = inherited.query.map { .inheritedDescriptor($0) } ?? initial.serverListen
        let metricsListen = metricsListener(initial, inherited)

        // The first sample before the first answer: a client that socket activation queued on
        // the listening socket gets data, not "starting". READY once both are done.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.start { done.resume() }
        }
        logger.info("first sample taken; interval \(DurationText.format(seconds: initial.intervalSeconds)), holding up to \(initial.capacity) samples")
        // The socket file lost for good (issue 11 item 22) ends the loop below like a signal;
        // the daemon then exits non-zero so that systemd restarts it.
        let (events, event) = AsyncStream<Int32?>.makeStream()
        let forwarding = Task { for await signal in signals.stream { event.yield(signal) } }
        defer { forwarding.cancel() }
        let server: QueryServer
        do {
            server = try await QueryServer.start(configuration: initial.server(listen: listen), context: context,
                                                 group: group, logger: logger, onSocketLost: { _ in event.yield(nil) })
        } catch {
            loop.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        var metricsServer: QueryServer?
        if let metricsListen {
            do {
                metricsServer = try await QueryServer.start(configuration: initial.metricsServer(listen: metricsListen), context: context,
                                                            group: group, logger: logger)
            } catch {
                loop.stop()
                await server.close()
                try? await group.shutdownGracefully()
                throw MetricsListenerFailed(description: "\(error)"
                    + (getenv("INVOCATION_ID") != nil ? "; the service cannot open network sockets itself (PrivateNetwork=yes, RestrictAddressFamilies=AF_UNIX): enable drum-monitor-metrics.socket instead of metrics_listen" : ""))
            }
        }
        textfile.apply(initial.textfileSettings)
        systemd.ready(status: statusLine())
        let supervision = startSupervision()

        var socketLost = false
        for await signal in events {
            guard let signal else {
                socketLost = true
                break
            }
            if signal == SIGHUP {
                reload()
                continue
            }
            logger.info("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); stopping")
            break
        }
        systemd.stopping()
        supervision.cancel()
        loop.stop()
        textfile.stop()
        await metricsServer?.close()
        self.events.flush()
        await server.close()
        try? await group.shutdownGracefully()
        if socketLost { throw DaemonStopped(description: "stopped: the query socket is lost (see above)") }
        logger.info("stopped")
    }

    public struct DaemonStopped: Error, CustomStringConvertible {
        public let description: String
    }

    public struct MetricsListenerFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The metrics listener: systemd's socket named `metrics` (drum-monitor-metrics.socket) if it
    /// passed one, which wins over `metrics_listen`; else `metrics_listen`; else none.
    private func metricsListener(_ config: DaemonConfig, _ inherited: InheritedSockets) -> ServerConfiguration.Listen? {
        if let fd = inherited.metrics {
            if let configured = config.metricsListen {
                logger.warning("ignoring metrics_listen \(configured): systemd passed the metrics socket (drum-monitor-metrics.socket)")
            }
            return .inheritedDescriptor(fd)
        }
        return config.metricsListen.map { .tcp(host: $0.host, port: $0.port) }
    }

    /// Every few seconds: STATUS=, and WATCHDOG=1 only while the sampler is making progress, so a
    /// wedged sampler gets the service restarted rather than kept alive by this timer.
    private func startSupervision() -> any DispatchSourceTimer {
        let watchdogUsec = systemd.watchdogInterval()
        let periodNanos = watchdogUsec.map { Swift.min($0 * 1000 / 2, 5_000_000_000) } ?? 5_000_000_000
        if let watchdogUsec { logger.info("systemd watchdog: \(watchdogUsec / 1000) ms; pinging every \(periodNanos / 1_000_000) ms while sampling") }
        let timer = DispatchSource.makeTimerSource(queue: supervisionQueue)
        timer.schedule(deadline: .now() + .nanoseconds(Int(periodNanos)), repeating: .nanoseconds(Int(periodNanos)))
        timer.setEventHandler { [self] in
            if watchdogUsec != nil, samplerIsMakingProgress() { systemd.watchdog() }
            systemd.status(statusLine())
            reportRefused()
        }
        timer.resume()
        return timer
    }

    /// Says in the log when the history could not keep a value or a sample (never silently).
    private func reportRefused() {
        let now = history.refused
        refusedReported.withLock { k in
            for (metric, n) in now.values.sorted(by: { $0.key < $1.key }) where n > (k.values[metric] ?? 0) {
                logger.warning("the history could not keep \(n - (k.values[metric] ?? 0)) value(s) of \(metric) (negative, not whole, or 2^48 units or more); they are absent in the history, the snapshot has them")
            }
            if now.samples > k.samples {
                logger.warning("the history refused \(now.samples - k.samples) sample(s) whose sequence did not follow the newest one's")
            }
            k = now
        }
    }

    /// The samples are fresh by /healthz's rule (`SampleFreshness`): the watchdog is fed exactly
    /// while /healthz would answer 200, and WatchdogSec without a ping is systemd's grace.
    func samplerIsMakingProgress() -> Bool {
        !SampleFreshness(loop.progress, intervalNanos: history.intervalNanos).isStale
    }

    /// One line for `systemctl status`: target, memory against limit, last sample age.
    func statusLine() -> String {
        guard let (sample, detail) = history.latest else { return "starting: no sample yet" }
        let target: String
        if let pid = detail.target.rootPid {
            target = "watching \(detail.target.mode?.rawValue ?? "pid") \(pid) (\(detail.target.processCount) processes)"
        } else {
            target = detail.target.message ?? "no target"
        }
        var memory = "memory n/a"
        if let current = sample.values[.memoryCurrent] {
            memory = "memory \(ByteText.format(current))"
            if let limit = sample.values[.memoryLimit], limit > 0 {
                memory += " of \(ByteText.format(limit)) (\(wholeText(current / limit * 100))%)"
            }
        }
        let age = SampleFreshness.ageSeconds(of: sample)
        return "\(target); \(memory); last sample \(String(format1: age))s ago" + (lastOOMKill().map { "; " + $0 } ?? "")
    }

    /// "last OOM kill 3m12s ago: worker 1234, 1.9 GiB", from the newest oom_kill event held.
    func lastOOMKill() -> String? {
        events.log.newest(of: .oomKill).map { Self.lastOOMKill($0, earlierBoot: $0.sequence <= earlierBootEvents) }
    }

    /// How long ago `kill` was, by the monotonic clock, or by the wall clock for an event of an
    /// earlier boot (kept in a history file on disk), whose monotonic time is that boot's.
    static func lastOOMKill(_ kill: EventRecord, earlierBoot: Bool,
                            now: (mono: UInt64, wall: Int64) = (Clock.monotonicNanos(), Clock.wallNanos())) -> String {
        let nanos = earlierBoot ? Double(now.wall) - Double(kill.wallNanos) : Double(now.mono) - Double(kill.monoNanos)
        let ago = DurationText.human(seconds: nanos / 1e9)
        let victim = kill.processes.first.map { p in
            "\(p.role.rawValue) \(p.pid)" + (p.rssBytes.map { ", " + ByteText.format($0) } ?? "")
        } ?? "outside the DRUM tree"
        return "last OOM kill \(ago) ago: \(victim)"
    }

    /// SIGHUP: RELOADING=1, re-read the configuration, apply it, READY=1. A bad file leaves the
    /// running configuration in place; a reload that keeps the interval keeps the ring as is.
    private func reload() {
        systemd.reloading()
        let old = config.withLock { $0 }
        let new: DaemonConfig
        do {
            new = try loader.load()
        } catch {
            logger.error("reload failed; keeping the running configuration:\n\(error)")
            systemd.ready(status: "reload failed (see log); " + statusLine())
            return
        }
        if new.socket != old.socket || new.socketMode != old.socketMode || new.socketGroup != old.socketGroup
            || new.maxConnections != old.maxConnections || new.idleTimeoutSeconds != old.idleTimeoutSeconds
            || new.headTimeoutSeconds != old.headTimeoutSeconds || new.maxHeadBytes != old.maxHeadBytes {
            logger.warning("socket and query-server settings take effect at the next restart")
        }
        if new.metricsListen != old.metricsListen {
            logger.warning("metrics_listen takes effect at the next restart")
        }
        if new.historyFilePath != old.historyFilePath {
            logger.warning("history_file takes effect at the next restart (still \(old.historyFilePath ?? "none"))")
        }
        if new.capacity != old.capacity || new.eventRingSize != old.eventRingSize {
            // The old ring stays allocated while the new one is filled.
            let file: String? = if case .file(let path) = history.persistence { path } else { nil }
            if let refusal = MemoryRoom.measure(logger: logger)?.refusal(HistoryMemory.of(new, file: file), new) {
                logger.error("reload refused; keeping the running configuration: \(refusal)")
                systemd.ready(status: "reload refused (see log); " + statusLine())
                return
            }
            logger.info("reallocating the history: \(new.historyDescription)")
        }
        for note in history.reconfigure(capacity: new.capacity, intervalNanos: new.intervalNanos, eventCapacity: new.eventRingSize) {
            Self.log(note, logger)
        }
        events.reconfigure(new.events)
        var sampler: Sampler?
        if new.target != old.target || new.cgroup != old.cgroup || new.readEnvironment != old.readEnvironment {
            do {
                sampler = try Sampler(configuration: Self.samplerConfiguration(new), logger: logger, counters: counters,
                                      cpuAccount: cpuAccount)
            } catch {
                logger.error("reload: cannot set up the new target settings (\(error)); keeping the old ones")
            }
        }
        loop.reconfigure(intervalNanos: new.intervalNanos, sampler: sampler)
        metricLabels.set(new.metricLabels)
        textfile.apply(new.textfileSettings)
        config.withLock { $0 = new }
        logger.info("configuration reloaded")
        systemd.ready(status: statusLine())
    }
}
