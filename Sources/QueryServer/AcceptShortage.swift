import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Keeps accept(2) from spinning while the process is out of file descriptors or memory: NIO's
/// `AcceptBackoffHandler` (placed before this handler) asks `backoff` after each failed accept and
/// pauses accepting for the time given; this logs the shortage once, and once more when a
/// connection is accepted again (issue 11 item 21). Connections wait in the backlog meanwhile.
final class AcceptShortage: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let logger: Logger
    private let pause: TimeAmount
    private var failures = 0

    init(logger: Logger, pause: TimeAmount) {
        self.logger = logger
        self.pause = pause
    }

    /// For `AcceptBackoffHandler(backoffProvider:)`: how long to stop accepting after `error`.
    func backoff(_ error: IOError) -> TimeAmount? {
        guard [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            return nil // e.g. ECONNABORTED: that client is gone, the next one can be accepted
        }
        failures += 1
        if failures == 1 {
            let pauseText = "\(pause.nanoseconds / 1_000_000) ms"
            logger.error("cannot accept query connections: \(error); pausing accept for \(pauseText) at a time until it succeeds (raise LimitNOFILE= if this is the descriptor limit)")
        }
        return pause
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failures > 0 {
            logger.notice("accepting query connections again (\(failures) failed accept attempts)")
            failures = 0
        }
        context.fireChannelRead(data)
    }
}
