import NIOCore
import NIOHTTP1

/// Answers every request with what `respond` gives for its target, the way `RequestHandler`
/// answers (the request starts at its head, the reply goes at its end, through the same framer
/// and writer) but without routing, parameters or building a body: what the connection pipeline
/// costs alone. The last answer is kept, so a client repeating one request gets it without
/// `respond` being asked again (a constant body costs a compare, like a cached file would).
final class ConstantAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = Reply

    private let respond: @Sendable (String) -> Response
    private var head: HTTPRequestHead?
    private var last: (uri: String, response: Response)?

    init(respond: @escaping @Sendable (String) -> Response) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            context.triggerUserOutboundEvent(RequestStarted(), promise: nil)
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let response: Response
            if let last, last.uri == head.uri {
                response = last.response
            } else {
                response = respond(head.uri)
                last = (head.uri, response)
            }
            let reply = Reply(response: response, version: head.version, headOnly: head.method == .HEAD, close: !head.isKeepAlive)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
