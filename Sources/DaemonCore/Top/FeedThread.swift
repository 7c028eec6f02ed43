import Dispatch
import SampleModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The feed runs on its own thread, so the screen answers keys at once even while the daemon
/// is slow to answer (stopped, starved) or down. The two sides meet here: the screen sets the
/// request and wakes the feed (a new window, a resize); the feed leaves its newest report and
/// wakes the screen. Wake-ups are bytes on pipes, so each side can wait in poll(2).
final class FeedChannel: Sendable {
    private struct State {
        var request: FeedRequest
        var report: FeedReport?
        var stopped = false
    }

    private let state: Mutex<State>
    private let feedPipe: WakePipe
    let screenPipe: WakePipe

    init?(request: FeedRequest) {
        guard let feedPipe = WakePipe(), let screenPipe = WakePipe() else { return nil }
        state = Mutex(State(request: request))
        self.feedPipe = feedPipe
        self.screenPipe = screenPipe
    }

    var request: FeedRequest { state.withLock { $0.request } }
    var stopped: Bool { state.withLock { $0.stopped } }

    func ask(_ request: FeedRequest) {
        let changed = state.withLock { s in
            defer { s.request = request }
            return s.request != request
        }
        if changed { feedPipe.signal() }
    }

    func publish(_ report: FeedReport) {
        state.withLock { $0.report = report }
        screenPipe.signal()
    }

    func takeReport() -> FeedReport? {
        screenPipe.drain()
        return state.withLock { s in
            defer { s.report = nil }
            return s.report
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
        feedPipe.signal()
    }

    /// The feed waits here until `seconds` have passed or the screen asked for something.
    func waitForFeedWork(seconds: Double) {
        var fd = pollfd(fd: feedPipe.read, events: Int16(POLLIN), revents: 0)
        _ = poll(&fd, 1, Int32(max(0, min(seconds, 60)) * 1000))
        feedPipe.drain()
    }

    /// Starts the feed: asks the daemon at `socketPath` until stopped.
    func start(socketPath: String) {
        DispatchQueue(label: "drum-monitor.top.feed").async { [self] in
            let session = UnixHTTPSession(socketPath: socketPath)
            var feed = LiveFeed(socketPath: socketPath)
            func elapsed(since start: Double) -> Double { Double(Clock.monotonicNanos()) / 1e9 - start }
            while !stopped {
                let started = Double(Clock.monotonicNanos()) / 1e9
                let report = feed.refresh(request, now: Clock.wallNanos()) { target throws(UnixHTTPClient.Failure) in try session.get(target) }
                if stopped { return }
                publish(report)
                waitForFeedWork(seconds: FeedSchedule.delay(after: report, elapsed: elapsed(since: started), nowUnixNs: Clock.wallNanos()))
                // Woken early (a key, a resize: a terminal being dragged sends many): still at
                // most 4 rounds a second.
                let rest = FeedSchedule.fastest - elapsed(since: started)
                if rest > 0, !stopped { usleep(useconds_t(rest * 1_000_000)) }
            }
        }
    }
}

/// A non-blocking pipe used to wake a poll(2).
struct WakePipe: Sendable {
    let read: Int32
    let write: Int32

    init?() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        read = fds[0]
        write = fds[1]
    }

    func signal(_ byte: UInt8 = 1) {
        var b = byte
        _ = Glibc.write(write, &b, 1)
    }

    /// Reads what is waiting; the bytes.
    @discardableResult
    func drain() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(read, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }
}

/// When the feed asks next: just after the daemon's next sample is due, at most 4 times a
/// second; while the daemon is down, once a second.
enum FeedSchedule {
    static let fastest = 0.25
    static let retry = 1.0

    /// Seconds to wait after a round that took `elapsed` seconds.
    static func delay(after report: FeedReport, elapsed: Double, nowUnixNs: Int64) -> Double {
        let wait: Double
        switch report.connection {
        case .down, .connecting:
            wait = retry
        case .up:
            guard let s = report.snapshot, let taken = s.time_unix_ns, s.interval_seconds.isFinite, s.interval_seconds > 0 else {
                wait = fastest
                break
            }
            // A little after the next sample is due, so it is there when asked for.
            let slack = min(0.05, s.interval_seconds * 0.1)
            let due = TopText.seconds(from: nowUnixNs, to: taken) + s.interval_seconds + slack
            // Overdue (a late sampler): look again soon. Never longer than an interval and a bit
            // (a wall-clock step must not stop the view).
            wait = due > 0 ? min(due, max(s.interval_seconds, fastest) + retry) : fastest
        }
        return max(wait, fastest - elapsed, 0)
    }
}
