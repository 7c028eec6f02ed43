import SampleModel
import Synchronization

/// /healthz is asked for far more often than it changes: everything in it but the newest sample's
/// age changes only with a tick, a new history state or a status change. The answer built for a
/// state is kept as the bytes before and after the age, and a request in between writes only the
/// age between them (issue 11 item 14: the health probe costs about what a constant answer does).
public final class HealthAnswer: Sendable {
    struct Key: Equatable {
        var ticks: UInt64
        var lateTicks: UInt64
        var missedTicks: UInt64
        var maxLatenessNanos: UInt64
        var history: UInt64
        var intervalNanos: UInt64
        var status: SampleFreshness.Status
    }

    private struct Kept {
        var key: Key
        var response: Response
        /// The body without the age: `head` ends with the age's key, `tail` starts after its value.
        var head: [UInt8]
        var tail: [UInt8]
    }

    static let ageKey = Array(#""last_sample_age_seconds":"#.utf8)

    private let kept = Mutex<Kept?>(nil)
    private let builtCount = Atomic<UInt64>(0)

    public init() {}

    /// Answers built in full so far (what the tests count).
    public var built: UInt64 { builtCount.load(ordering: .relaxed) }

    func answer(_ key: Key, ageNanos: UInt64, build: () -> Response) -> Response {
        if let hit = kept.withLock({ $0?.key == key ? $0 : nil }) {
            var w = JSONWriter(capacity: hit.head.count + hit.tail.count + 24)
            w.appendRaw(hit.head)
            w.value(seconds: ageNanos)
            w.appendRaw(hit.tail)
            var response = hit.response
            response.body = w.finish()
            return response
        }
        let response = build()
        builtCount.add(1, ordering: .relaxed)
        if let (head, tail) = Self.split(response.body) {
            kept.withLock { $0 = Kept(key: key, response: response, head: head, tail: tail) }
        }
        return response
    }

    /// The body around the age's value (a number: up to the next comma).
    static func split(_ body: [UInt8]) -> (head: [UInt8], tail: [UInt8])? {
        let n = ageKey.count
        guard body.count > n else { return nil }
        for i in 0...(body.count - n) where body[i] == ageKey[0] && Array(body[i..<(i + n)]) == ageKey {
            let valueStart = i + n
            guard let valueEnd = body[valueStart...].firstIndex(of: UInt8(ascii: ",")) else { return nil }
            return (Array(body[..<valueStart]), Array(body[valueEnd...]))
        }
        return nil
    }
}
