import Foundation
import Testing
@testable import History
import TestSupport
import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// The history file: each kind of file found at start has its documented outcome, and the
/// history keeps working whatever was found (issue 15 requirement 3).
@Suite struct HistoryFileTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    private func open(_ path: String, capacity: Int = 100, boot: BootID = Samples.boot, mono: UInt64 = 0, wall: Int64 = 0) -> (History, HistoryOpening) {
        History.open(capacity: capacity, intervalNanos: Samples.interval, eventCapacity: Samples.eventCapacity,
                     options: Samples.options(path, boot: boot, mono: mono, wall: wall))
    }

    /// After a clean stop the samples, their sequences and values, come back; the next sample
    /// follows them and the time between shows as a gap.
    @Test func aCleanStopIsAdopted() {
        defer { dir.remove() }
        let path = dir.file()
        Samples.file(path, capacity: 100, count: 60) { created in
            #expect(created.persistence == .file(path: path))
            #expect(created.adopted == nil)
        }
        let before = History(capacity: 100, intervalNanos: Samples.interval)
        for seq in 1...60 { before.append(Samples.make(seq), detail: Samples.detail) }

        let (history, opening) = open(path, mono: 61 * Samples.interval)
        #expect(opening.persistence == .file(path: path))
        #expect(opening.adopted == AdoptedHistory(count: 60, firstSequence: 1, lastSequence: 60, lastGeneration: 1,
                                                  lastWallNanos: Samples.make(60).wallNanos, migratedFrom: nil))
        #expect(history.samples(after: 0, limit: 100).samples == before.samples(after: 0, limit: 100).samples)
        #expect(history.window(.range(fromWallNanos: Samples.make(3).wallNanos, toWallNanos: Samples.make(40).wallNanos))
            == before.window(.range(fromWallNanos: Samples.make(3).wallNanos, toWallNanos: Samples.make(40).wallNanos)))
        // Ten seconds later (same boot: the timeline is CLOCK_MONOTONIC), sequence 61.
        var next = Samples.make(70)
        next.sequence = 61
        history.append(next, detail: Samples.detail)
        #expect(history.count == 61)
        let across = history.window(.range(fromWallNanos: Samples.make(50).wallNanos, toWallNanos: Samples.make(70).wallNanos))
        #expect(across.sampleCount == 11 && !across.covered, "the gap while the daemon was down is not covered")
        let within = history.window(.range(fromWallNanos: Samples.make(40).wallNanos, toWallNanos: Samples.make(59).wallNanos))
        #expect(within.covered)
        #expect(!history.window(.seconds(15)).covered)
        #expect(history.window(.samples(61)).covered)
    }

    /// A slot written half way (the daemon killed mid-append) is recognised and not adopted;
    /// the samples before it are.
    @Test func aTornSlotIsNotAdopted() throws {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 30)
        var bytes = Samples.bytes(path)
        let layout = SlotLayout(metricCount: Metric.count)
        // Sample 30 is in slot 29; its second half is overwritten with sample 31's.
        let torn = FileHeader.size + 29 * layout.size
        let half = layout.size / 2
        for k in half..<layout.size { bytes[torn + k] ^= 0x5A }
        Samples.write(bytes, to: path)

        let (history, opening) = open(path)
        #expect(opening.adopted?.count == 29)
        #expect(opening.adopted?.lastSequence == 29)
        #expect(opening.notes.contains { $0.level == .warning && $0.message.contains("1 slots were torn") }, "\(opening.notes)")
        #expect(history.samples(after: 28, limit: 5).samples.map(\.sequence) == [29])
    }

    /// A torn slot that had overwritten the oldest sample's predecessor (a full ring): the
    /// oldest can no longer be decoded and is dropped too; everything after it is kept.
    @Test func aTornSlotInAFullRing() throws {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 20, count: 50)
        var bytes = Samples.bytes(path)
        let layout = SlotLayout(metricCount: Metric.count)
        // 21 slots; sample 51 would go in slot 50 % 21 = 8, where sample 30 (the predecessor of
        // the oldest held, 31) is: tear it.
        let torn = FileHeader.size + 8 * layout.size
        for k in 40..<layout.size { bytes[torn + k] = 0xEE }
        Samples.write(bytes, to: path)
        let (history, opening) = open(path, capacity: 20)
        #expect(opening.adopted?.firstSequence == 32)
        #expect(opening.adopted?.lastSequence == 50)
        #expect(history.samples(after: 0, limit: 100).samples == (32...50).map { kept(Samples.make($0)) })
    }

    /// What the store keeps of a sample (fractions to 1e-9).
    private func kept(_ s: Sample) -> Sample {
        var k = s
        k.values = StoreModelTests.kept(s.values)
        return k
    }

    @Test func randomBytesAreRenamedAside() {
        defer { dir.remove() }
        let path = dir.file()
        var rng = SeededRandom(for: "HistoryFileTests/randomBytesAreRenamedAside")
        let garbage = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        Samples.write(garbage, to: path)
        let (history, opening) = open(path)
        #expect(opening.persistence == .file(path: path))
        #expect(opening.adopted == nil)
        #expect(opening.notes.contains { $0.level == .warning && $0.message.contains("renamed it to \(path).bad") && $0.message.contains("not a drum-monitor history file") },
                "\(opening.notes)")
        #expect(Samples.bytes(path + ".bad") == garbage, "the file is kept aside as it was")
        history.append(Samples.make(1), detail: Samples.detail)
        #expect(history.count == 1)
    }

    @Test func aTruncatedFileIsRenamedAside() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 10)
        let whole = Samples.bytes(path)
        Samples.write(Array(whole.prefix(whole.count - 1000)), to: path)
        let (_, opening) = open(path)
        #expect(opening.persistence == .file(path: path))
        #expect(opening.notes.contains { $0.message.contains("truncated or extended") && $0.message.contains(".bad") }, "\(opening.notes)")
        #expect(Samples.bytes(path).count == whole.count, "a new file of the full size")
    }

    /// A format this build does not know (a later one: a downgrade) is renamed aside.
    @Test func aHeaderOfAnotherVersionIsRenamedAside() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 10)
        var bytes = Samples.bytes(path)
        bytes[8] = 3
        Samples.write(bytes, to: path)
        let (_, opening) = open(path)
        #expect(opening.adopted == nil)
        #expect(opening.notes.contains { $0.message.contains("format 3") && $0.message.contains(".bad") }, "\(opening.notes)")
    }

    /// A retention change (another capacity): the newest samples that fit, in a file of the new size.
    @Test func anotherCapacityIsMigrated() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 80)
        let (smaller, opening) = open(path, capacity: 30)
        #expect(opening.persistence == .file(path: path))
        #expect(opening.adopted?.count == 30)
        #expect(opening.adopted?.lastSequence == 80)
        #expect(opening.adopted?.migratedFrom?.contains("100 samples") == true)
        #expect(smaller.samples(after: 0, limit: 100).samples == (51...80).map { kept(Samples.make($0)) })
        #expect(Samples.bytes(path).count == FileHeader(metrics: HistoryStorage.currentMetrics, capacity: 30, intervalNanos: 1, bootID: .unknown,
                                                        timelineOffset: 0, salt: 0, eventCapacity: Samples.eventCapacity).fileSize)
        #expect(!FileManager.default.fileExists(atPath: path + ".new"))
        // And back up: all 30 kept, room for more.
        smaller.append(Samples.make(81), detail: Samples.detail)
        withExtendedLifetime(smaller) {}
    }

    @Test func aGrowingCapacityKeepsEverything() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 30, count: 25)
        let (bigger, opening) = open(path, capacity: 5000)
        #expect(opening.adopted?.count == 25)
        #expect(bigger.samples(after: 0, limit: 100).samples == (1...25).map { kept(Samples.make($0)) })
        #expect(bigger.capacity == 5000)
    }

    /// A file written by a build with other metrics: the metrics both know are carried over by
    /// name; a metric it lacked is absent in its samples.
    @Test func anotherMetricListIsMigratedByName() throws {
        defer { dir.remove() }
        let path = dir.file()
        let kept: [Metric] = [.processCount, .memoryCurrent, .treeCPU]
        let metrics = kept.map { FileHeader.FileMetric(name: $0.name, scale: MetricCodec($0).scale) } + [FileHeader.FileMetric(name: "gone_metric", scale: 1)]
        try writeFile(path, metrics: metrics, capacity: 50, samples: (1...20).map { Samples.make($0) }) { sample, m in
            m < kept.count ? sample.values[kept[m]] : 42
        }
        let (history, opening) = open(path)
        #expect(opening.adopted?.count == 20)
        #expect(opening.adopted?.migratedFrom?.contains("4 metrics") == true, "\(opening.notes)")
        let samples = history.samples(after: 0, limit: 100).samples
        #expect(samples.count == 20)
        for (k, s) in samples.enumerated() {
            let original = Samples.make(k + 1)
            #expect(s.values[.processCount] == original.values[.processCount])
            #expect(s.values[.memoryCurrent] == original.values[.memoryCurrent])
            #expect(s.values[.treeCPU] == StoreModelTests.kept(original.values)[.treeCPU])
            #expect(s.values[.memoryLimit] == nil)
        }
    }

    /// A file written before `memory_interval_peak_exact` existed (every metric before it, in
    /// their order) is migrated by name: every value comes back, the new metric is absent in its
    /// samples (never 0), and samples appended after it have it.
    @Test func aFileWithoutTheIntervalPeakExactnessIsMigratedWithTheColumnAbsent() throws {
        defer { dir.remove() }
        let path = dir.file()
        let before = Metric.allCases.filter { $0 != .memoryIntervalPeakExact }
        #expect(before.map(\.rawValue) == Array(0..<(Metric.count - 1)), "the new metric is the last")
        let metrics = before.map { FileHeader.FileMetric(name: $0.name, scale: MetricCodec($0).scale) }
        try writeFile(path, metrics: metrics, capacity: 100, samples: (1...20).map { Samples.make($0) }) { sample, m in
            sample.values[before[m]]
        }
        migrateAndAppend(path, from: before.count)
        // The migrated file has this build's layout: opened again (the first daemon gone), it is
        // adopted in place.
        let again = open(path, mono: 30 * Samples.interval).1
        #expect(again.adopted?.count == 21 && again.adopted?.migratedFrom == nil, "\(again.notes)")
    }

    private func migrateAndAppend(_ path: String, from metricCount: Int) {
        let (history, opening) = open(path, mono: 21 * Samples.interval)
        #expect(opening.persistence == .file(path: path))
        #expect(opening.adopted?.count == 20 && opening.adopted?.lastSequence == 20)
        #expect(opening.adopted?.migratedFrom?.contains("\(metricCount) metrics") == true, "\(opening.notes)")
        let adopted = history.samples(after: 0, limit: 100).samples
        #expect(adopted.count == 20)
        for (k, s) in adopted.enumerated() {
            var expected = kept(Samples.make(k + 1))
            expected.values[.memoryIntervalPeakExact] = nil
            #expect(s == expected)
        }
        let range = { (a: Int, b: Int) in WindowSpec.range(fromWallNanos: Samples.make(a).wallNanos, toWallNanos: Samples.make(b).wallNanos) }
        #expect(history.window(range(1, 20))[.memoryIntervalPeakExact] == nil)
        #expect(history.window(range(1, 20))[.memoryCurrent] != nil)

        var next = Samples.make(21)
        next.values[.memoryIntervalPeakExact] = 1
        history.append(next, detail: Samples.detail)
        let stats = history.window(range(15, 21))[.memoryIntervalPeakExact]
        #expect(stats?.count == 1 && stats?.min == 1)
    }

    /// Writes a history file with the given metric list, through the store itself.
    private func writeFile(_ path: String, metrics: [FileHeader.FileMetric], capacity: Int, samples: [Sample],
                           value: (Sample, Int) -> Double?) throws {
        guard case .opened(let file, _) = HistoryFile.openLocked(path) else { throw POSIXError(.EIO) }
        let header = FileHeader(metrics: metrics, capacity: capacity, intervalNanos: Samples.interval, bootID: Samples.boot,
                                timelineOffset: 0, salt: 7, eventCapacity: 10)
        #expect(file.preallocate(header.fileSize) == nil)
        let mapping = try #require(file.map(header.fileSize, writable: true))
        let region = SlotRegion(file: file, mapping: mapping, length: header.fileSize, layout: header.layout,
                                slotCount: header.slotCount, salt: header.salt)
        header.write(to: region.headerBytes!)
        // A store whose stored metric m is this build's metric m (for `append`), values mapped in.
        let store = SampleStore(region: region, capacity: capacity, intervalNanos: Samples.interval,
                                codecs: metrics.map { MetricCodec(scale: $0.scale) }, metricIDs: metrics.indices.map { $0 })
        for sample in samples {
            var mapped = sample
            mapped.values = MetricValues()
            for m in metrics.indices { mapped.values.storage[m] = value(sample, m) ?? .nan }
            store.append(mapped)
        }
    }

    @Test func notARegularFileMeansMemoryOnly() throws {
        defer { dir.remove() }
        let directory = dir.file("a-directory")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let fifo = dir.file("a-fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        let link = dir.file("a-link")
        #expect(symlink(dir.file("target"), link) == 0)
        for (path, why) in [(directory, "cannot open"), (fifo, "not a regular file (a FIFO)"), (link, "symbolic link")] {
            let (history, opening) = open(path)
            guard case .memory(let reason?) = opening.persistence else {
                Issue.record("\(path): \(opening.persistence)")
                continue
            }
            #expect(reason.contains(why) && reason.contains("memory only"), "\(reason)")
            history.append(Samples.make(1), detail: Samples.detail)
            #expect(history.count == 1, "it keeps sampling")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("target")), "the symlink was not followed")
    }

    /// A file someone else owns or can write is not trusted: renamed aside.
    @Test func aFileOthersCanWriteIsRenamedAside() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 10)
        #expect(chmod(path, 0o666) == 0)
        let (_, opening) = open(path)
        #expect(opening.adopted == nil)
        #expect(opening.notes.contains { $0.message.contains("writable by group or others") }, "\(opening.notes)")
        #expect(FileManager.default.fileExists(atPath: path + ".bad"))
    }

    /// Two histories never share a file: the second runs in memory and says why.
    @Test func aLockedFileMeansMemoryOnly() {
        defer { dir.remove() }
        let path = dir.file()
        let (first, opened) = open(path)
        #expect(opened.persistence == .file(path: path))
        let (second, opening) = open(path)
        guard case .memory(let reason?) = opening.persistence else {
            Issue.record("\(opening.persistence)")
            return
        }
        #expect(reason.contains("locked by another process"))
        second.append(Samples.make(1), detail: Samples.detail)
        first.append(Samples.make(1), detail: Samples.detail)
        #expect(first.count == 1 && second.count == 1)
    }

    /// No write permission (a read-only file system here, so that root is refused too).
    @Test(.enabled(if: getuid() == 0, "needs root to mount a read-only tmpfs"))
    func noWritePermissionMeansMemoryOnly() {
        defer { dir.remove() }
        guard dir.mountTmpfs("ro,size=1m") else {
            print("SKIP noWritePermissionMeansMemoryOnly: cannot mount a tmpfs: \(String(cString: strerror(errno)))")
            return
        }
        let (history, opening) = open(dir.file())
        guard case .memory(let reason?) = opening.persistence else {
            Issue.record("\(opening.persistence)")
            return
        }
        #expect(reason.contains("Read-only file system") || reason.contains("read-only"), "\(reason)")
        history.append(Samples.make(1), detail: Samples.detail)
        #expect(history.count == 1)
    }

    /// No room to preallocate: memory only, the reason given, no sparse file left behind (on a
    /// full tmpfs a store into a sparse page is a SIGBUS).
    @Test(.enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func noRoomMeansMemoryOnly() {
        defer { dir.remove() }
        guard dir.mountTmpfs("size=1m") else {
            print("SKIP noRoomMeansMemoryOnly: cannot mount a tmpfs: \(String(cString: strerror(errno)))")
            return
        }
        let path = dir.file()
        let (history, opening) = open(path, capacity: 100_000)
        guard case .memory(let reason?) = opening.persistence else {
            Issue.record("\(opening.persistence)")
            return
        }
        #expect(reason.contains("no room") && reason.contains("No space left"), "\(reason)")
        #expect(!FileManager.default.fileExists(atPath: path))
        for seq in 1...10 { history.append(Samples.make(seq), detail: Samples.detail) }
        #expect(history.count == 10)
    }

    /// After a reboot (another boot id) the timeline resumes where it stopped plus the wall time
    /// that passed, whatever the new boot's CLOCK_MONOTONIC says.
    @Test func aRebootContinuesTheTimelineByTheWallClock() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 50)
        // The new boot is 5 s old; 100 s have passed on the wall clock since sample 50.
        let (history, opening) = open(path, boot: Samples.otherBoot, mono: 5 * Samples.interval,
                                      wall: Samples.make(150).wallNanos)
        #expect(opening.adopted?.count == 50)
        var next = Samples.make(1)
        next.sequence = 51
        next.wallNanos = Samples.make(150).wallNanos
        next.monoNanos = 5 * Samples.interval
        history.append(next, detail: Samples.detail)
        let newest = history.samples(after: 50, limit: 1).samples[0]
        #expect(newest.monoNanos == Samples.make(150).monoNanos, "timeline: sample 50's + 100 s")
        // The last 120 s on the timeline reach back to sample 31.
        #expect(history.window(.seconds(120)).fromSequence == 31)
        // And the file remembers the new boot's offset: adopting again in this boot keeps it.
        withExtendedLifetime(history) {}
    }

    /// The wall clock stepped back during the downtime: the timeline does not go back.
    @Test func aRebootWithTheWallClockBehind() {
        defer { dir.remove() }
        let path = dir.file()
        _ = Samples.file(path, capacity: 100, count: 50)
        let (history, _) = open(path, boot: Samples.otherBoot, mono: 5 * Samples.interval, wall: Samples.make(10).wallNanos)
        var next = Samples.make(10)
        next.sequence = 51
        next.monoNanos = 5 * Samples.interval
        history.append(next, detail: Samples.detail)
        let held = history.samples(after: 0, limit: 100).samples
        #expect(zip(held, held.dropFirst()).allSatisfy { $0.monoNanos <= $1.monoNanos })
        // Wall ranges see sample 51 among 1…50's times: ranges stay right in both runs.
        let w = history.window(.range(fromWallNanos: Samples.make(9).wallNanos, toWallNanos: Samples.make(10).wallNanos))
        #expect(w.sampleCount == 2 && w.fromSequence == 10 && w.toSequence == 51)
    }
}
