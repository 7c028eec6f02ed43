import Foundation
import Testing
@testable import History
import TestSupport
import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// The event ring in the history file (issues 14 and 15): adopted with the samples, sequences
/// continuing; torn, misplaced and random records recognised; older formats, other capacities
/// and other record layouts migrated — never a trap, never a silently wrong event.
@Suite struct EventStoreTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    private func open(_ path: String, capacity: Int = 100, eventCapacity: Int = Samples.eventCapacity,
                      boot: BootID = Samples.boot) -> (History, HistoryOpening) {
        History.open(capacity: capacity, intervalNanos: Samples.interval, eventCapacity: eventCapacity, options: Samples.options(path, boot: boot))
    }

    private func held(_ h: History) -> [EventRecord] { h.events.events(after: 0, limit: .max).events }

    /// Where event `sequence`'s record is in a file of `capacity` samples and `eventCapacity` events.
    private func recordOffset(_ sequence: Int, capacity: Int = 100, eventCapacity: Int = Samples.eventCapacity) -> Int {
        header(capacity: capacity, eventCapacity: eventCapacity).eventsOffset + sequence % eventCapacity * EventRecordLayout.size
    }

    private func header(capacity: Int, eventCapacity: Int) -> FileHeader {
        FileHeader(metrics: HistoryStorage.currentMetrics, capacity: capacity, intervalNanos: 1, bootID: .unknown, timelineOffset: 0,
                   salt: 0, eventCapacity: eventCapacity)
    }

    /// After a clean stop the events come back as they were, in the file; the next one follows
    /// the newest, and is in the file too.
    @Test func eventsSurviveARestart() {
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 100, count: 30, events: 12)
        #expect(written.map(\.sequence) == Array(1...12))
        let next: EventRecord
        do {
            let (history, opening) = open(path)
            #expect(opening.adoptedEvents == AdoptedEvents(count: 12, firstSequence: 1, lastSequence: 12, fromEarlierBoot: false))
            #expect(opening.notes.contains { $0.message.contains("adopted 12 events (sequences 1…12)") }, "\(opening.notes)")
            #expect(history.events.isInFile)
            #expect(held(history) == written)
            #expect(history.events.newestSequence == 12)
            next = history.events.append(Events.make(13))
            #expect(next.sequence == 13)
            #expect(!history.events.events(after: 12, limit: 10).truncated)
        }
        // And the next start finds it there.
        let (again, reopened) = open(path)
        #expect(reopened.adoptedEvents?.lastSequence == 13)
        #expect(held(again) == written + [next])
    }

    /// A full ring: the newest `eventCapacity` events, and a reader from before them is told.
    @Test func aWrappedRingIsAdopted() {
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 100, count: 5, events: 40)
        let (history, opening) = open(path)
        #expect(opening.adoptedEvents?.firstSequence == 25 && opening.adoptedEvents?.lastSequence == 40)
        #expect(held(history) == Array(written.suffix(16)))
        #expect(history.events.events(after: 10, limit: 5).truncated)
        #expect(!history.events.events(after: 24, limit: 5).truncated)
        #expect(history.events.append(Events.make(41)).sequence == 41)
    }

    /// Events were found at start on a file written in another boot: they say so (their
    /// monotonic times are that boot's).
    @Test func eventsOfAnEarlierBootAreMarked() {
        defer { dir.remove() }
        let path = dir.file()
        Samples.file(path, capacity: 100, count: 5, events: 3)
        let (_, opening) = open(path, boot: Samples.otherBoot)
        #expect(opening.adoptedEvents?.fromEarlierBoot == true)
    }

    /// The newest record written half way (the daemon killed while writing it): not adopted, the
    /// ones before it are, and its sequence is given again. A torn record in the middle ends the
    /// run there: the events after it are kept.
    @Test(arguments: [12, 5])
    func aTornRecordIsNotAdopted(_ torn: Int) {
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 100, count: 20, events: 12)
        var bytes = Samples.bytes(path)
        let at = recordOffset(torn)
        for k in (EventRecordLayout.size / 2)..<EventRecordLayout.size { bytes[at + k] ^= 0x5A }
        Samples.write(bytes, to: path)
        let (history, opening) = open(path)
        let kept = torn == 12 ? Array(written.prefix(11)) : Array(written.suffix(from: torn))
        #expect(held(history) == kept)
        #expect(opening.adopted?.count == 20, "the samples are all kept")
        let rejected = 12 - kept.count
        #expect(opening.notes.contains { $0.level == .warning && $0.message.contains("\(rejected) event records were torn") }, "\(opening.notes)")
        #expect(history.events.append(Events.make(99)).sequence == UInt64(kept.last!.sequence + 1))
    }

    /// Records that are whole but not where their sequence puts them (copied, or the ring
    /// rewritten by someone else) are not adopted, nor are sequences that would run out.
    @Test func misplacedAndImpossibleRecordsAreNotAdopted() throws {
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 100, count: 5, events: 6)
        var bytes = Samples.bytes(path)
        // Event 6's record copied into slot 9 (where event 9 would be), and event 3 given a
        // sequence near 2^64 in its own slot, checksummed: a forger's records.
        let six = Array(bytes[recordOffset(6)..<(recordOffset(6) + EventRecordLayout.size)])
        bytes.replaceSubrange(recordOffset(9)..<(recordOffset(9) + EventRecordLayout.size), with: six)
        var huge = written[2]
        huge.sequence = UInt64.max - 12   // ≡ 3 mod 16
        var record = [UInt8](repeating: 0, count: EventRecordLayout.size)
        record.withUnsafeMutableBytes { EventRecordLayout.encode(huge, into: $0) }
        bytes.replaceSubrange(recordOffset(3)..<(recordOffset(3) + EventRecordLayout.size), with: record)
        Samples.write(bytes, to: path)
        let (history, opening) = open(path)
        #expect(held(history) == Array(written.suffix(3)), "the run after the forged record")
        #expect(opening.adoptedEvents?.lastSequence == 6)
        #expect(history.events.append(Events.make(7)).sequence == 7)
    }

    /// Random bytes over the whole event region: no event adopted, the samples all kept, and
    /// new events are stored from 1 again.
    @Test func randomBytesInTheEventRegion() {
        defer { dir.remove() }
        let path = dir.file()
        Samples.file(path, capacity: 100, count: 20, events: 10)
        var bytes = Samples.bytes(path)
        var rng = SeededRandom(for: "EventStoreTests/randomBytesInTheEventRegion")
        let start = recordOffset(0)
        for i in start..<bytes.count { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        Samples.write(bytes, to: path)
        let (history, opening) = open(path)
        #expect(opening.adopted?.count == 20)
        #expect(opening.adoptedEvents == nil)
        #expect(held(history).isEmpty)
        #expect(opening.notes.contains { $0.message.contains("16 event records were torn") }, "\(opening.notes)")
        #expect(history.events.append(Events.make(1)).sequence == 1)
    }

    /// A file of format 1 (samples only, written before events were kept): its samples are
    /// migrated into a file of this format, which then keeps events across restarts.
    @Test func aFileOfFormat1IsMigrated() throws {
        defer { dir.remove() }
        let path = dir.file()
        Samples.file(path, capacity: 100, count: 40)
        Samples.write(try formatOne(Samples.bytes(path)), to: path)
        let first: EventRecord
        do {
            let (history, opening) = open(path)
            #expect(opening.persistence == .file(path: path))
            #expect(opening.adopted?.count == 40)
            #expect(opening.adopted?.migratedFrom?.hasPrefix("format 1, 100 samples") == true, "\(String(describing: opening.adopted))")
            #expect(opening.adoptedEvents == nil)
            #expect(history.samples(after: 0, limit: 100).samples.count == 40)
            first = history.events.append(Events.make(1))
        }
        let (again, reopened) = open(path)
        #expect(reopened.adopted?.count == 40 && reopened.adopted?.migratedFrom == nil)
        #expect(held(again) == [first])
    }

    /// The bytes of a format-1 file holding the samples of the format-2 file `bytes`: the
    /// header of format 1 (no event fields, the layout text at 84), no event region.
    private func formatOne(_ bytes: [UInt8]) throws -> [UInt8] {
        let parsed = try bytes.withUnsafeBytes { b in try FileHeader.parse(b, fileSize: bytes.count) }
        var page = [UInt8](repeating: 0, count: FileHeader.size)
        page.replaceSubrange(0..<80, with: bytes[0..<80])
        page[8] = 1
        let title = "drum-monitor history, format 1: sequence, wall ns, timeline ns, generation, flags, presence bits, running sums mod 2^48 per metric, checksum"
        let text = Array(([title] + parsed.metrics.map { "metric \($0.name) \($0.scale)" }).joined(separator: "\n").utf8) + [0x0A]
        withUnsafeBytes(of: UInt32(text.count).littleEndian) { page.replaceSubrange(80..<84, with: $0) }
        page.replaceSubrange(84..<(84 + text.count), with: text)
        let sum = page.withUnsafeBytes { FileHeader.checksum($0) }
        withUnsafeBytes(of: sum.littleEndian) { page.replaceSubrange((FileHeader.size - 4)..<FileHeader.size, with: $0) }
        return page + bytes[FileHeader.size..<parsed.slotsEnd]
    }

    /// Another event capacity (`event_ring_size` changed while the daemon was down): the newest
    /// events that fit, sequences kept, in a file of the new size; the samples all kept.
    @Test(arguments: [(40, 5), (10, 100)] as [(Int, Int)])
    func anotherEventCapacityIsMigrated(_ events: Int, _ newCapacity: Int) {
        defer { dir.remove() }
        let path = dir.file()
        let written = Samples.file(path, capacity: 100, count: 30, events: events)
        do {
            let (history, opening) = open(path, eventCapacity: newCapacity)
            let kept = Array(written.suffix(Swift.min(newCapacity, Samples.eventCapacity, events)))
            #expect(held(history) == kept)
            #expect(opening.adoptedEvents?.count == kept.count)
            #expect(opening.adopted?.count == 30 && opening.adopted?.migratedFrom?.contains("16 events") == true)
            #expect(opening.notes.contains { $0.message.contains("migrated 30 samples and \(kept.count) events") }, "\(opening.notes)")
            #expect(Samples.bytes(path).count == header(capacity: 100, eventCapacity: newCapacity).fileSize)
            #expect(history.events.capacity == newCapacity && history.events.isInFile)
            #expect(history.events.append(Events.make(events + 1)).sequence == UInt64(events + 1))
        }
        let (again, _) = open(path, eventCapacity: newCapacity)
        #expect(held(again).last?.sequence == UInt64(events + 1))
    }

    /// Event records of a layout this build does not read (written by a later version): the
    /// samples are migrated, the events are not kept, and the log says so.
    @Test func recordsOfAnotherLayoutAreNotKept() throws {
        defer { dir.remove() }
        let path = dir.file()
        Samples.file(path, capacity: 100, count: 25, events: 7)
        var bytes = Samples.bytes(path)
        // The layout version in the header and in its events line, the checksum made again.
        let line = Array("layout \(EventRecordLayout.version)\n".utf8)
        let at = try #require((104..<(FileHeader.size - line.count)).first { Array(bytes[$0..<($0 + line.count)]) == line })
        bytes.replaceSubrange(at..<(at + line.count), with: Array("layout 9\n".utf8))
        bytes[88] = 9
        let sum = bytes.withUnsafeBytes { FileHeader.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<FileHeader.size])) }
        withUnsafeBytes(of: sum.littleEndian) { bytes.replaceSubrange((FileHeader.size - 4)..<FileHeader.size, with: $0) }
        Samples.write(bytes, to: path)
        let (history, opening) = open(path)
        #expect(opening.adopted?.count == 25)
        #expect(opening.adoptedEvents == nil)
        #expect(opening.notes.contains { $0.level == .warning && $0.message.contains("layout 9") && $0.message.contains("not kept") }, "\(opening.notes)")
        #expect(held(history).isEmpty)
        #expect(Samples.bytes(path)[88] == UInt8(EventRecordLayout.version), "the new file has this build's layout")
    }

    /// A reload with another event capacity: with a file, a new file (the events and samples
    /// moved into it); without, a new ring in memory. Either way the newest events that fit.
    @Test(arguments: [true, false])
    func reconfiguringTheEventCapacity(_ inFile: Bool) {
        defer { dir.remove() }
        let path = dir.file()
        do {
            let history = inFile ? open(path).0 : History(capacity: 100, intervalNanos: Samples.interval, eventCapacity: Samples.eventCapacity)
            for seq in 1...30 { history.append(Samples.make(seq), detail: Samples.detail) }
            let written = (1...12).map { history.events.append(Events.make($0)) }
            let notes = history.reconfigure(capacity: 100, intervalNanos: Samples.interval, eventCapacity: 5)
            #expect(history.events.capacity == 5 && history.events.isInFile == inFile, "\(notes)")
            #expect(held(history) == Array(written.suffix(5)))
            #expect(history.count == 30)
            #expect(history.events.append(Events.make(13)).sequence == 13)
        }
        guard inFile else { return }
        #expect(Samples.bytes(path).count == header(capacity: 100, eventCapacity: 5).fileSize)
        let (again, _) = open(path, eventCapacity: 5)
        #expect(held(again).map(\.sequence) == Array(9...13))
    }

    /// Pages of the event ring that no event was written to are not resident, in memory or in
    /// the file: memory grows with the events that happened, not with the ring's capacity.
    @Test(arguments: [true, false])
    func unwrittenEventPagesAreNotResident(_ inFile: Bool) throws {
        defer { dir.remove() }
        let path = dir.file()
        if inFile { Samples.file(path, capacity: 100, count: 5, events: 3, eventCapacity: 1000) }
        let history = inFile ? open(path, eventCapacity: 1000).0 : History(capacity: 100, intervalNanos: Samples.interval, eventCapacity: 1000)
        let region = history.events.region
        let resident = { inFile ? Resident.kilobytes(containing: region.records) : Resident.kilobytes(of: region.records, region.capacity * EventRecordLayout.size) }
        let before = try #require(resident())
        #expect(before == 0, "\(before) kB of the event ring resident before anything read it")
        _ = held(history)
        history.events.append(Events.make(4))
        let after = try #require(resident())
        // Events 1…4 are in records 1…4: bytes 2048…10239, three pages; a fault on a file's
        // mapping also maps what the page cache holds around it (the kernel's fault-around, 64 kB).
        #expect(after > 0 && after <= (inFile ? 64 + 12 : 12), "\(after) kB resident for 4 events of 1000 (2000 kB)")
    }
}

/// Resident memory of one mapping.
enum Resident {
    /// Resident kB of the anonymous memory at `address` (mincore: a private mapping may be merged
    /// with its neighbours in /proc/self/smaps).
    static func kilobytes(of address: UnsafeMutableRawPointer, _ length: Int) -> Int? {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (length + page - 1) / page)
        guard mincore(address, length, &vector) == 0 else { return nil }
        return vector.filter { $0 & 1 != 0 }.count * page / 1024
    }

    /// The Rss of the mapping that contains `address`, in kB, from /proc/self/smaps.
    static func kilobytes(containing address: UnsafeMutableRawPointer) -> Int? {
        guard let data = FileHandle(forReadingAtPath: "/proc/self/smaps")?.readDataToEndOfFile() else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        let target = UInt(bitPattern: address)
        var inside = false
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
            } else if inside, fields.first == "Rss:", fields.count >= 2 {
                return Int(fields[1])
            }
        }
        return nil
    }
}
