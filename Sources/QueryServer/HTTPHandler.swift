import NIOCore
import NIOHTTP1

/// Answers one request at a time (NIO's pipelining handler orders them) from `Endpoints`.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let context: QueryContext
    private var head: HTTPRequestHead?
    private var rejectBody = false

    init(context: QueryContext) { self.context = context }

    func channelRead(context ctx: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            let length = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
            rejectBody = length > 0 || head.headers.contains(name: "transfer-encoding")
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            if rejectBody {
                write(ctx, head: head, .error(.payloadTooLarge, "requests must not have a body"), close: true)
                return
            }
            let response = Endpoints.respond(method: head.method, uri: head.uri, context: context)
            write(ctx, head: head, response, close: !head.isKeepAlive)
        }
    }

    private func write(_ ctx: ChannelHandlerContext, head request: HTTPRequestHead, _ response: Response, close: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "cache-control", value: "no-store")
        if close { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        ctx.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            var buffer = ctx.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            ctx.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = ctx.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { let channel = ctx.channel; done.whenComplete { _ in channel.close(promise: nil) } }
    }

    func errorCaught(context ctx: ChannelHandlerContext, error: Error) {
        // Malformed requests (binary garbage, bad request lines): answer 400 in JSON and close.
        if error is HTTPParserError {
            let response = Response.error(.badRequest, "malformed HTTP request: \(error)")
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: response.contentType)
            headers.add(name: "content-length", value: String(response.body.count))
            headers.add(name: "connection", value: "close")
            ctx.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
            var buffer = ctx.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            ctx.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let channel = ctx.channel
            ctx.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            ctx.close(promise: nil)
        }
    }
}
