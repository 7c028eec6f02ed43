import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// `/v1/events` as the query client (and `top`'s events panel) reads it.
struct EventsDocument: Decodable {
    struct Event: Decodable, Equatable {
        var sequence: Int
        var kind: String
        var time: String
        var time_unix_ns: Int64?
        var message: String
    }
    var truncated: Bool
    var next_since: UInt64
    var newest_sequence: Int?
    var events: [Event]
}

/// `drum-monitor query events [--since N] [--kind K] [--follow]`: the request, the text for
/// people, and following (ask again every interval with the last `next_since`).
public struct EventsQuery: Sendable {
    public var since: UInt64?
    public var limit: Int?
    public var kinds: String?

    public init(since: UInt64?, limit: Int?, kinds: String?) {
        self.since = since
        self.limit = limit
        self.kinds = kinds
    }

    public func target(since: UInt64? = nil) -> String {
        var query: [String] = []
        if let s = since ?? self.since { query.append("since=\(s)") }
        if let limit { query.append("limit=\(limit)") }
        if let kinds { query.append("kind=\(kinds)") }
        return "/v1/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// One line per event: time, sequence, kind, message.
    static func text(_ d: EventsDocument) -> String {
        var out: [String] = []
        if d.truncated { out.append("(older events after the requested sequence were already dropped: the event ring is full)") }
        for e in d.events {
            out.append(HumanFormat.pad(e.time, 25) + HumanFormat.pad("#\(e.sequence)", 7) + HumanFormat.pad(e.kind, 20) + e.message)
        }
        return out.joined(separator: "\n")
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
        public let status: ExitStatus
    }

    /// Asks, prints, then (with `follow`) asks again for what came after, every `everySeconds`,
    /// until `get` fails (the daemon stopped: the same statuses as any query). `json`: the
    /// daemon's answers as they are, one per line.
    public func run(follow: Bool, json: Bool, everySeconds: Double,
                    get: (String) throws(UnixHTTPClient.Failure) -> (status: Int, body: [UInt8]), output: (String) -> Void,
                    sleep: (Double) -> Void = { s in usleep(UInt32(min(s, 60) * 1_000_000)) }) throws(Failure) {
        var since = self.since
        while true {
            let answer: (status: Int, body: [UInt8])
            do { answer = try get(target(since: since)) } catch {
                throw Failure(description: error.description, status: error.status)
            }
            if case .fail(let status, let message) = QueryOutcome.of(.events, status: answer.status, body: answer.body) {
                throw Failure(description: message, status: status)
            }
            let document: EventsDocument
            do { document = try Documents.decode(EventsDocument.self, answer.body) } catch {
                throw Failure(description: "drum-monitor: cannot read the daemon's answer: \(error)", status: .failure)
            }
            if json {
                var text = String(decoding: answer.body, as: UTF8.self)
                while text.hasSuffix("\n") { text.removeLast() }
                output(text)
            } else if !document.events.isEmpty || document.truncated || !follow {
                output(document.events.isEmpty && !document.truncated ? "no events" : Self.text(document))
            }
            guard follow else { return }
            // A full page: more may be waiting, ask again at once.
            if document.events.count < (limit ?? 100) { sleep(everySeconds) }
            since = document.next_since
        }
    }
}
