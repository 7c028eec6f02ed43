/// Range maximum and minimum of every metric over any run of held samples, answered by
/// touching a constant number of entries whatever the run's length or position, in about
/// 1.1 bytes per sample per metric.
///
/// Samples are grouped by their logical index (samples appended since the store began; the
/// ring never reorders them): blocks of 8 samples, groups of 16 blocks (128 samples),
/// supergroups of 16 groups (2048 samples).
/// - A run inside one block is scanned (at most 8 slots).
/// - Per block, where its maximum and minimum are (`blockWhere`), and a 16-bit mask per
///   direction (`blockMasks`): the blocks of its group, up to itself, that hold a value greater
///   (smaller) than every later block of the group up to it (the "record holders seen from the
///   end", the stack of a monotone queue). The maximum of blocks x…y of one group is then the
///   lowest bit ≥ x in y's mask: one lookup. Among equal values the newest block stays on
///   the stack, so the newest occurrence of a maximum is the one reported.
/// - The same one level up: per group, its extremes (values and where) and a mask over the
///   groups of its supergroup.
/// - Over supergroups, a sparse table: the extremes of 2^k consecutive supergroups for every k,
///   so any run of supergroups is two overlapping entries.
/// A run is then: a scanned part of its first block, blocks to the end of that group, groups to
/// the end of that supergroup, whole supergroups, and the same back down to its last sample:
/// at most 6 candidates per direction besides the scans, offered in time order so that the
/// later of equal values wins without comparing positions.
///
/// Every table is a ring indexed by unit number modulo a size a few units larger than the
/// history, so entries of the oldest, partly overwritten units stay valid while the ring needs
/// them; every array holds one entry per metric per unit, so a query touches the same few
/// cache lines for all metrics.
struct ExtremaTables {
    static let blockShift = 3
    static let groupShift = 4
    static let superShift = 4
    static let samplesPerBlock = 1 << blockShift
    static let blocksPerGroup = 1 << groupShift
    static let samplesPerGroup = samplesPerBlock << groupShift
    static let groupsPerSuper = 1 << superShift
    static let samplesPerSuper = samplesPerGroup << superShift
    static let none8: UInt8 = 0xFF
    static let none16: UInt16 = 0xFFFF
    static let none32: UInt32 = 0xFFFF_FFFF

    let metricCount: Int
    let blockRing: Int
    let groupRing: Int
    let superRing: Int
    let levels: Int

    /// Per block and metric: offsets (0…7) of the newest maximum (low nibble) and newest minimum
    /// (high nibble) in the block; 0xF: no value.
    let blockWhere: UnsafeMutablePointer<UInt8>
    /// Per block and metric: the max stack of its group (low 16 bits), the min stack (high 16).
    let blockMasks: UnsafeMutablePointer<UInt32>
    /// Per group and metric: sample offsets (0…127) of its newest maximum (low byte) and
    /// minimum (high byte); 0xFFFF: no value.
    let groupWhere: UnsafeMutablePointer<UInt16>
    /// Per group, metric and direction: the extreme value (valid where `groupWhere` is).
    let groupValue: UnsafeMutablePointer<UInt64>
    let groupMasks: UnsafeMutablePointer<UInt32>
    /// Level k, supergroup s, metric m: the extremes over supergroups s ..< s + 2^k — the values
    /// (per direction) and the offset of the newest maximum from s's first sample (none32: no
    /// value in the span).
    let sparseValue: UnsafeMutablePointer<UInt64>
    let sparseAt: UnsafeMutablePointer<UInt32>

    /// Ring sizes: a few units more than the ring of slots spans; the block and group rings are
    /// multiples of 16, so the blocks (groups) of one group (supergroup) are consecutive entries.
    static func rings(slotCount: Int) -> (blocks: Int, groups: Int, supers: Int, levels: Int) {
        let blocks = (slotCount / samplesPerBlock + 3 + 15) & ~15
        let groups = (slotCount / samplesPerGroup + 3 + 15) & ~15
        let supers = slotCount / samplesPerSuper + 3
        var levels = 1
        while 1 << levels <= supers { levels += 1 }
        return (blocks, groups, supers, levels)
    }

    init(metricCount: Int, slotCount: Int) {
        self.metricCount = metricCount
        (blockRing, groupRing, superRing, levels) = Self.rings(slotCount: slotCount)
        blockWhere = .allocate(capacity: blockRing * metricCount)
        blockWhere.initialize(repeating: 0xFF, count: blockRing * metricCount)
        blockMasks = .allocate(capacity: blockRing * metricCount)
        blockMasks.initialize(repeating: 0, count: blockRing * metricCount)
        groupWhere = .allocate(capacity: groupRing * metricCount)
        groupWhere.initialize(repeating: 0xFFFF, count: groupRing * metricCount)
        groupValue = .allocate(capacity: groupRing * metricCount * 2)
        groupValue.initialize(repeating: 0, count: groupRing * metricCount * 2)
        groupMasks = .allocate(capacity: groupRing * metricCount)
        groupMasks.initialize(repeating: 0, count: groupRing * metricCount)
        sparseValue = .allocate(capacity: levels * superRing * metricCount * 2)
        sparseValue.initialize(repeating: 0, count: levels * superRing * metricCount * 2)
        sparseAt = .allocate(capacity: levels * superRing * metricCount)
        sparseAt.initialize(repeating: Self.none32, count: levels * superRing * metricCount)
    }

    func deallocate() {
        blockWhere.deallocate()
        blockMasks.deallocate()
        groupWhere.deallocate()
        groupValue.deallocate()
        groupMasks.deallocate()
        sparseValue.deallocate()
        sparseAt.deallocate()
    }

    /// Bytes of private memory for `slotCount` slots and `metricCount` metrics.
    static func bytes(metricCount: Int, slotCount: Int) -> Int {
        let r = rings(slotCount: slotCount)
        return metricCount * (r.blocks * 5 + r.groups * 22 + r.levels * r.supers * 20)
    }

    /// Entries of a unit: its position in the ring times the number of metrics (add the metric).
    @inline(__always) func blockEntry(_ block: Int) -> Int { (block % blockRing) &* metricCount }
    @inline(__always) func groupEntry(_ group: Int) -> Int { (group % groupRing) &* metricCount }
    /// Entries of level `level`'s span starting at supergroup `s` (add the metric; for
    /// `sparseValue`, twice that plus the direction).
    @inline(__always) func sparseEntry(_ level: Int, _ s: Int) -> Int { (level &* superRing &+ s % superRing) &* metricCount }
}

/// Per metric, what the tables need while a block, group and supergroup fill: the extreme so
/// far of the unfinished block, and the values of the blocks (groups) on the unfinished group's
/// (supergroup's) stacks. Fixed size, allocated once.
struct ExtremaScratch {
    let metricCount: Int
    /// Per metric and direction: the unfinished block's extreme value and its offset (8: none).
    let blockValue: UnsafeMutablePointer<UInt64>
    let blockOffset: UnsafeMutablePointer<UInt8>
    /// Per metric and direction: the extreme value of each block (group) of the unfinished
    /// group (supergroup), valid where the stack mask has its bit.
    let groupValues: UnsafeMutablePointer<UInt64>
    let superValues: UnsafeMutablePointer<UInt64>
    /// Per metric: the unfinished group's and supergroup's stacks (max low, min high 16 bits).
    let groupMask: UnsafeMutablePointer<UInt32>
    let superMask: UnsafeMutablePointer<UInt32>

    init(metricCount: Int) {
        self.metricCount = metricCount
        blockValue = .allocate(capacity: metricCount * 2)
        blockValue.initialize(repeating: 0, count: metricCount * 2)
        blockOffset = .allocate(capacity: metricCount * 2)
        blockOffset.initialize(repeating: 8, count: metricCount * 2)
        groupValues = .allocate(capacity: metricCount * 2 * 16)
        groupValues.initialize(repeating: 0, count: metricCount * 2 * 16)
        superValues = .allocate(capacity: metricCount * 2 * 16)
        superValues.initialize(repeating: 0, count: metricCount * 2 * 16)
        groupMask = .allocate(capacity: metricCount)
        groupMask.initialize(repeating: 0, count: metricCount)
        superMask = .allocate(capacity: metricCount)
        superMask.initialize(repeating: 0, count: metricCount)
    }

    func reset() {
        blockOffset.update(repeating: 8, count: metricCount * 2)
        groupMask.update(repeating: 0, count: metricCount)
        superMask.update(repeating: 0, count: metricCount)
    }

    func deallocate() {
        blockValue.deallocate()
        blockOffset.deallocate()
        groupValues.deallocate()
        superValues.deallocate()
        groupMask.deallocate()
        superMask.deallocate()
    }
}

/// Max or min: which of two values wins. Among equal values the later sample wins, so a
/// window's reported maximum is its newest occurrence.
@inline(__always) func beats(_ a: UInt64, _ b: UInt64, max: Bool) -> Bool { max ? a >= b : a <= b }
