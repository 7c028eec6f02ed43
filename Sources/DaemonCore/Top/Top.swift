import Dispatch
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// `drum-monitor top`: the live view (a terminal), one frame (`--once`), or frames as plain
/// text one per sample (output to a pipe or a file).
public struct TopOptions: Sendable {
    public var socketPath: String
    public var windowSeconds: Double
    public var once: Bool
    public var environment: [String: String]

    public init(socketPath: String, windowSeconds: Double, once: Bool, environment: [String: String] = ProcessEnvironment.current()) {
        self.socketPath = socketPath
        self.windowSeconds = windowSeconds
        self.once = once
        self.environment = environment
    }

    /// Colour only on a terminal and without NO_COLOR (https://no-color.org: set and not empty).
    func color(outputIsTerminal: Bool) -> Bool {
        outputIsTerminal && (environment["NO_COLOR"] ?? "").isEmpty
    }

    /// Columns of a frame that goes to a pipe or a file: $COLUMNS, else 100.
    var plainWidth: Int {
        if let text = environment["COLUMNS"], let n = Int(text), n >= TopScreen.minimum.width, n <= 1000 { return n }
        return 100
    }
}

public enum Top {
    /// Runs until `q` (the live view), after one frame (`once`) or until killed (a pipe);
    /// the exit status.
    public static func run(_ options: TopOptions) -> ExitStatus {
        let glyphs = Glyphs.forLocale(options.environment)
        let tty = Terminal.isTerminal(1)
        if options.once { return once(options, tty: tty, glyphs: glyphs) }
        if !tty { return plainFrames(options, glyphs: glyphs) }
        return LiveScreen(options: options, glyphs: glyphs).run()
    }

    /// The view after a report.
    static func apply(_ report: FeedReport, to view: inout TopView) {
        view.connection = report.connection
        if let s = report.snapshot {
            view.table.update(s)
            view.snapshot = s
        }
        view.window = report.window
        view.series = report.series
        view.events = report.events
        view.rootStartedUnixNs = report.rootStartedUnixNs
    }

    private static func once(_ options: TopOptions, tty: Bool, glyphs: Glyphs) -> ExitStatus {
        let width = (tty ? Terminal.size(1)?.width : nil) ?? options.plainWidth
        let session = UnixHTTPSession(socketPath: options.socketPath)
        var feed = LiveFeed(socketPath: options.socketPath)
        let request = FeedRequest(windowSeconds: options.windowSeconds, sparkRoom: TopScreen.sparkRoom(width: width))
        let report = feed.refresh(request, now: Clock.wallNanos()) { target throws(UnixHTTPClient.Failure) in try session.get(target) }
        if let failure = report.failure {
            writeStderr("\(failure)\n")
            return failure.status
        }
        var view = TopView(socketPath: options.socketPath, windowSeconds: options.windowSeconds)
        apply(report, to: &view)
        let screen = TopScreen.Options(glyphs: glyphs, interactive: false)
        let now = Clock.wallNanos()
        let frame = TopScreen.render(view, width: width, height: TopScreen.naturalHeight(view, width: width, nowUnixNs: now, options: screen),
                                     nowUnixNs: now, options: screen)
        Terminal.write(1, tty ? TerminalBytes.styledText(frame, color: options.color(outputIsTerminal: true)) : frame.plainText)
        return .success
    }

    /// Output to a pipe or a file: a plain frame (no escape sequences) for each new sample, a
    /// blank line between frames; the daemon going away and coming back is said on stderr.
    private static func plainFrames(_ options: TopOptions, glyphs: Glyphs) -> ExitStatus {
        let width = options.plainWidth
        let session = UnixHTTPSession(socketPath: options.socketPath)
        var feed = LiveFeed(socketPath: options.socketPath)
        var view = TopView(socketPath: options.socketPath, windowSeconds: options.windowSeconds)
        let screen = TopScreen.Options(glyphs: glyphs, interactive: false)
        let request = FeedRequest(windowSeconds: options.windowSeconds, sparkRoom: TopScreen.sparkRoom(width: width))
        var printed: Int?
        var saidDown = false
        while true {
            let started = Double(Clock.monotonicNanos()) / 1e9
            let report = feed.refresh(request, now: Clock.wallNanos()) { target throws(UnixHTTPClient.Failure) in try session.get(target) }
            apply(report, to: &view)
            if let failure = report.failure {
                if !saidDown { writeStderr("\(failure)\n(reconnecting)\n") }
                saidDown = true
            } else if let s = view.snapshot, s.sequence != printed {
                if saidDown { writeStderr("drum-monitor: connected again to \(options.socketPath)\n") }
                saidDown = false
                let now = Clock.wallNanos()
                let frame = TopScreen.render(view, width: width, height: TopScreen.naturalHeight(view, width: width, nowUnixNs: now, options: screen),
                                             nowUnixNs: now, options: screen)
                Terminal.write(1, (printed == nil ? "" : "\n") + frame.plainText)
                printed = s.sequence
            }
            let wait = FeedSchedule.delay(after: report, elapsed: Double(Clock.monotonicNanos()) / 1e9 - started, nowUnixNs: Clock.wallNanos())
            usleep(useconds_t(wait * 1_000_000))
        }
    }
}

/// The live view on a terminal: keys, signals and the feed's reports, each answered by drawing
/// the rows of the frame that changed.
private struct LiveScreen {
    let options: TopOptions
    let glyphs: Glyphs

    func run() -> ExitStatus {
        var size = Terminal.size(1) ?? (80, 24)
        var view = TopView(socketPath: options.socketPath, windowSeconds: options.windowSeconds)
        guard let channel = FeedChannel(request: request(view, width: size.width)), let signals = SignalPipe() else {
            writeStderr("drum-monitor: cannot create a pipe: \(String(cString: strerror(errno)))\n")
            return .failure
        }
        let terminal = TerminalMode(input: 0, output: 1)
        terminal.enter()
        defer { terminal.restore() }
        channel.start(socketPath: options.socketPath)
        defer { channel.stop() }

        let color = options.color(outputIsTerminal: true)
        let screen = TopScreen.Options(glyphs: glyphs, interactive: true)
        var drawn: Frame?
        var fds = [pollfd(fd: channel.screenPipe.read, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: signals.pipe.read, events: Int16(POLLIN), revents: 0)]
        if terminal.readsKeys { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
        while true {
            let frame = TopScreen.render(view, width: size.width, height: size.height, nowUnixNs: Clock.wallNanos(), options: screen)
            if frame != drawn {
                Terminal.write(1, TerminalBytes.update(from: drawn, to: frame, color: color))
                drawn = frame
            }
            // The age in the header changes every second even when nothing else does.
            for i in fds.indices { fds[i].revents = 0 }
            if poll(&fds, nfds_t(fds.count), 500) < 0, errno != EINTR { return .failure }

            if fds[0].revents != 0, let report = channel.takeReport() { Top.apply(report, to: &view) }
            if fds[1].revents != 0 {
                for sig in signals.pipe.drain().map(Int32.init) {
                    switch sig {
                    case SIGWINCH:
                        size = Terminal.size(1) ?? size
                        channel.ask(request(view, width: size.width))
                    case SIGCONT:
                        terminal.enter()
                        drawn = nil
                    case SIGTSTP:
                        suspend(terminal)
                        drawn = nil
                    default:   // SIGINT, SIGTERM, SIGHUP
                        return .success
                    }
                }
            }
            if fds.count > 2, fds[2].revents != 0 {
                var bytes = [UInt8](repeating: 0, count: 256)
                let n = bytes.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) { return .success }   // the terminal went away
                for key in TopKey.parse(Array(bytes.prefix(max(n, 0)))) {
                    switch key {
                    case .quit: return .success
                    case .nextWindow:
                        view.nextWindow()
                        channel.ask(request(view, width: size.width))
                    case .nextSort: view.sort = view.sort.next
                    case .redraw: drawn = nil
                    case .suspend:
                        suspend(terminal)
                        drawn = nil
                    }
                }
            }
        }
    }

    func request(_ view: TopView, width: Int) -> FeedRequest {
        FeedRequest(windowSeconds: view.windowSeconds, sparkRoom: TopScreen.sparkRoom(width: width))
    }

    /// Ctrl-Z: the terminal as it was, stopped like any job; drawn again on `fg`.
    func suspend(_ terminal: TerminalMode) {
        terminal.restore()
        raise(SIGSTOP)
        terminal.enter()
    }
}

/// Signals as bytes on a pipe (Dispatch sources: the handlers run on a queue, not in a
/// signal handler), so the screen's poll(2) wakes for them.
private final class SignalPipe {
    let pipe: WakePipe
    private let sources: [any DispatchSourceSignal]

    init?() {
        guard let pipe = WakePipe() else { return nil }
        self.pipe = pipe
        sources = [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGCONT, SIGTSTP].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { pipe.signal(UInt8(sig)) }
            source.resume()
            return source
        }
    }
}
