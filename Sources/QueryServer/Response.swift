import NIOHTTP1

/// What an endpoint answers: status, content type and body bytes.
public struct Response: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    static func json(_ status: HTTPResponseStatus = .ok, _ build: (inout JSONWriter) -> Void) -> Response {
        var w = JSONWriter()
        w.object(build)
        w.appendNewline()
        return Response(status: status, contentType: "application/json", body: w.finish())
    }

    /// Every error body is `{"error": "..."}`.
    public static func error(_ status: HTTPResponseStatus, _ message: String) -> Response {
        json(status) { $0.field("error", message) }
    }
}

extension JSONWriter {
    mutating func appendNewline() { appendRaw(0x0A) }
}
