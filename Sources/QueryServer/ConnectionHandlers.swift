import NIOCore
import NIOHTTP1
import Synchronization

/// Counts open connections; beyond the limit new ones are closed at once, not queued.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    /// Reserves a slot; false when the server is full.
    func admit() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        if now > limit {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { open.subtract(1, ordering: .relaxed) }
}

/// Sits before the HTTP decoder. Requests here have no body, so everything a client sends is
/// request heads: it answers 431 when a head grows past the limit and 408 when a head trickles
/// in for longer than the head timeout, then closes. Both replies are raw bytes since the
/// HTTP encoder is not involved.
final class RequestHeadGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let maxHeadBytes: Int
    private let headTimeout: TimeAmount
    private var bytesInHead = 0
    /// How many bytes of "\r\n\r\n" the last bytes matched.
    private var terminatorMatched = 0
    private var headTimer: Scheduled<Void>?
    private var closed = false

    init(maxHeadBytes: Int, headTimeout: TimeAmount) {
        self.maxHeadBytes = maxHeadBytes
        self.headTimeout = headTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        let buffer = unwrapInboundIn(data)
        let terminator: [UInt8] = [13, 10, 13, 10]
        buffer.withUnsafeReadableBytes { bytes in
            for b in bytes {
                if bytesInHead == 0 { startTimer(context) }
                bytesInHead += 1
                if b == terminator[terminatorMatched] {
                    terminatorMatched += 1
                } else {
                    terminatorMatched = b == 13 ? 1 : 0
                }
                if terminatorMatched == 4 {
                    bytesInHead = 0
                    terminatorMatched = 0
                    headTimer?.cancel()
                    headTimer = nil
                } else if bytesInHead > maxHeadBytes {
                    break
                }
            }
        }
        if bytesInHead > maxHeadBytes {
            reject(context, status: "431 Request Header Fields Too Large",
                   message: "request head larger than \(maxHeadBytes) bytes")
            return
        }
        context.fireChannelRead(data)
    }

    private func startTimer(_ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        headTimer = context.eventLoop.scheduleTask(in: headTimeout) {
            let (handler, context) = loopBound.value
            handler.reject(context, status: "408 Request Timeout", message: "request head not complete within the head timeout")
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headTimer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        headTimer?.cancel()
        closed = true
        context.fireChannelInactive()
    }

    private func reject(_ context: ChannelHandlerContext, status: String, message: String) {
        guard !closed else { return }
        closed = true
        headTimer?.cancel()
        var body = JSONWriter()
        body.object { $0.field("error", message) }
        body.appendNewline()
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString("HTTP/1.1 \(status)\r\ncontent-type: application/json\r\ncontent-length: \(body.bytes.count)\r\nconnection: close\r\n\r\n")
        buffer.writeBytes(body.bytes)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Closes connections that have been silent for the idle timeout.
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
