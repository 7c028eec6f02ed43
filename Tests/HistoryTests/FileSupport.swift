import Foundation
@testable import History
import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed (with anything mounted on it unmounted) by `remove()`.
final class TemporaryDirectory {
    let path: String
    private var mounted = false

    init() throws {
        var template = Array("/tmp/drum-monitor-history-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    /// Mounts a tmpfs of `options` (e.g. "size=1m", "ro") on the directory; root only.
    func mountTmpfs(_ options: String) -> Bool {
        mounted = mount("tmpfs", path, "tmpfs", 0, options) == 0
        return mounted
    }

    func remove() {
        if mounted { umount2(path, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String = "test.history") -> String { path + "/" + name }
}

/// A clock set by the test.
struct FixedClock: HistoryClock {
    var mono: UInt64
    var wall: Int64
    func monotonicNanos() -> UInt64 { mono }
    func wallNanos() -> Int64 { wall }
}

enum Samples {
    static let interval: UInt64 = 1_000_000_000
    static let wallBase: Int64 = 1_750_000_000_000_000_000
    static let boot = BootID(text: "11111111-2222-3333-4444-555555555555")!
    static let otherBoot = BootID(text: "99999999-2222-3333-4444-555555555555")!

    /// Sample `seq`: taken at `seq` seconds (timeline and wall), with values derived from it.
    static func make(_ seq: Int, generation: UInt32 = 1) -> Sample {
        var v = MetricValues()
        for m in Metric.allCases where (seq + m.rawValue) % 7 != 0 {
            v[m] = m.isInteger ? Double((seq * 4096 + m.rawValue) % 1_000_003) : Double((seq * 37 + m.rawValue) % 1000) / 1000
        }
        return Sample(sequence: UInt64(seq), wallNanos: wallBase + Int64(seq) * Int64(interval), monoNanos: UInt64(seq) * interval,
                      generation: generation, values: v)
    }

    static let detail = SampleDetail(target: .init(found: true, rootPid: 1, mode: nil, generation: 1, processCount: 1))

    static func options(_ path: String, boot: BootID = Samples.boot, mono: UInt64 = 0, wall: Int64 = 0) -> HistoryFileOptions {
        HistoryFileOptions(path: path, bootID: boot, clock: FixedClock(mono: mono, wall: wall))
    }

    /// Events the test histories hold (small: the files stay small).
    static let eventCapacity = 16

    /// A history file at `path` holding samples 1…`count` (of `capacity`) and events
    /// 1…`events` (of `eventCapacity`), closed again; returns the events as stored.
    @discardableResult
    static func file(_ path: String, capacity: Int, count: Int, events: Int = 0, eventCapacity: Int = Samples.eventCapacity,
                     opening: ((HistoryOpening) -> Void)? = nil) -> [EventRecord] {
        let (history, opened) = History.open(capacity: capacity, intervalNanos: interval, eventCapacity: eventCapacity, options: options(path))
        opening?(opened)
        for seq in 1...max(1, count) where count > 0 { history.append(make(seq), detail: detail) }
        return (0..<events).map { history.events.append(Events.make(Int($0) + 1)) }
    }

    static func bytes(_ path: String) -> [UInt8] { FileManager.default.contents(atPath: path).map(Array.init) ?? [] }

    static func write(_ bytes: [UInt8], to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
    }
}

enum Events {
    static let kinds: [EventKind] = [.processStart, .oomKill, .workerReplaced, .limitChanged, .targetLost, .memoryGrowth]

    /// Event `i`, of a kind and with fields derived from it (some with processes and texts).
    static func make(_ i: Int) -> EventRecord {
        var r = EventRecord(kind: kinds[i % kinds.count], wallNanos: Samples.wallBase + Int64(i) * 1_000_000_000,
                            monoNanos: UInt64(i) * 1_000_000_000, sampleSequence: UInt64(i * 3), generation: 1)
        r.count = UInt64(i)
        r.memoryCurrentBytes = UInt64(i) << 20
        r.reason = "event \(i)"
        if i % 2 == 0 { r.limitSource = "/kubepods/burstable/pod\(i)" }
        r.setProcesses((0..<(i % 5)).map {
            EventProcess(pid: Int32(1000 + $0), ppid: 1, role: .worker, rssBytes: UInt64($0) << 20,
                         cmdline: "python -m gunicorn -c /opt/venv/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py app:app")
        })
        return r
    }
}
