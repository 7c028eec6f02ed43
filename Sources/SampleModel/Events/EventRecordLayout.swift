/// An event as a fixed-size slot of bytes: what the event ring holds in memory and what the
/// history file holds as it is. Little-endian, fixed offsets, no pointers; a checksum at the end
/// tells a complete slot from a torn or foreign one. Decoding trusts nothing it reads (a file
/// may have been written by anyone): every count, offset, length, code and text is checked.
///
///     0  u32 magic "DMEV"   4 u16 layout version (2)   6 u8 kind   7 u8 processes kept
///     8  u64 sequence      16 i64 wall ns         24 u64 mono ns   32 u64 sample sequence
///    40  u32 generation    44 u32 more processes  48 u32 fields present (bit per optional field)
///    52  i32 pid           56 i32 previous pid    60 u8 mode   61 u8 previous mode
///    62  u16 bytes of the text area in use
///    64  u64 × 10: current, working set, limit, previous limit, count, threshold (f64),
///        duration ns, slope (f64), time to limit (f64), window ns
///   144  3 text references (u16 offset into the text area, u16 length): limit source,
///        previous limit source, reason
///   156  16 processes of 40 bytes: i32 pid, i32 ppid, u8 role, u8 flags, u16 cmdline offset,
///        u16 cmdline length, u16 zero, u64 rss, u64 lifetime ns, f64 growth bytes/hour
///   796  text area, 1,244 bytes: the UTF-8 of the texts, each distinct text once
///  2040  u64 FNV-1a of bytes 0..<2040
///
/// Why a text area rather than 256 bytes per text: a record must fit 3 texts and 16 command
/// lines of up to 256 bytes, and a fixed cell for each (layout 1) made every record 5,590 bytes,
/// of which a real event used ~10 % (one or two processes; a gunicorn master and its workers
/// share one command line). Texts go into the area in order — the three fields (they always fit:
/// 3 × 256 < 1,244), then the command lines in the order the detector ranked the processes — and a
/// text equal to the start of one already there points at it. A command line that no longer fits
/// is cut to what is left and flagged `cmdlineTruncated`, like one cut at 256 bytes: only an
/// event with many distinct long command lines (spawned uvicorn workers) loses bytes, the last-
/// ranked first, and says so.
public enum EventRecordLayout {
    public static let version: UInt16 = 2
    public static let magic: UInt32 = 0x5645_4D44 // "DMEV" little-endian
    /// Bytes per event.
    public static let size = 2048
    static let referencesOffset = 144
    static let processSlot = 40
    static let processesOffset = referencesOffset + 3 * 4
    static let textsOffset = processesOffset + EventRecord.maxProcesses * processSlot
    static let checksumOffset = size - 8
    /// Bytes for the texts of one event.
    public static let textAreaSize = checksumOffset - textsOffset

    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case empty
        case notAnEvent
        case otherVersion(UInt16)
        case torn
        case invalid(String)

        public var description: String {
            switch self {
            case .empty: "empty slot"
            case .notAnEvent: "not an event slot (bad magic)"
            case .otherVersion(let v): "event layout version \(v), this daemon reads \(EventRecordLayout.version)"
            case .torn: "checksum mismatch (torn or damaged slot)"
            case .invalid(let what): "invalid event slot: \(what)"
            }
        }
    }

    // Bits of "fields present".
    private enum Present: Int, CaseIterable {
        case current, workingSet, limit, previousLimit, count, threshold, duration, slope, timeToLimit, window
        case pid, previousPid, mode, previousMode, limitSource, previousLimitSource, reason
    }

    // MARK: - Encoding

    /// Writes `record` into `slot` (at least `size` bytes): texts cut to their maximum, command
    /// lines also to the room left in the text area (see above).
    public static func encode(_ record: EventRecord, into slot: UnsafeMutableRawBufferPointer) {
        precondition(slot.count >= size, "event slot too small")
        let w = Writer(slot)
        w.zero(size)
        w.put(magic, at: 0)
        w.put(version, at: 4)
        w.put(record.kind.rawValue, at: 6)
        w.put(UInt8(record.processes.count), at: 7)
        w.put(record.sequence, at: 8)
        w.put(record.wallNanos, at: 16)
        w.put(record.monoNanos, at: 24)
        w.put(record.sampleSequence, at: 32)
        w.put(record.generation, at: 40)
        w.put(record.moreProcesses, at: 44)
        var present: UInt32 = 0
        func mark(_ p: Present, _ isSet: Bool) { if isSet { present |= 1 << UInt32(p.rawValue) } }
        let numbers: [(Present, UInt64?)] = [
            (.current, record.memoryCurrentBytes), (.workingSet, record.memoryWorkingSetBytes),
            (.limit, record.memoryLimitBytes), (.previousLimit, record.previousLimitBytes), (.count, record.count),
            (.threshold, record.thresholdFraction?.bitPattern), (.duration, record.durationNanos),
            (.slope, record.slopeBytesPerHour?.bitPattern), (.timeToLimit, record.timeToLimitSeconds?.bitPattern),
            (.window, record.windowNanos),
        ]
        for (i, (field, value)) in numbers.enumerated() {
            mark(field, value != nil)
            w.put(value ?? 0, at: 64 + 8 * i)
        }
        mark(.pid, record.pid != nil); w.put(record.pid ?? 0, at: 52)
        mark(.previousPid, record.previousPid != nil); w.put(record.previousPid ?? 0, at: 56)
        mark(.mode, record.mode != nil); w.put(record.mode.map(code) ?? 0, at: 60)
        mark(.previousMode, record.previousMode != nil); w.put(record.previousMode.map(code) ?? 0, at: 61)
        var texts = TextArea(w)
        for (i, (field, text)) in [(Present.limitSource, record.limitSource), (.previousLimitSource, record.previousLimitSource),
                                   (.reason, record.reason)].enumerated() {
            mark(field, text != nil)
            let placed = texts.place(text.map { EventRecord.cut($0).text } ?? "")
            w.reference(placed, at: referencesOffset + 4 * i)
        }
        w.put(present, at: 48)
        for (i, p) in record.processes.enumerated() {
            let at = processesOffset + i * processSlot
            let placed = texts.place(p.cmdline)
            w.put(p.pid, at: at)
            w.put(p.ppid, at: at + 4)
            w.put(code(p.role), at: at + 8)
            var flags: UInt8 = p.cmdlineTruncated || placed.cut ? 1 : 0
            if p.rssBytes != nil { flags |= 2 }
            if p.lifetimeNanos != nil { flags |= 4 }
            if p.growthBytesPerHour != nil { flags |= 8 }
            w.put(flags, at: at + 9)
            w.reference(placed, at: at + 10)
            w.put(p.rssBytes ?? 0, at: at + 16)
            w.put(p.lifetimeNanos ?? 0, at: at + 24)
            w.put(p.growthBytesPerHour?.bitPattern ?? 0, at: at + 32)
        }
        w.put(UInt16(texts.used), at: 62)
        w.put(checksum(UnsafeRawBufferPointer(slot), count: checksumOffset), at: checksumOffset)
    }

    // MARK: - Decoding

    /// Reads the record in `slot`; an all-zero slot is `.empty`. `verifyChecksum: false` is for
    /// slots this process wrote itself (the ring after it was written or adopted): everything
    /// else is still checked.
    public static func decode(_ slot: UnsafeRawBufferPointer, verifyChecksum: Bool = true) throws(DecodeError) -> EventRecord {
        guard slot.count >= size else { throw .invalid("slot of \(slot.count) bytes, expected \(size)") }
        let r = Reader(slot)
        let m: UInt32 = r.get(0)
        if m == 0, slot.prefix(size).allSatisfy({ $0 == 0 }) { throw .empty }
        guard m == magic else { throw .notAnEvent }
        let v: UInt16 = r.get(4)
        guard v == version else { throw .otherVersion(v) }
        guard !verifyChecksum || r.get(checksumOffset) == checksum(slot, count: checksumOffset) else { throw .torn }
        guard let kind = EventKind(rawValue: r.get(6)) else { throw .invalid("unknown kind code \(r.get(6) as UInt8)") }
        let kept = Int(r.get(7) as UInt8)
        guard kept <= EventRecord.maxProcesses else { throw .invalid("\(kept) processes, at most \(EventRecord.maxProcesses)") }
        let used = Int(r.get(62) as UInt16)
        guard used <= textAreaSize else { throw .invalid("\(used) bytes of texts, the area has \(textAreaSize)") }
        var record = EventRecord(kind: kind, wallNanos: r.get(16), monoNanos: r.get(24), sampleSequence: r.get(32), generation: r.get(40))
        record.sequence = r.get(8)
        let present: UInt32 = r.get(48)
        guard present >> UInt32(Present.allCases.count) == 0 else { throw .invalid("unknown field bits \(String(present, radix: 2))") }
        func has(_ p: Present) -> Bool { present & (1 << UInt32(p.rawValue)) != 0 }
        func number(_ i: Int, _ p: Present) -> UInt64? { has(p) ? r.get(64 + 8 * i) : nil }
        func real(_ i: Int, _ p: Present) throws(DecodeError) -> Double? {
            guard let bits = number(i, p) else { return nil }
            let value = Double(bitPattern: bits)
            guard value.isFinite else { throw .invalid("field \(p) is not a finite number") }
            return value
        }
        record.memoryCurrentBytes = number(0, .current)
        record.memoryWorkingSetBytes = number(1, .workingSet)
        record.memoryLimitBytes = number(2, .limit)
        record.previousLimitBytes = number(3, .previousLimit)
        record.count = number(4, .count)
        record.thresholdFraction = try real(5, .threshold)
        record.durationNanos = number(6, .duration)
        record.slopeBytesPerHour = try real(7, .slope)
        record.timeToLimitSeconds = try real(8, .timeToLimit)
        record.windowNanos = number(9, .window)
        record.pid = has(.pid) ? r.get(52) : nil
        record.previousPid = has(.previousPid) ? r.get(56) : nil
        if has(.mode) { record.mode = try mode(r.get(60)) }
        if has(.previousMode) { record.previousMode = try mode(r.get(61)) }
        let texts = try (0..<3).map { i throws(DecodeError) in try r.text(at: referencesOffset + 4 * i, used: used) }
        record.limitSource = has(.limitSource) ? texts[0] : nil
        record.previousLimitSource = has(.previousLimitSource) ? texts[1] : nil
        record.reason = has(.reason) ? texts[2] : nil
        var processes: [EventProcess] = []
        for i in 0..<kept {
            let at = processesOffset + i * processSlot
            let flags: UInt8 = r.get(at + 9)
            guard flags >> 4 == 0 else { throw .invalid("process \(i): unknown flags \(flags)") }
            let growth = Double(bitPattern: r.get(at + 32))
            guard flags & 8 == 0 || growth.isFinite else { throw .invalid("process \(i): growth is not a finite number") }
            processes.append(EventProcess(
                pid: r.get(at), ppid: r.get(at + 4), role: try role(r.get(at + 8)),
                rssBytes: flags & 2 != 0 ? r.get(at + 16) : nil,
                lifetimeNanos: flags & 4 != 0 ? r.get(at + 24) : nil,
                growthBytesPerHour: flags & 8 != 0 ? growth : nil,
                cmdline: try r.text(at: at + 10, used: used), cmdlineTruncated: flags & 1 != 0))
        }
        record.setProcesses(processes)
        record.moreProcesses = r.get(44)
        return record
    }

    /// The kind of the event in `slot`, read without decoding the rest (for filtering).
    public static func kind(_ slot: UnsafeRawBufferPointer) -> EventKind? {
        guard slot.count >= size else { return nil }
        return EventKind(rawValue: slot[6])
    }

    /// The sequence stored in `slot` (for finding a ring's events without decoding them all).
    public static func sequence(_ slot: UnsafeRawBufferPointer) -> UInt64 {
        slot.count >= 16 ? UInt64(littleEndian: slot.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) : 0
    }

    /// Bytes of the text area `record` takes once stored (for measuring what the layout holds).
    public static func textBytes(_ record: EventRecord) -> Int {
        var slot = [UInt8](repeating: 0, count: size)
        return slot.withUnsafeMutableBytes { b in
            encode(record, into: b)
            return Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 62, as: UInt16.self)))
        }
    }

    // MARK: - Codes (stored: never renumber)

    static func code(_ mode: DrumMode) -> UInt8 {
        switch mode {
        case .werkzeug: 1
        case .gunicorn: 2
        case .uvicorn: 3
        case .pid: 4
        }
    }

    static func mode(_ code: UInt8) throws(DecodeError) -> DrumMode {
        switch code {
        case 1: .werkzeug
        case 2: .gunicorn
        case 3: .uvicorn
        case 4: .pid
        default: throw .invalid("unknown mode code \(code)")
        }
    }

    static func code(_ role: ProcessRole) -> UInt8 {
        switch role {
        case .master: 1
        case .worker: 2
        case .child: 3
        case .helper: 4
        }
    }

    static func role(_ code: UInt8) throws(DecodeError) -> ProcessRole {
        switch code {
        case 1: .master
        case 2: .worker
        case 3: .child
        case 4: .helper
        default: throw .invalid("unknown role code \(code)")
        }
    }

    /// 64-bit FNV-1a: cheap, and an event is written rarely.
    static func checksum(_ bytes: UnsafeRawBufferPointer, count: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count { hash = (hash ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    // MARK: - Byte access

    /// Where a text went in the text area.
    struct Placed {
        var offset = 0
        var length = 0
        /// Cut shorter than it was for want of room.
        var cut = false
    }

    /// The texts of one record, packed into its text area in the order they are placed.
    private struct TextArea {
        let w: Writer
        var used = 0
        private var placed: [Placed] = []

        init(_ w: Writer) { self.w = w }

        /// Stores `text` (at most `maxTextBytes` of UTF-8) once: as the start of a text already
        /// there, or after the others, cut on a character boundary to the room left.
        mutating func place(_ text: String) -> Placed {
            var bytes = Array(text.utf8.prefix(EventRecord.maxTextBytes))
            guard !bytes.isEmpty else { return Placed() }
            for p in placed where p.length >= bytes.count && w.matches(bytes, at: textsOffset + p.offset) {
                return Placed(offset: p.offset, length: bytes.count)
            }
            var cut = false
            let room = textAreaSize - used
            if bytes.count > room {
                var end = room
                // Back off continuation bytes (10xxxxxx) to the start of the character cut in two.
                while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
                bytes.removeSubrange(end...)
                cut = true
            }
            let here = Placed(offset: used, length: bytes.count, cut: cut)
            w.put(bytes, at: textsOffset + used)
            used += bytes.count
            if !bytes.isEmpty { placed.append(here) }
            return here
        }
    }

    private struct Writer {
        let slot: UnsafeMutableRawBufferPointer
        init(_ slot: UnsafeMutableRawBufferPointer) { self.slot = slot }
        func zero(_ count: Int) { for i in 0..<count { slot[i] = 0 } }
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            slot.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, b) in bytes.enumerated() { slot[offset + i] = b }
        }
        func matches(_ bytes: [UInt8], at offset: Int) -> Bool {
            bytes.indices.allSatisfy { slot[offset + $0] == bytes[$0] }
        }
        func reference(_ placed: Placed, at offset: Int) {
            put(UInt16(placed.offset), at: offset)
            put(UInt16(placed.length), at: offset + 2)
        }
    }

    private struct Reader {
        let slot: UnsafeRawBufferPointer
        init(_ slot: UnsafeRawBufferPointer) { self.slot = slot }
        func get<T: FixedWidthInteger>(_ offset: Int) -> T {
            T(littleEndian: slot.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        /// The text a reference at `at` points to, inside the `used` bytes of the text area.
        func text(at: Int, used: Int) throws(DecodeError) -> String {
            let offset = Int(get(at) as UInt16), length = Int(get(at + 2) as UInt16)
            guard length <= EventRecord.maxTextBytes else { throw .invalid("text of \(length) bytes at offset \(at)") }
            guard offset + length <= used else { throw .invalid("text at offset \(at) points outside the \(used) bytes in use") }
            let start = textsOffset + offset
            guard let text = String(validating: UnsafeRawBufferPointer(rebasing: slot[start..<(start + length)]), as: UTF8.self) else {
                throw .invalid("text at offset \(at) is not UTF-8")
            }
            return text
        }
    }
}
