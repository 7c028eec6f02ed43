import Foundation
import Testing
@testable import History
import TestSupport
import SampleModel

/// The history file is hostile input: whatever its bytes, opening it never traps, and what is
/// adopted is either exactly what was written or nothing (never a silently wrong history).
@Suite struct HistoryFileFuzzTests {
    /// Random damage to a valid file: bytes flipped in the header or the slots, the file cut or
    /// grown. Every adopted sample is the one written under its sequence.
    @Test func damagedFilesAdoptOnlyWhatWasWritten() throws {
        var rng = SeededRandom(for: "HistoryFileFuzzTests/damagedFilesAdoptOnlyWhatWasWritten")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file()
        let capacity = 300
        _ = Samples.file(path, capacity: capacity, count: 500)
        let pristine = Samples.bytes(path)
        let written = Dictionary(uniqueKeysWithValues: (201...500).map { (UInt64($0), Samples.make($0)) })
        for round in 0..<150 {
            var bytes = pristine
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: // the header
                for _ in 0..<Int.random(in: 1...4, using: &rng) { bytes[Int.random(in: 0..<FileHeader.size, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
            case 1: // cut
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            case 2: // grown
                bytes += (0..<Int.random(in: 1...5000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            default: // slots
                for _ in 0..<Int.random(in: 1...40, using: &rng) {
                    bytes[Int.random(in: FileHeader.size..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                }
            }
            Samples.write(bytes, to: path)
            let (history, opening) = History.open(capacity: capacity, intervalNanos: Samples.interval, eventCapacity: Samples.eventCapacity,
                                                  options: Samples.options(path))
            let adopted = history.samples(after: 0, limit: capacity).samples
            #expect(adopted.count == (opening.adopted?.count ?? 0), "round \(round)")
            for s in adopted {
                var expected = try #require(written[s.sequence], "round \(round): sequence \(s.sequence) was never written")
                expected.values = StoreModelTests.kept(expected.values)
                #expect(s == expected, "round \(round): sample \(s.sequence) differs from what was written")
            }
            #expect(zip(adopted, adopted.dropFirst()).allSatisfy { $0.sequence + 1 == $1.sequence }, "round \(round)")
            history.append(Samples.make(501), detail: Samples.detail)
            _ = history.window(.samples(capacity))
            try? FileManager.default.removeItem(atPath: path + ".bad")
        }
    }

    /// Random damage to the event region of a valid file (bytes flipped, records overwritten by
    /// noise or by other records): every adopted event is the one written under its sequence, the
    /// adopted ones are consecutive, and the next event follows the newest adopted.
    @Test func damagedEventRecordsAdoptOnlyWhatWasWritten() throws {
        var rng = SeededRandom(for: "HistoryFileFuzzTests/damagedEventRecordsAdoptOnlyWhatWasWritten")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 50, count: 60, events: 40)
        let pristine = Samples.bytes(path)
        let header = try pristine.withUnsafeBytes { try FileHeader.parse($0, fileSize: pristine.count) }
        let size = EventRecordLayout.size
        for round in 0..<100 {
            var bytes = pristine
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let record = header.eventsOffset + Int.random(in: 0..<header.eventCapacity, using: &rng) * size
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: // a few bytes
                    for _ in 0..<Int.random(in: 1...8, using: &rng) { bytes[record + Int.random(in: 0..<size, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
                case 1: // noise from some point on (a torn write)
                    for i in Int.random(in: 0..<size, using: &rng)..<size { bytes[record + i] = UInt8.random(in: 0...255, using: &rng) }
                default: // another record's bytes
                    let other = header.eventsOffset + Int.random(in: 0..<header.eventCapacity, using: &rng) * size
                    bytes.replaceSubrange(record..<(record + size), with: pristine[other..<(other + size)])
                }
            }
            Samples.write(bytes, to: path)
            let (history, opening) = History.open(capacity: 50, intervalNanos: Samples.interval, eventCapacity: Samples.eventCapacity,
                                                  options: Samples.options(path))
            let adopted = history.events.events(after: 0, limit: .max).events
            #expect(adopted.count == (opening.adoptedEvents?.count ?? 0) && adopted.count <= Samples.eventCapacity, "round \(round)")
            for e in adopted { #expect(e == written[Int(e.sequence) - 1], "round \(round): event \(e.sequence) differs from what was written") }
            #expect(zip(adopted, adopted.dropFirst()).allSatisfy { $0.sequence + 1 == $1.sequence }, "round \(round)")
            #expect(opening.adopted?.count == 50, "round \(round): the samples are untouched")
            let next = history.events.append(Events.make(41))
            #expect(next.sequence == (adopted.last?.sequence ?? 0) + 1, "round \(round)")
        }
    }

    /// Slots forged with valid checksums but arbitrary contents (someone who knows the format):
    /// adoption takes whatever run of them is consistent, and every window over it agrees with a
    /// naive model built from the adopted samples.
    @Test(arguments: [1, 17, 300, 2500])
    func forgedSlotsGiveAConsistentHistory(capacity: Int) throws {
        var rng = SeededRandom(for: "HistoryFileFuzzTests/forgedSlotsGiveAConsistentHistory", instance: "capacity \(capacity)")
        for round in 0..<6 {
            let region = try SlotRegion(layout: SlotLayout(metricCount: Metric.count), slotCount: capacity + 1)
            let layout = region.layout
            // A plausible run (consecutive sequences, increasing time) with arbitrary values and
            // flags, and here and there a slot of pure noise.
            var sequence = UInt64.random(in: 1...1_000_000, using: &rng)
            var timeline = UInt64.random(in: 0...(1 << 40), using: &rng)
            let start = Int.random(in: 0...capacity, using: &rng)
            for k in 0...capacity {
                let s = region.slot((start + k) % region.slotCount)
                for b in 0..<layout.size { s.raw.storeBytes(of: UInt8.random(in: 0...255, using: &rng), toByteOffset: b, as: UInt8.self) }
                // About one slot of noise per ring: a torn run somewhere, or none.
                if Int.random(in: 0...capacity, using: &rng) != 0 {
                    s.store(sequence, SlotLayout.sequenceOffset)
                    s.store(timeline, SlotLayout.timelineOffset)
                    let flags: SlotFlags = [Bool.random(using: &rng) ? .restart : [], Int.random(in: 0...(2 * capacity), using: &rng) == 0 ? .origin : []]
                    s.store(flags.rawValue, SlotLayout.flagsOffset)
                    if flags.contains(.origin) {
                        for m in 0..<Metric.count where !s.isPresent(m, layout) { s.setRunningSum(0, m, layout) }
                    }
                    // Absent metrics keep their sums (else adoption rightly stops there).
                    let before = region.slot((start + k + region.slotCount - 1) % region.slotCount)
                    for m in 0..<Metric.count where !s.isPresent(m, layout) && !flags.contains(.origin) {
                        s.setRunningSum(before.runningSum(m, layout), m, layout)
                    }
                }
                s.seal(layout, index: (start + k) % region.slotCount, salt: region.salt)
                sequence += 1
                timeline += UInt64.random(in: 0...3_000_000_000, using: &rng)
            }
            let store = SampleStore(region: region, capacity: capacity, intervalNanos: Samples.interval)
            let report = store.adopt()
            #expect(report.count == store.count && store.count <= capacity)
            guard !store.isEmpty else { continue }
            var model = StoreModelTests.Model(capacity: capacity, interval: Samples.interval)
            for i in store.oldest...store.newest {
                let s = store.slot(i)
                let gap = i > store.oldest && s.flags.contains(.restart) && s.timeline - store.slot(i - 1).timeline > Samples.interval
                model.all.append(StoreModelTests.Held(sample: store.sample(at: i), gap: gap))
            }
            for _ in 0..<40 {
                StoreModelTests().check(store, model, StoreModelTests.randomSpec(model, &rng), "forged round \(round)")
            }
            // And it keeps going.
            var next = Samples.make(1)
            next.sequence = store.slot(store.newest).sequence + 1
            next.monoNanos = store.slot(store.newest).timeline
            #expect(store.append(next))
        }
    }
}
