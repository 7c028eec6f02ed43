import NIOCore
import Synchronization

/// The open query connections, at most `limit`. When the table is full, a new connection takes
/// the place of the one that has gone longest without a request being answered (an idle
/// keep-alive connection: HTTP clients expect those to be closed and reconnect), so clients that
/// merely hold connections cannot lock others out (issue 11 item 8). When every connection is
/// being answered, the new one is told "busy" (up to `busyLimit` at a time; beyond that it is
/// closed at once).
final class ConnectionTable: Sendable {
    final class Slot: Sendable {
        let channel: any Channel
        private let answering = Atomic<Bool>(false)
        private let idleSince: Atomic<UInt64>

        init(channel: any Channel) {
            self.channel = channel
            idleSince = Atomic(NIODeadline.now().uptimeNanoseconds)
        }

        var isAnswering: Bool { answering.load(ordering: .relaxed) }
        var idleSinceNanos: UInt64 { idleSince.load(ordering: .relaxed) }

        func startAnswering() { answering.store(true, ordering: .relaxed) }

        func finishAnswering() {
            idleSince.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed)
            answering.store(false, ordering: .relaxed)
        }
    }

    enum Admission {
        case admitted(Slot)
        case busy
        case refused
    }

    let limit: Int
    let busyLimit: Int
    private let statistics: ServerStatistics

    private struct State {
        var slots: [ObjectIdentifier: Slot] = [:]
        var busy = 0
    }
    private let state = Mutex(State())

    init(limit: Int, busyLimit: Int = 16, statistics: ServerStatistics) {
        self.limit = limit
        self.busyLimit = busyLimit
        self.statistics = statistics
    }

    var count: Int { state.withLock { $0.slots.count } }
    var answering: Int { state.withLock { $0.slots.values.filter(\.isAnswering).count } }

    func admit(_ channel: any Channel) -> Admission {
        let slot = Slot(channel: channel)
        let (admission, evicted): (Admission, Slot?) = state.withLock { s in
            if s.slots.count < limit {
                s.slots[ObjectIdentifier(channel)] = slot
                return (.admitted(slot), nil)
            }
            let idle = s.slots.values.filter { !$0.isAnswering }
            if let oldest = idle.min(by: { $0.idleSinceNanos < $1.idleSinceNanos }) {
                s.slots[ObjectIdentifier(oldest.channel)] = nil
                s.slots[ObjectIdentifier(channel)] = slot
                return (.admitted(slot), oldest)
            }
            if s.busy < busyLimit {
                s.busy += 1
                return (.busy, nil)
            }
            return (.refused, nil)
        }
        if let evicted {
            statistics.noteEvicted()
            evicted.channel.close(promise: nil)
        }
        return admission
    }

    func release(_ slot: Slot) {
        state.withLock { s in
            let key = ObjectIdentifier(slot.channel)
            if s.slots[key] === slot { s.slots[key] = nil }
        }
    }

    func releaseBusy() { state.withLock { $0.busy -= 1 } }
}
