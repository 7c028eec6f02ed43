import SampleModel

/// The first page of a history file: what it is, its version, and the layout of its slots and
/// of its event records.
///
///     offset  size  field
///          0     8  magic "DRUMHIST"
///          8     4  format version (2; format 1 had no event region)
///         12     4  header size (4096; slots start here)
///         16     4  slot size in bytes
///         20     4  number of metrics
///         24     8  number of slots (capacity + 1: the slot before the oldest sample stays)
///         32     8  capacity in samples
///         40     8  nominal sampling interval, ns
///         48    16  boot id of the boot whose CLOCK_MONOTONIC the timeline continues
///         64     8  timeline offset: timeline = CLOCK_MONOTONIC + offset during that boot
///         72     8  salt of the slots' checksums
///         80     4  length of the layout text
///         84     4  event record size in bytes (`EventRecordLayout.size`)
///         88     4  event record layout version (`EventRecordLayout.version`)
///         92     4  event ring capacity, in events
///         96     8  offset of the event region: the end of the slots rounded up to 4096
///        104     …  layout text (UTF-8; at offset 84 in format 1): a title line, one line per
///                   metric in slot order, "metric <name> <units per value>", and a line
///                   "events <capacity> records of <size> bytes, layout <version>"
///       4092     4  checksum of bytes 0..<4092
///
/// The file is the header, the slots, zero padding to the next 4096, then the event region:
/// `eventCapacity` records, event `s` in record `s mod eventCapacity`.
///
/// The file is hostile input as much as a request is: `parse` checks every field and every
/// size against the file's real size before anything is read through them.
struct FileHeader: Equatable, Sendable {
    var version: UInt32 = FileHeader.currentVersion
    var slotSize: Int
    var slotCount: Int
    var capacity: Int
    var intervalNanos: UInt64
    var bootID: BootID
    var timelineOffset: Int64
    var salt: UInt64
    /// In slot order: each metric's name and units per value.
    var metrics: [FileMetric]
    /// The event region (all 0 in a file of format 1, which has none).
    var eventCapacity: Int
    var eventRecordSize: Int
    var eventLayoutVersion: UInt32

    static let size = 4096
    static let magic: [UInt8] = Array("DRUMHIST".utf8)
    static let currentVersion: UInt32 = 2
    static let title = "drum-monitor history, format 2: sequence, wall ns, timeline ns, generation, flags, presence bits, running sums mod 2^48 per metric, checksum; then the event records"
    static let maximumMetrics = 256
    /// 64 Mi slots of 132+ bytes: far past `max_history_bytes`; anything larger is not ours.
    static let maximumSlots = 1 << 26
    /// Far past `EventRing.maximumCapacity` (a later version may allow more: migrated then).
    static let maximumEvents = 1 << 24
    static let maximumEventRecordSize = 1 << 16
    /// The event region starts on a multiple of this.
    static let eventAlignment = 4096
    private static let checksumOffset = size - 4

    private static func layoutOffset(_ version: UInt32) -> Int { version == 1 ? 84 : 104 }

    struct FileMetric: Equatable, Sendable {
        var name: String
        var scale: UInt64
    }

    var layout: SlotLayout { SlotLayout(metricCount: metrics.count) }

    /// Where the slots end.
    var slotsEnd: Int { Self.size + slotSize * slotCount }

    /// Where the event region starts.
    var eventsOffset: Int { (slotsEnd + Self.eventAlignment - 1) / Self.eventAlignment * Self.eventAlignment }

    var hasEvents: Bool { version >= 2 }

    var fileSize: Int { hasEvents ? eventsOffset + eventCapacity * eventRecordSize : slotsEnd }

    /// The header of a new file of this format: slots of `metrics`, this build's event records.
    init(metrics: [FileMetric], capacity: Int, intervalNanos: UInt64, bootID: BootID, timelineOffset: Int64, salt: UInt64,
         eventCapacity: Int) {
        self.metrics = metrics
        slotSize = SlotLayout(metricCount: metrics.count).size
        slotCount = capacity + 1
        self.capacity = capacity
        self.intervalNanos = intervalNanos
        self.bootID = bootID
        self.timelineOffset = timelineOffset
        self.salt = salt
        self.eventCapacity = eventCapacity
        eventRecordSize = EventRecordLayout.size
        eventLayoutVersion = UInt32(EventRecordLayout.version)
    }

    var layoutText: String {
        var lines = [Self.title] + metrics.map { "metric \($0.name) \($0.scale)" }
        if hasEvents { lines.append(eventsLine) }
        return lines.joined(separator: "\n") + "\n"
    }

    private var eventsLine: String { "events \(eventCapacity) records of \(eventRecordSize) bytes, layout \(eventLayoutVersion)" }

    /// Whether slots written under `other` can be read in place as slots of this header.
    func sameSlots(as other: FileHeader) -> Bool {
        metrics == other.metrics && slotSize == other.slotSize && slotCount == other.slotCount && capacity == other.capacity
    }

    /// Whether the event region of `other` is where, and as, this header's would be.
    func sameEvents(as other: FileHeader) -> Bool {
        hasEvents && other.hasEvents && eventCapacity == other.eventCapacity && eventRecordSize == other.eventRecordSize
            && eventLayoutVersion == other.eventLayoutVersion && eventsOffset == other.eventsOffset
    }

    /// Whether this header's event records are ones this build reads.
    var eventsAreReadable: Bool {
        hasEvents && eventRecordSize == EventRecordLayout.size && eventLayoutVersion == UInt32(EventRecordLayout.version)
    }

    /// Writes the header of the current format (this build writes no other).
    func write(to bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count == Self.size && version == Self.currentVersion)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        let w = HeaderWriter(bytes: bytes)
        w.put(Self.magic, at: 0)
        w.put(version, at: 8)
        w.put(UInt32(Self.size), at: 12)
        w.put(UInt32(slotSize), at: 16)
        w.put(UInt32(metrics.count), at: 20)
        w.put(UInt64(slotCount), at: 24)
        w.put(UInt64(capacity), at: 32)
        w.put(intervalNanos, at: 40)
        w.put(bootID.bytes, at: 48)
        w.put(timelineOffset, at: 64)
        w.put(salt, at: 72)
        w.put(UInt32(eventRecordSize), at: 84)
        w.put(eventLayoutVersion, at: 88)
        w.put(UInt32(eventCapacity), at: 92)
        w.put(UInt64(eventsOffset), at: 96)
        let text = Array(layoutText.utf8)
        let at = Self.layoutOffset(version)
        precondition(text.count <= Self.checksumOffset - at, "too many metrics for the header")
        w.put(UInt32(text.count), at: 80)
        w.put(text, at: at)
        w.put(Self.checksum(UnsafeRawBufferPointer(bytes)), at: Self.checksumOffset)
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        // FNV-1a over the header: it changes only at start, reload and migration.
        var h: UInt32 = 0x811C_9DC5
        for b in bytes[0..<checksumOffset] { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    /// Why a file's first page is not a header this daemon can read.
    enum Rejection: Error, Equatable, CustomStringConvertible {
        /// Not a drum-monitor history file at all (or its first page is damaged).
        case foreign(String)
        /// A drum-monitor history file of a format this daemon does not know.
        case otherVersion(UInt32)
        /// The right kind of file, but cut short or grown.
        case wrongSize(expected: Int, actual: Int)
        case corrupt(String)

        var description: String {
            switch self {
            case .foreign(let why): "not a drum-monitor history file (\(why))"
            case .otherVersion(let v): "a history file of format \(v); this drum-monitor reads formats 1 and \(FileHeader.currentVersion)"
            case .wrongSize(let expected, let actual): "truncated or extended: its header says \(expected) bytes, the file has \(actual)"
            case .corrupt(let why): "corrupt header: \(why)"
            }
        }
    }

    /// Reads and checks the header of a file of `fileSize` bytes whose first bytes are `bytes`:
    /// of this format, or of format 1 (whose samples are migrated).
    static func parse(_ bytes: UnsafeRawBufferPointer, fileSize: Int) throws(Rejection) -> FileHeader {
        guard bytes.count >= size, fileSize >= size else {
            throw fileSize >= magic.count && Array(bytes.prefix(magic.count)) == magic
                ? .wrongSize(expected: size, actual: fileSize) : .foreign("\(fileSize) bytes, shorter than a header")
        }
        let r = HeaderReader(bytes: bytes)
        guard Array(bytes[0..<8]) == magic else { throw .foreign("no DRUMHIST magic") }
        let version: UInt32 = r.get(8)
        guard version == 1 || version == currentVersion else { throw .otherVersion(version) }
        guard r.get(checksumOffset) == checksum(bytes) else { throw .corrupt("header checksum does not match") }
        guard r.get(12) as UInt32 == UInt32(size) else { throw .corrupt("header size \(r.get(12) as UInt32)") }
        let metricCount = Int(r.get(20) as UInt32)
        guard (1...maximumMetrics).contains(metricCount) else { throw .corrupt("\(metricCount) metrics") }
        let slotSize = Int(r.get(16) as UInt32)
        guard slotSize == SlotLayout(metricCount: metricCount).size else {
            throw .corrupt("slot size \(slotSize) for \(metricCount) metrics")
        }
        let slotCount: UInt64 = r.get(24), capacity: UInt64 = r.get(32)
        guard slotCount >= 2, slotCount <= UInt64(maximumSlots), capacity >= 1, capacity < slotCount else {
            throw .corrupt("\(slotCount) slots for a capacity of \(capacity)")
        }
        let intervalNanos: UInt64 = r.get(40)
        guard intervalNanos > 0, intervalNanos < 1 << 62 else { throw .corrupt("interval \(intervalNanos) ns") }
        var header = FileHeader(version: version, slotSize: slotSize, slotCount: Int(slotCount), capacity: Int(capacity),
                                intervalNanos: intervalNanos, bootID: BootID(bytes: Array(bytes[48..<64])),
                                timelineOffset: r.get(64), salt: r.get(72), metrics: [])
        if version >= 2 {
            header.eventRecordSize = Int(r.get(84) as UInt32)
            header.eventLayoutVersion = r.get(88)
            header.eventCapacity = Int(r.get(92) as UInt32)
            guard (64...maximumEventRecordSize).contains(header.eventRecordSize), header.eventLayoutVersion >= 1,
                  (1...maximumEvents).contains(header.eventCapacity) else {
                throw .corrupt("\(header.eventCapacity) events of \(header.eventRecordSize) bytes, layout \(header.eventLayoutVersion)")
            }
            guard r.get(96) as UInt64 == UInt64(header.eventsOffset) else {
                throw .corrupt("event region at \(r.get(96) as UInt64), expected \(header.eventsOffset)")
            }
        }
        let textLength = Int(r.get(80) as UInt32), at = layoutOffset(version)
        guard textLength <= checksumOffset - at else { throw .corrupt("layout text of \(textLength) bytes") }
        header.metrics = try parseLayout(bytes[at..<(at + textLength)], count: metricCount, events: version >= 2 ? header.eventsLine : nil)
        guard header.fileSize == fileSize else { throw .wrongSize(expected: header.fileSize, actual: fileSize) }
        return header
    }

    private static func parseLayout(_ text: Slice<UnsafeRawBufferPointer>, count: Int, events: String?) throws(Rejection) -> [FileMetric] {
        guard text.allSatisfy({ $0 == 0x0A || (0x20..<0x7F).contains($0) }) else { throw .corrupt("layout text is not printable ASCII") }
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        let extra = events == nil ? 0 : 1
        guard lines.count == count + extra + 2, lines.first?.hasPrefix("drum-monitor history") == true, lines.last == "" else {
            throw .corrupt("layout text is not a title and \(count) metric lines" + (events == nil ? "" : " and an events line"))
        }
        if let events, lines[count + 1] != events { throw .corrupt("events line '\(lines[count + 1].prefix(80))' says otherwise than the header ('\(events)')") }
        lines = Array(lines[1...count])
        var metrics: [FileMetric] = []
        var names = Set<String>()
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "metric", let scale = UInt64(parts[2]),
                  scale == MetricCodec.integer.scale || scale == MetricCodec.billionths.scale,
                  (1...64).contains(parts[1].utf8.count),
                  parts[1].utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }),
                  names.insert(String(parts[1])).inserted else {
                throw .corrupt("bad metric line '\(line.prefix(80))'")
            }
            metrics.append(FileMetric(name: String(parts[1]), scale: scale))
        }
        return metrics
    }

    private init(version: UInt32, slotSize: Int, slotCount: Int, capacity: Int, intervalNanos: UInt64, bootID: BootID,
                 timelineOffset: Int64, salt: UInt64, metrics: [FileMetric]) {
        self.version = version
        self.slotSize = slotSize
        self.slotCount = slotCount
        self.capacity = capacity
        self.intervalNanos = intervalNanos
        self.bootID = bootID
        self.timelineOffset = timelineOffset
        self.salt = salt
        self.metrics = metrics
        eventCapacity = 0
        eventRecordSize = 0
        eventLayoutVersion = 0
    }
}

/// The kernel's boot id (/proc/sys/kernel/random/boot_id): CLOCK_MONOTONIC values of one boot
/// mean nothing in another.
public struct BootID: Equatable, Sendable, CustomStringConvertible {
    public var bytes: [UInt8]

    /// "Unknown": always different from a real one.
    public static let unknown = BootID(bytes: [UInt8](repeating: 0, count: 16))

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// From the kernel's text form, e.g. "5c1e0a0e-3c3b-4d43-8b9b-5f0c7e0d2a11"; nil if malformed.
    public init?(text: String) {
        let hex = text.utf8.filter { $0 != UInt8(ascii: "-") && $0 != 0x0A }
        guard hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let b = UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(b)
        }
        self.bytes = bytes
    }

    public var isKnown: Bool { self != .unknown }

    public var description: String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

private struct HeaderWriter {
    let bytes: UnsafeMutableRawBufferPointer
    func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        bytes.storeBytes(of: v.littleEndian, toByteOffset: offset, as: T.self)
    }
    func put(_ v: [UInt8], at offset: Int) {
        for (i, b) in v.enumerated() { bytes[offset + i] = b }
    }
}

private struct HeaderReader {
    let bytes: UnsafeRawBufferPointer
    func get<T: FixedWidthInteger>(_ offset: Int) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
