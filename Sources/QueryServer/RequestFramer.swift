import NIOCore
import NIOHTTP1
import SampleModel

/// Sent by the request handler through the pipeline when a head passed on began a request.
struct RequestStarted: Sendable {}

/// Sits before the HTTP decoder and hands it one request head at a time.
///
/// Requests here have no body, so what a client sends is request heads, each ending in an empty
/// line. The framer passes on the next head only once the previous request has its reply and the
/// socket takes more (`isWritable`); until then what arrived waits in `pending` and the
/// connection is not read (issue 11 item 2). A connection therefore holds at most
/// `maxHeadBytes` + one read of request bytes and, unsent, the write buffer's high watermark plus
/// one answer, however many requests a client pipelines without reading.
///
/// It answers 431 when a head grows past `maxHeadBytes` (a body is not a head: the request handler
/// refuses it with 413 before its bytes are looked at) and 408 when a head takes longer than the
/// head timeout to arrive. It closes a connection whose head the decoder did not turn into a
/// request: after an upgrade it was not told about, the decoder would keep every byte sent.
/// After a half-close it answers what is complete and closes.
final class RequestFramer: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = Reply
    typealias OutboundOut = Reply

    private enum Phase {
        /// Waiting for (or looking at) the next head.
        case reading
        /// One head passed on; its reply is not written yet.
        case answering
        /// The last reply is written or the connection is being closed: nothing more is read.
        case closing
    }

    private let maxHeadBytes: Int
    private let maxPendingBytes: Int
    private let headTimeout: TimeAmount
    private let slot: ConnectionTable.Slot?
    private let statistics: ServerStatistics?

    private var phase = Phase.reading
    /// Bytes received and not passed on; the current head starts at its reader index.
    private var pending: ByteBuffer?
    /// How much of the current head has been searched for its end, and how many bytes of
    /// "\r\n\r\n" the searched bytes end with.
    private var scanned = 0
    private var matched = 0
    private var headTimer: Scheduled<Void>?
    private var requestStarted = false
    /// A read() was held back; it is issued once reading is allowed again.
    private var readHeld = false
    private var inputClosed = false
    private var processing = false
    private var lastWrite: EventLoopFuture<Void>?
    /// A reply that closes the connection was written: nothing is written after it (e.g. the
    /// decoder's complaint, at close, about the body a 413 did not read).
    private var finalReplyWritten = false

    init(maxHeadBytes: Int, headTimeout: TimeAmount, readChunkBytes: Int,
         slot: ConnectionTable.Slot? = nil, statistics: ServerStatistics? = nil) {
        self.maxHeadBytes = maxHeadBytes
        self.maxPendingBytes = maxHeadBytes + readChunkBytes
        self.headTimeout = headTimeout
        self.slot = slot
        self.statistics = statistics
    }

    // MARK: Bytes in

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard phase != .closing else { return }
        var incoming = unwrapInboundIn(data)
        let room = maxPendingBytes - (pending?.readableBytes ?? 0)
        if incoming.readableBytes > room {
            // Reads are held while pending is not empty, so only NIO's read to EOF after a
            // half-close gets here: answer what fits, then close.
            incoming = incoming.getSlice(at: incoming.readerIndex, length: room) ?? ByteBuffer()
            inputClosed = true
        }
        if var buffer = pending {
            buffer.writeBuffer(&incoming)
            pending = buffer
        } else {
            pending = incoming
        }
        statistics?.notePending(pending?.readableBytes ?? 0)
        process(context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            process(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            process(context)
            resumeReading(context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closing
        pending = nil
        cancelHeadTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelHeadTimer()
    }

    /// Passes on complete heads while the previous one is answered and the socket takes more.
    private func process(_ context: ChannelHandlerContext) {
        guard !processing else { return } // a reply written while a head is passed on
        processing = true
        defer { processing = false }
        while phase == .reading, context.channel.isWritable, pending != nil {
            guard let length = headLength() else {
                if scanned > maxHeadBytes {
                    return reject(context, .requestHeaderFieldsTooLarge, "request head larger than \(maxHeadBytes) bytes")
                }
                if pending != nil && headTimer == nil { startHeadTimer(context) }
                break
            }
            cancelHeadTimer()
            guard length <= maxHeadBytes else {
                return reject(context, .requestHeaderFieldsTooLarge, "request head larger than \(maxHeadBytes) bytes")
            }
            var buffer = pending!
            let head = buffer.readSlice(length: length)!
            pending = buffer.readableBytes > 0 ? buffer : nil
            scanned = 0
            matched = 0
            phase = .answering
            requestStarted = false
            slot?.startAnswering()
            context.fireChannelRead(wrapInboundOut(head))
            if phase == .answering && !requestStarted {
                // No request and no error from these bytes: the decoder has stopped parsing.
                return closeWhenWritten(context)
            }
        }
        if inputClosed && phase == .reading && context.channel.isWritable {
            // Half-closed: every complete head is answered; nothing more will come.
            closeWhenWritten(context)
        }
    }

    /// The length of the complete head at the start of `pending`, or nil while it is incomplete.
    /// Empty lines before a head are dropped (RFC 9112 section 2.2).
    private func headLength() -> Int? {
        guard var buffer = pending else { return nil }
        if scanned == 0 {
            let blank = buffer.withUnsafeReadableBytes { $0.prefix(while: { $0 == 13 || $0 == 10 }).count }
            if blank > 0 {
                buffer.moveReaderIndex(forwardBy: blank)
                pending = buffer.readableBytes > 0 ? buffer : nil
                guard pending != nil else { return nil }
            }
        }
        // Searching further than one byte past the limit would not change the answer.
        let end = Swift.min(buffer.readableBytes, maxHeadBytes + 1)
        var i = scanned, m = matched
        let found: Bool = buffer.withUnsafeReadableBytes { bytes in
            while i < end {
                let b = bytes[i]
                i += 1
                if b == (m % 2 == 0 ? 13 : 10) { m += 1 } else { m = b == 13 ? 1 : 0 }
                if m == 4 { return true }
            }
            return false
        }
        if found { return i }
        scanned = i
        matched = m
        return nil
    }

    // MARK: Replies out

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !finalReplyWritten else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        if unwrapOutboundIn(data).close {
            finalReplyWritten = true
            enterClosing()
        } else if phase == .answering {
            phase = .reading
            slot?.finishAnswering()
        }
        let written = promise ?? context.eventLoop.makePromise()
        lastWrite = written.futureResult
        context.write(data, promise: written)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if let statistics, let unsent = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) {
            statistics.noteUnsent(unsent)
        }
        process(context)
        resumeReading(context)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if event is RequestStarted {
            requestStarted = true
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    // MARK: Reading

    func read(context: ChannelHandlerContext) {
        if mayRead(context) {
            context.read()
        } else {
            readHeld = true
        }
    }

    /// Read while nothing waits in `pending` (also while a reply is being built, so a client that
    /// closes is noticed), or to complete a head; never while unsent replies fill the buffer.
    private func mayRead(_ context: ChannelHandlerContext) -> Bool {
        guard phase != .closing, !inputClosed, context.channel.isWritable else { return false }
        return pending == nil || phase == .reading
    }

    private func resumeReading(_ context: ChannelHandlerContext) {
        if readHeld && mayRead(context) {
            readHeld = false
            context.read()
        }
    }

    // MARK: Ending

    private func reject(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        guard !finalReplyWritten else { return }
        finalReplyWritten = true
        enterClosing()
        context.writeAndFlush(wrapOutboundOut(.closing(status, message)), promise: nil)
    }

    private func enterClosing() {
        phase = .closing
        pending = nil
        cancelHeadTimer()
    }

    /// Closes once the last reply is on the socket (closing at once would drop its unsent bytes).
    private func closeWhenWritten(_ context: ChannelHandlerContext) {
        enterClosing()
        guard let lastWrite else { return context.close(promise: nil) }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        lastWrite.whenComplete { _ in loopBound.value.close(promise: nil) }
    }

    private func startHeadTimer(_ context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeout = DurationText.format(seconds: Double(headTimeout.nanoseconds) / 1e9)
        headTimer = context.eventLoop.scheduleTask(in: headTimeout) {
            let (framer, context) = loopBound.value
            framer.headTimer = nil
            // A head that is complete but waits for the socket to take the previous answer is
            // late through no fault of its sender's.
            guard framer.phase == .reading, framer.headLength() == nil else { return }
            framer.reject(context, .requestTimeout, "request head not complete within \(timeout) of its first byte")
        }
    }

    private func cancelHeadTimer() {
        headTimer?.cancel()
        headTimer = nil
    }
}
