import History
import Synchronization

/// The last few /v1/snapshot and /v1/window answers, each with the state it was built from (the
/// history's version and the newest event's sequence). These answers change only when a sample
/// or an event arrives, so an identical request in between gets the bytes already built: many
/// pollers of one daemon (DRUM's workers, Prometheus, `top`) cost about what a constant answer
/// costs, and a window or snapshot is built at most once per sample per distinct request
/// (issue 11 item 14). Answers that depend on the time of the request (/healthz) are not kept.
/// Bounded: `capacity` entries of at most `maxBodyBytes` each.
public final class AnswerCache: Sendable {
    struct State: Equatable {
        var history: UInt64
        var events: UInt64
    }

    private struct Entry {
        var uri: String
        var state: State
        var response: Response
    }

    static let capacity = 8
    static let maxBodyBytes = 64 * 1024

    private let entries = Mutex<(list: [Entry], next: Int)>(([], 0))
    private let builtCount = Atomic<UInt64>(0)

    public init() {}

    /// Answers built (not found here) so far: what the tests count.
    public var built: UInt64 { builtCount.load(ordering: .relaxed) }

    /// The answer kept for `uri` if nothing has changed since it was built (a kept request
    /// target was valid: the router looks here before parsing its parameters).
    func kept(_ uri: String, _ context: QueryContext) -> Response? {
        kept(uri, State(history: context.history.version, events: context.events.newestSequence))
    }

    private func kept(_ uri: String, _ state: State) -> Response? {
        entries.withLock { e in e.list.first { $0.uri == uri && $0.state == state }?.response }
    }

    /// The answer to `uri` for the state read now: kept, or built by `build` (and kept if it is OK).
    func answer<E: Error>(_ uri: String, _ context: QueryContext, build: () throws(E) -> Response) throws(E) -> Response {
        // Read before building: an answer is never kept under a state older than it saw.
        let state = State(history: context.history.version, events: context.events.newestSequence)
        if let kept = kept(uri, state) { return kept }
        let response = try build()
        builtCount.add(1, ordering: .relaxed)
        guard response.status == .ok, response.body.count <= Self.maxBodyBytes else { return response }
        let entry = Entry(uri: uri, state: state, response: response)
        entries.withLock { e in
            if let i = e.list.firstIndex(where: { $0.uri == uri }) {
                e.list[i] = entry
            } else if e.list.count < Self.capacity {
                e.list.append(entry)
            } else {
                e.list[e.next] = entry
                e.next = (e.next + 1) % Self.capacity
            }
        }
        return response
    }
}
