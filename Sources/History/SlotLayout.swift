/// The bytes of one held sample (a slot), the same in memory and in the history file.
///
///     offset  size  field
///          0     8  sequence (0: never written)
///          8     8  wall-clock time, ns since the epoch (signed)
///         16     8  timeline, ns: CLOCK_MONOTONIC, continued across reboots (see `SampleStore`)
///         24     4  generation
///         28     2  flags (`SlotFlags`)
///         30     p  presence, one bit per metric (p = ⌈metrics ÷ 8⌉)
///     30 + p  6 × m  per metric, the running sum of its values modulo 2^48 (little-endian)
///        end     4  checksum of everything before it, the slot's index and the file's salt
///
/// Keeping running sums instead of values makes a window's sum the difference of two slots',
/// and a value the difference of its slot's and the previous slot's (see `SampleStore`). All
/// numbers are little-endian and read unaligned: slots are packed, 132 bytes for 16 metrics.
struct SlotLayout: Equatable, Sendable {
    let metricCount: Int
    let presenceOffset = 30
    let valuesOffset: Int
    let checksumOffset: Int
    let size: Int

    static let sequenceOffset = 0
    static let wallOffset = 8
    static let timelineOffset = 16
    static let generationOffset = 24
    static let flagsOffset = 28
    static let valueWidth = 6
    static let valueMask: UInt64 = (1 << 48) - 1

    init(metricCount: Int) {
        precondition(metricCount >= 1)
        self.metricCount = metricCount
        valuesOffset = 30 + (metricCount + 7) / 8
        checksumOffset = valuesOffset + Self.valueWidth * metricCount
        size = checksumOffset + 4
    }

    func valueOffset(_ metric: Int) -> Int { valuesOffset + Self.valueWidth * metric }
}

struct SlotFlags: OptionSet, Sendable {
    let rawValue: UInt16
    /// The first sample after the daemon adopted a history: the time before it is a gap.
    static let restart = SlotFlags(rawValue: 1)
    /// The first sample of a history: its running sums start from zero, not from the slot before.
    static let origin = SlotFlags(rawValue: 2)
    static let known: SlotFlags = [.restart, .origin]
}

/// Raw access to one slot. Nothing here checks bounds: `SlotRegion` hands out only slots inside
/// its mapping, and reads of 6-byte values load 8 bytes, which the checksum that follows the
/// last value keeps inside the slot.
struct SlotPointer {
    let raw: UnsafeMutableRawPointer

    @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    @inline(__always) func store<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        raw.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    var sequence: UInt64 { load(SlotLayout.sequenceOffset, as: UInt64.self) }
    var wall: Int64 { load(SlotLayout.wallOffset, as: Int64.self) }
    var timeline: UInt64 { load(SlotLayout.timelineOffset, as: UInt64.self) }
    var generation: UInt32 { load(SlotLayout.generationOffset, as: UInt32.self) }
    var flags: SlotFlags { SlotFlags(rawValue: load(SlotLayout.flagsOffset, as: UInt16.self)) }

    @inline(__always) func isPresent(_ metric: Int, _ layout: SlotLayout) -> Bool {
        let byte = raw.load(fromByteOffset: layout.presenceOffset + metric >> 3, as: UInt8.self)
        return byte & (1 << UInt8(metric & 7)) != 0
    }

    /// The metric's running sum modulo 2^48.
    @inline(__always) func runningSum(_ metric: Int, _ layout: SlotLayout) -> UInt64 {
        load(layout.valueOffset(metric), as: UInt64.self) & SlotLayout.valueMask
    }

    func setRunningSum(_ value: UInt64, _ metric: Int, _ layout: SlotLayout) {
        let offset = layout.valueOffset(metric)
        store(UInt32(truncatingIfNeeded: value), offset)
        store(UInt16(truncatingIfNeeded: value >> 32), offset + 4)
    }

    func storedChecksum(_ layout: SlotLayout) -> UInt32 { load(layout.checksumOffset, as: UInt32.self) }

    /// A 32-bit hash of the slot's fields, its index in the ring and the file's salt: a slot
    /// written half way (the daemon killed mid-append, a torn page after a crash) or copied to
    /// another place does not match. Not a defence against a forger: bounds checks are.
    func checksum(_ layout: SlotLayout, index: Int, salt: UInt64) -> UInt32 {
        var h = salt ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        let end = layout.checksumOffset
        while offset + 8 <= end {
            h = (h ^ load(offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 31
            offset += 8
        }
        while offset < end {
            h = (h ^ UInt64(raw.load(fromByteOffset: offset, as: UInt8.self))) &* 0xC4CE_B9FE_1A85_EC53
            offset += 1
        }
        h ^= h >> 29
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 32
        return UInt32(truncatingIfNeeded: h)
    }

    func seal(_ layout: SlotLayout, index: Int, salt: UInt64) {
        store(checksum(layout, index: index, salt: salt), layout.checksumOffset)
    }

    func isSealed(_ layout: SlotLayout, index: Int, salt: UInt64) -> Bool {
        storedChecksum(layout) == checksum(layout, index: index, salt: salt)
    }
}
