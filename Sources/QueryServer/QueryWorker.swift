import Dispatch
import NIOCore

/// Builds the answers that cost more than a health check (samples by the thousand) off the event
/// loop, one at a time in arrival order, so that /healthz and the cheap endpoints never wait
/// behind them. An answer whose client has gone by its turn is not built (issue 11 item 23).
final class QueryWorker: Sendable {
    typealias Job = @Sendable () -> Void
    private let queue = DispatchQueue(label: "drum-monitor.query-worker")
    private let statistics: ServerStatistics
    private let schedule: (@Sendable (@escaping Job) -> Void)?

    /// `schedule` replaces the worker's queue (tests run jobs where and when they choose).
    init(statistics: ServerStatistics, schedule: (@Sendable (@escaping Job) -> Void)? = nil) {
        self.statistics = statistics
        self.schedule = schedule
    }

    /// Builds `reply`'s response with `build` and writes it to `channel`, if it is still open.
    func answer(on channel: any Channel, _ reply: Reply, _ build: @escaping @Sendable () -> Response) {
        let job: Job = { [statistics] in
            guard channel.isActive else {
                statistics.noteAbandoned()
                return
            }
            var reply = reply
            reply.response = build()
            statistics.noteBuilt()
            channel.writeAndFlush(reply, promise: nil)
        }
        if let schedule { schedule(job) } else { queue.async(execute: job) }
    }

    /// Holds the queue, so that tests can order requests without timing them.
    func suspend() { queue.suspend() }
    func resume() { queue.resume() }
}
