import Testing
import History
import SampleModel

/// The event ring against a naive model: every event ever appended, in a plain array.
@Suite struct EventRingTests {
    static func event(_ i: Int, _ kind: EventKind) -> EventRecord {
        var r = EventRecord(kind: kind, wallNanos: Int64(i) * 1_000_000_000, monoNanos: UInt64(i) * 1_000_000_000,
                            sampleSequence: UInt64(i * 3), generation: 1)
        r.count = UInt64(i)
        r.reason = "event \(i)"
        if i % 3 == 0 {
            r.setProcesses((0..<(i % 20)).map { EventProcess(pid: Int32($0 + 1), ppid: 1, role: .worker, rssBytes: 42, cmdline: "w \(i)") })
        }
        return r
    }

    struct Model {
        var held: [EventRecord] = []
        var capacity: Int

        mutating func append(_ e: EventRecord) {
            held.append(e)
            if held.count > capacity { held.removeFirst() }
        }

        mutating func resize(_ newCapacity: Int) {
            capacity = newCapacity
            held = Array(held.suffix(newCapacity))
        }

        func page(after since: UInt64, limit: Int, kinds: Set<EventKind>?) -> EventPage {
            guard let oldest = held.first?.sequence else { return EventPage(events: [], truncated: false, nextSince: since) }
            var page = EventPage(events: [], truncated: oldest > since + 1, nextSince: max(since, oldest - 1))
            for e in held where e.sequence > since {
                if page.events.count == limit { break }
                if kinds?.contains(e.kind) ?? true { page.events.append(e) }
                page.nextSince = e.sequence
            }
            return page
        }
    }

    @Test(arguments: [1, 2, 7, 16, 60])
    func randomAppendsQueriesAndResizesMatchTheModel(capacity: Int) {
        var rng = SystemRandomNumberGenerator()
        var ring = EventRing(capacity: capacity)
        var model = Model(capacity: capacity)
        for i in 1...(capacity * 3 + 5) {
            let kind = EventKind.allCases.randomElement(using: &rng)!
            let stored = ring.append(Self.event(i, kind))
            #expect(stored.sequence == UInt64(i))
            model.append(stored)
            let since = UInt64.random(in: 0...UInt64(i + 2), using: &rng)
            let limit = Int.random(in: 1...5, using: &rng)
            let kinds: Set<EventKind>? = Bool.random(using: &rng) ? nil
                : Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in EventKind.allCases.randomElement(using: &rng)! })
            let got = ring.events(after: since, limit: limit, kinds: kinds)
            let want = model.page(after: since, limit: limit, kinds: kinds)
            #expect(Self.summary(got) == Self.summary(want), "since \(since) limit \(limit) kinds \(kinds.map { $0.map(\.name) } ?? [])")
            #expect(Bool(got == want), "whole records")
            if i % 17 == 0 {
                let newCapacity = Int.random(in: 1...(capacity * 2), using: &rng)
                ring = ring.resized(to: newCapacity)
                model.resize(newCapacity)
                #expect(Self.summary(ring.events(after: 0, limit: .max)) == Self.summary(model.page(after: 0, limit: .max, kinds: nil)))
            }
        }
        #expect(Bool(ring.newest == model.held.last))
    }

    static func summary(_ p: EventPage) -> String { "\(p.events.map(\.sequence)) truncated \(p.truncated) next \(p.nextSince)" }

    /// Issue 14: a full ring drops the oldest and says so.
    @Test func aFullRingDropsTheOldestAndSaysSo() {
        var ring = EventRing(capacity: 3)
        for i in 1...5 { ring.append(Self.event(i, .processStart)) }
        let page = ring.events(after: 0, limit: 10)
        #expect(page.events.map(\.sequence) == [3, 4, 5])
        #expect(page.truncated)
        #expect(page.nextSince == 5)
        #expect(ring.dropped == 2)
        // A reader that had seen event 2 missed nothing; one that had seen 1 missed event 2.
        #expect(!ring.events(after: 2, limit: 10).truncated)
        #expect(ring.events(after: 1, limit: 10).truncated)
    }

    /// With a filter, next_since moves past the events it skipped, so a follower does not read
    /// them again, and stops at the last event returned when the limit cuts the page.
    @Test func nextSinceSkipsFilteredEventsAndStopsAtTheLimit() {
        var ring = EventRing(capacity: 10)
        for (i, kind) in [EventKind.processStart, .oomKill, .processStart, .oomKill, .processExit].enumerated() {
            ring.append(Self.event(i + 1, kind))
        }
        let ooms = ring.events(after: 0, limit: 10, kinds: [.oomKill])
        #expect(ooms.events.map(\.sequence) == [2, 4])
        #expect(ooms.nextSince == 5)
        #expect(ring.newest(of: .oomKill)?.sequence == 4)
        #expect(ring.newest(of: .processStart)?.sequence == 3)
        #expect(ring.newest(of: .memoryGrowth) == nil)
        let first = ring.events(after: 0, limit: 1, kinds: [.oomKill])
        #expect(first.events.map(\.sequence) == [2])
        #expect(first.nextSince == 2)
        #expect(ring.events(after: 5, limit: 10) == EventPage(events: [], truncated: false, nextSince: 5))
        // A since beyond everything (a client of an earlier run): nothing dropped after it.
        #expect(ring.events(after: .max, limit: 10) == EventPage(events: [], truncated: false, nextSince: .max))
    }

    @Test func anEmptyRingAndSequencesThatContinue() {
        let empty = EventRing(capacity: 4)
        #expect(empty.newest == nil && empty.oldestSequence == nil && empty.newestSequence == 0)
        #expect(empty.events(after: 7, limit: 3) == EventPage(events: [], truncated: false, nextSince: 7))
        var kept = EventRing(capacity: 4, firstSequence: 1001)
        #expect(kept.append(Self.event(1, .daemonRestarted)).sequence == 1001)
        #expect(kept.events(after: 1000, limit: 5).events.count == 1)
        #expect(!kept.events(after: 1000, limit: 5).truncated)
    }

    @Test func theLogCountsEveryKindEvenWhenTheRingDropsThem() {
        let log = EventLog(capacity: 2)
        for i in 1...5 { log.append(Self.event(i, i % 2 == 0 ? .oomKill : .processStart)) }
        #expect(log.count(of: .oomKill) == 2)
        #expect(log.count(of: .processStart) == 3)
        #expect(log.count(of: .memoryGrowth) == 0)
        #expect(log.newestSequence == 5)
        log.resize(to: 4)
        #expect(log.events(after: 0, limit: 10).events.map(\.sequence) == [4, 5])
        log.append(Self.event(6, .oomKill))
        #expect(log.events(after: 0, limit: 10).events.map(\.sequence) == [4, 5, 6])
    }
}
