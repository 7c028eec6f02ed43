import NIOCore
import NIOHTTP1

/// A response on its way to the socket, with what the request decided about it. `encode` is the
/// one place where HTTP response bytes are written: answers to requests, the refusals of the
/// framer (408, 431) and of a full server (503 busy), and 400 for bytes that are not HTTP.
struct Reply: Sendable {
    var response: Response
    /// The request's version (HTTP/1.1 when no request could be read).
    var version: HTTPVersion = .http1_1
    /// An answer to HEAD: the head GET gets, Content-Length included, without the body.
    var headOnly = false
    /// The connection is closed once this reply is written.
    var close: Bool

    /// A refusal that ends the connection: no request could be read, or none will be.
    static func closing(_ status: HTTPResponseStatus, _ message: String) -> Reply {
        Reply(response: .error(status, message), close: true)
    }

    func encode(into buffer: inout ByteBuffer) {
        let status = response.status
        // HTTP/1.0 clients get 1.0 answers; every other 1.x is answered as 1.1.
        buffer.writeString(version == .http1_0 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString("\(status.code) \(status.reasonPhrase)\r\n")
        buffer.writeString("content-type: \(response.contentType)\r\n")
        buffer.writeString("content-length: \(response.body.count)\r\n")
        buffer.writeString("cache-control: no-store\r\n")
        if close {
            buffer.writeString("connection: close\r\n")
        } else if version == .http1_0 {
            // HTTP/1.0 closes unless told otherwise; the request asked for keep-alive.
            buffer.writeString("connection: keep-alive\r\n")
        }
        buffer.writeString("\r\n")
        if !headOnly { buffer.writeBytes(response.body) }
    }

    var encodedSizeEstimate: Int { 160 + response.contentType.utf8.count + (headOnly ? 0 : response.body.count) }
}

/// Puts replies on the socket as bytes, then closes the connection after a reply that says so.
final class ReplyWriter: ChannelOutboundHandler {
    typealias OutboundIn = Reply
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let reply = unwrapOutboundIn(data)
        var buffer = context.channel.allocator.buffer(capacity: reply.encodedSizeEstimate)
        reply.encode(into: &buffer)
        guard reply.close else {
            context.write(wrapOutboundOut(buffer), promise: promise)
            return
        }
        let written = context.write(wrapOutboundOut(buffer))
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.whenComplete { _ in loopBound.value.close(promise: nil) }
        written.cascade(to: promise)
    }
}
