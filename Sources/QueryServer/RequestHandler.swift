import NIOCore
import NIOHTTP1

/// Answers each request the decoder reads, from `Endpoints`: on the event loop, or on the query
/// worker for answers that cost more than a health check. A request with a body gets 413 before
/// the body's bytes are read. CONNECT gets 405 and a request with an `Upgrade` header its
/// ordinary answer (nothing is upgraded); both close the connection, since the decoder reads
/// nothing after them. Bytes that are not HTTP/1.x get 400.
final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = Reply

    private let queries: QueryContext
    private let worker: QueryWorker
    private let role: ServerRole
    private var head: HTTPRequestHead?
    /// What a reply holds until its answer replaces it (every route does): built once, not per request.
    private static let placeholder = Response.error(.internalServerError, "no answer")

    init(queries: QueryContext, worker: QueryWorker, role: ServerRole = .query) {
        self.queries = queries
        self.worker = worker
        self.role = role
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            context.triggerUserOutboundEvent(RequestStarted(), promise: nil)
            if head.headers.announcesBody {
                let refusal = Response.error(.payloadTooLarge, "requests must not have a body")
                context.writeAndFlush(wrapOutboundOut(Reply(response: refusal, version: head.version, close: true)), promise: nil)
            } else {
                self.head = head
            }
        case .body:
            break
        case .end:
            guard let head else { return } // refused above
            self.head = nil
            answer(context, head)
        }
    }

    private func answer(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let upgrade = head.method == .CONNECT || head.headers.contains(name: "upgrade")
        var reply = Reply(response: Self.placeholder, version: head.version,
                          headOnly: head.method == .HEAD, close: !head.isKeepAlive || upgrade)
        switch Endpoints.route(method: head.method, uri: head.uri, accept: head.headers["accept"].joined(separator: ","), role: role, context: queries) {
        case .ready(let response):
            reply.response = response
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        case .slow(let build):
            worker.answer(on: context.channel, reply, build)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError || error is ByteToMessageDecoderError {
            context.writeAndFlush(wrapOutboundOut(.closing(.badRequest, "malformed HTTP request: \(error)")), promise: nil)
        } else {
            context.close(promise: nil) // the socket failed
        }
    }
}

/// Answers the first request on a connection beyond a full table "busy" (503), then closes.
final class BusyAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = Reply

    static let messagePrefix = "busy"
    private let message: String

    init(limit: Int) {
        message = "\(Self.messagePrefix): all \(limit) query connections are answering requests; try again"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        context.triggerUserOutboundEvent(RequestStarted(), promise: nil)
        let busy = Response.error(.serviceUnavailable, message)
        context.writeAndFlush(wrapOutboundOut(Reply(response: busy, version: head.version, close: true)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.writeAndFlush(wrapOutboundOut(.closing(.serviceUnavailable, message)), promise: nil)
    }
}

extension HTTPHeaders {
    /// Content-Length other than 0, or any Transfer-Encoding: the request has a body.
    var announcesBody: Bool {
        contains(name: "transfer-encoding") || self["content-length"].contains { UInt64($0) != 0 }
    }
}
