import SampleModel

/// The history: a ring of slots (`SlotRegion`, in memory or in the history file) and, in
/// private memory, the tables that answer windows over any run of held samples (`PrefixTables`,
/// `ExtremaTables`, `TimeIndex`). The tables are derived from the slots alone, so adopting a
/// file rebuilds them from what the file holds and trusts nothing else in it.
///
/// Samples are numbered by a logical index that only grows; the held ones are
/// `oldest ..< next`, at most `capacity` of them, sample i in slot i mod slotCount. There is
/// one slot more than the capacity, so the slot before the oldest held sample (whose running
/// sums give the oldest sample's values) is never the one being overwritten.
///
/// Not thread-safe: `History` guards it. (Unchecked Sendable so that a store made outside the
/// lock, by reconfiguration, can be moved in, and the old one moved out to be freed.)
final class SampleStore: @unchecked Sendable {
    let region: SlotRegion
    let layout: SlotLayout
    let metricCount: Int
    let codecs: [MetricCodec]
    /// Per stored metric, the `Metric` it is (by name; nil: a metric this build does not know,
    /// in a file written by another version).
    let metricIDs: [Int?]
    let capacity: Int
    let slotCount: Int
    private(set) var intervalNanos: UInt64

    private(set) var oldest = 0
    private(set) var next = 0
    /// The logical index kept in physical slot 0 in the ring's current lap: slots are found by a
    /// subtraction, not a division (this is on every path).
    private var lapStart = 0
    /// The logical index of the sample that started the history, whose running sums start at
    /// zero (Int.min once it is not held, or when the history was adopted without it).
    private var originIndex = Int.min
    /// CLOCK_MONOTONIC + this = the timeline kept in slots (see `FileHeader`).
    private(set) var timelineOffset: Int64 = 0
    /// The next sample is the first after a restart (set on adoption).
    var restartPending = false
    /// The header of the file the slots are in (nil: memory).
    var fileHeader: FileHeader?
    /// Values that could not be kept (`MetricCodec`), per metric, since the store was made.
    private(set) var unrepresentable: [Int]
    /// Samples dropped because their sequence did not follow the newest one's.
    private(set) var outOfOrder = 0

    private let prefix: PrefixTables
    private let extrema: ExtremaTables
    private let scratch: ExtremaScratch
    private(set) var time = TimeIndex()
    /// Per metric: the newest sample's 48-bit running sum, full running sum and present count.
    private let newestRunning: UnsafeMutablePointer<UInt64>
    private let fullSum: UnsafeMutablePointer<WideSum>
    private let presentCount: UnsafeMutablePointer<UInt32>
    /// The first logical index the tables were built from (units before it are not held).
    private var firstIndexed = 0

    var count: Int { next - oldest }
    var isEmpty: Bool { next == oldest }
    var newest: Int { next - 1 }

    /// Bytes a store of `capacity` samples of `metricCount` metrics takes: its slots (in the
    /// file, or in memory without one) plus its tables in private memory.
    static func bytes(capacity: Int, metricCount: Int = Metric.count) -> Int {
        let slots = capacity + 1
        return FileHeader.size + slots * SlotLayout(metricCount: metricCount).size
            + PrefixTables.bytes(metricCount: metricCount, slotCount: slots)
            + ExtremaTables.bytes(metricCount: metricCount, slotCount: slots)
    }

    /// An empty store over `region` (whose slots are zero or are about to be adopted).
    init(region: SlotRegion, capacity: Int, intervalNanos: UInt64, codecs: [MetricCodec], metricIDs: [Int?]) {
        precondition(capacity >= 1 && region.slotCount == capacity + 1 && codecs.count == region.layout.metricCount
                     && metricIDs.count == codecs.count)
        self.region = region
        layout = region.layout
        metricCount = layout.metricCount
        self.codecs = codecs
        self.metricIDs = metricIDs
        self.capacity = capacity
        slotCount = region.slotCount
        self.intervalNanos = intervalNanos
        unrepresentable = [Int](repeating: 0, count: metricCount)
        prefix = PrefixTables(metricCount: metricCount, slotCount: slotCount)
        extrema = ExtremaTables(metricCount: metricCount, slotCount: slotCount)
        scratch = ExtremaScratch(metricCount: metricCount)
        newestRunning = .allocate(capacity: metricCount)
        newestRunning.initialize(repeating: 0, count: metricCount)
        fullSum = .allocate(capacity: metricCount)
        fullSum.initialize(repeating: WideSum(), count: metricCount)
        presentCount = .allocate(capacity: metricCount)
        presentCount.initialize(repeating: 0, count: metricCount)
        // Logical indices start one ring in, so that i − 1 is never negative.
        oldest = slotCount
        next = slotCount
        lapStart = slotCount
    }

    /// A store of this build's metrics over `region`.
    convenience init(region: SlotRegion, capacity: Int, intervalNanos: UInt64) {
        self.init(region: region, capacity: capacity, intervalNanos: intervalNanos,
                  codecs: Metric.allCases.map(MetricCodec.init), metricIDs: Metric.allCases.map(\.rawValue))
    }

    /// A store in anonymous memory.
    static func inMemory(capacity: Int, intervalNanos: UInt64) throws(HistoryStoreError) -> SampleStore {
        let region = try SlotRegion(layout: SlotLayout(metricCount: Metric.count), slotCount: capacity + 1)
        return SampleStore(region: region, capacity: capacity, intervalNanos: intervalNanos)
    }

    deinit {
        prefix.deallocate()
        extrema.deallocate()
        scratch.deallocate()
        newestRunning.deallocate()
        fullSum.deallocate()
        presentCount.deallocate()
    }

    func setInterval(_ nanos: UInt64) { intervalNanos = nanos }

    func setTimelineOffset(_ offset: Int64) { timelineOffset = offset }

    /// The physical slot of logical index `i`, for i in newest − slotCount + 1 … newest + 1.
    @inline(__always) func physical(_ i: Int) -> Int {
        let p = i &- lapStart
        return p >= 0 ? (p < slotCount ? p : p &- slotCount) : p &+ slotCount
    }

    @inline(__always) func slot(_ i: Int) -> SlotPointer { region.slot(physical(i)) }

    /// Sample `i`'s value of metric `m` in units (0 when absent; see `SlotPointer.isPresent`).
    @inline(__always) func units(_ i: Int, _ m: Int) -> UInt64 {
        let p = physical(i)
        let here = region.slot(p).runningSum(m, layout)
        if i == originIndex { return here }
        return (here &- region.slot(p == 0 ? slotCount &- 1 : p &- 1).runningSum(m, layout)) & SlotLayout.valueMask
    }

    // MARK: - Appending

    /// Keeps `sample` as the newest, dropping the oldest when full. Returns false (and keeps
    /// nothing) if its sequence does not follow the newest one's.
    @discardableResult
    func append(_ sample: Sample) -> Bool { append(sample, timeline: nil, restart: false) }

    /// A held sample of another store, with its timeline and restart mark.
    struct Copy {
        var sample: Sample
        var restart: Bool
    }

    func append(_ copy: Copy) { _ = append(copy.sample, timeline: copy.sample.monoNanos, restart: copy.restart) }

    /// Held samples with a sequence greater than `since`, as copies for another store.
    func copies(after since: UInt64, limit: Int) -> [Copy] {
        guard !isEmpty, limit > 0 else { return [] }
        let first = partition(oldest...newest) { $0.sequence > since }
        return (first..<Swift.min(next, first + limit)).map { Copy(sample: sample(at: $0), restart: slot($0).flags.contains(.restart)) }
    }

    /// `timeline`: the sample's `monoNanos` is already a timeline value (a copy).
    private func append(_ sample: Sample, timeline given: UInt64?, restart: Bool) -> Bool {
        let i = next
        var flags: SlotFlags = []
        var timeline = given ?? UInt64(bitPattern: Int64(bitPattern: sample.monoNanos) &+ timelineOffset)
        if isEmpty {
            flags.insert(.origin)
        } else {
            let previous = slot(i - 1)
            guard sample.sequence > previous.sequence else {
                outOfOrder += 1
                return false
            }
            // The timeline never goes back (a clock that did would break the searches on it).
            if timeline < previous.timeline {
                if given == nil { timelineOffset &+= Int64(bitPattern: previous.timeline &- timeline) }
                timeline = previous.timeline
            }
        }
        if (restartPending || restart), !isEmpty { flags.insert(.restart) }
        restartPending = false
        // The slot about to be written holds the oldest sample's predecessor: drop the oldest first.
        let full = count == capacity
        if full { oldest += 1 }
        if i - lapStart >= slotCount { lapStart += slotCount }

        let s = slot(i)
        s.store(sample.sequence, SlotLayout.sequenceOffset)
        s.store(sample.wallNanos, SlotLayout.wallOffset)
        s.store(timeline, SlotLayout.timelineOffset)
        s.store(sample.generation, SlotLayout.generationOffset)
        s.store(flags.rawValue, SlotLayout.flagsOffset)
        let values = sample.values.storage
        let origin = flags.contains(.origin)
        var presenceByte: UInt8 = 0
        for m in 0..<metricCount {
            var units: UInt64 = 0
            if let id = metricIDs[m], !values[id].isNaN {
                if let u = codecs[m].encode(values[id]) {
                    units = u
                    presenceByte |= 1 << UInt8(m & 7)
                } else {
                    unrepresentable[m] += 1
                }
            }
            let base = origin ? 0 : newestRunning[m]
            s.setRunningSum((base &+ units) & SlotLayout.valueMask, m, layout)
            if m & 7 == 7 || m == metricCount - 1 {
                s.raw.storeBytes(of: presenceByte, toByteOffset: layout.presenceOffset + m >> 3, as: UInt8.self)
                presenceByte = 0
            }
        }
        s.seal(layout, index: physical(i), salt: region.salt)
        index(i, first: origin)
        if full {
            time.drop(before: oldest)
            if originIndex < oldest { originIndex = Int.min }
        }
        return true
    }

    /// Before adopting: the logical index the newest adopted sample will have.
    func prepareAdoption(newest: Int) {
        lapStart = newest - newest % slotCount
    }

    /// Adds held sample `i` (already in its slot) to the tables. `first`: the first sample the
    /// tables hold (a new history, or the oldest sample of an adopted one); its values are its
    /// running sums minus its predecessor's (zero for the origin of a history).
    func index(_ i: Int, first: Bool) {
        let s = slot(i)
        let wall = s.wall
        let previous = slot(i - 1)
        if first {
            firstIndexed = i
            oldest = i
            scratch.reset()
            time.reset()
            let origin = s.flags.contains(.origin)
            if origin { originIndex = i }
            for m in 0..<metricCount { newestRunning[m] = origin ? 0 : previous.runningSum(m, layout) }
        }
        let gap = !first && s.flags.contains(.restart) && s.timeline &- previous.timeline > intervalNanos
        time.add(i, wall: wall, previousWall: first ? nil : previous.wall, gap: gap)
        next = i + 1

        let wordStart = first || i & 63 == 0
        let blockStart = first || i & 7 == 0
        let bit: UInt64 = 1 << UInt64(i & 63)
        let offsetInBlock = UInt8(i & 7)
        let word = prefix.wordEntry(i)
        for m in 0..<metricCount {
            let running = s.runningSum(m, layout)
            let before = newestRunning[m]
            let units = (running &- before) & SlotLayout.valueMask
            let e = word &+ m
            if wordStart {
                prefix.sumBase[e] = first ? WideSum(before) : fullSum[m]
                if first { fullSum[m] = WideSum(before) }
                prefix.countBase[e] = presentCount[m]
                prefix.presence[e] = 0
                prefix.wraps[e] = 0
            }
            if running < before { prefix.wraps[e] |= bit }
            fullSum[m] &+= WideSum(units)
            newestRunning[m] = running
            let mx = m &* 2, mn = mx &+ 1
            if blockStart {
                scratch.blockOffset[mx] = 8
                scratch.blockOffset[mn] = 8
            }
            guard s.isPresent(m, layout) else { continue }
            prefix.presence[e] |= bit
            presentCount[m] &+= 1
            if scratch.blockOffset[mx] == 8 || units >= scratch.blockValue[mx] {
                scratch.blockValue[mx] = units
                scratch.blockOffset[mx] = offsetInBlock
            }
            if scratch.blockOffset[mn] == 8 || units <= scratch.blockValue[mn] {
                scratch.blockValue[mn] = units
                scratch.blockOffset[mn] = offsetInBlock
            }
        }
        if i & 7 == 7 { finishBlock(i >> ExtremaTables.blockShift) }
    }

    /// Pushes `value` of unit `j` onto a 16-unit stack (mask `bits`, values `values[0..<16]`),
    /// popping the older units it beats.
    @inline(__always)
    private func push(_ value: UInt64, at j: Int, onto bits: UInt32, _ values: UnsafeMutablePointer<UInt64>, max: Bool) -> UInt32 {
        var bits = bits
        while bits != 0 {
            let top = 31 - bits.leadingZeroBitCount
            guard beats(value, values[top], max: max) else { break }
            bits &= ~(1 << UInt32(top))
        }
        values[j] = value
        return bits | 1 << UInt32(j)
    }

    private func finishBlock(_ block: Int) {
        let j = block & (ExtremaTables.blocksPerGroup - 1)
        let entry = extrema.blockEntry(block)
        for m in 0..<metricCount {
            let mx = m &* 2, mn = mx &+ 1
            let maxOffset = scratch.blockOffset[mx], minOffset = scratch.blockOffset[mn]
            extrema.blockWhere[entry &+ m] = (maxOffset == 8 ? 0xF : maxOffset) | (minOffset == 8 ? 0xF : minOffset) << 4
            let mask = j == 0 ? 0 : scratch.groupMask[m]
            var maxBits = mask & 0xFFFF, minBits = mask >> 16
            if maxOffset != 8 {
                maxBits = push(scratch.blockValue[mx], at: j, onto: maxBits, scratch.groupValues + mx * 16, max: true)
                minBits = push(scratch.blockValue[mn], at: j, onto: minBits, scratch.groupValues + mn * 16, max: false)
            }
            let both = maxBits | minBits << 16
            scratch.groupMask[m] = both
            extrema.blockMasks[entry &+ m] = both
        }
        if j == ExtremaTables.blocksPerGroup - 1 { finishGroup(block >> ExtremaTables.groupShift) }
    }

    private func finishGroup(_ group: Int) {
        let j = group & (ExtremaTables.groupsPerSuper - 1)
        let entry = extrema.groupEntry(group)
        let firstBlock = extrema.blockEntry(group << ExtremaTables.groupShift)
        for m in 0..<metricCount {
            let mx = m &* 2, mn = mx &+ 1
            let mask = scratch.groupMask[m]
            let mask2 = j == 0 ? 0 : scratch.superMask[m]
            var maxBits = mask2 & 0xFFFF, minBits = mask2 >> 16
            var place: UInt16 = 0xFFFF
            if mask & 0xFFFF != 0 {
                let bMax = (mask & 0xFFFF).trailingZeroBitCount, bMin = (mask >> 16).trailingZeroBitCount
                let whereMax = extrema.blockWhere[firstBlock &+ bMax &* metricCount &+ m] & 0xF
                let whereMin = extrema.blockWhere[firstBlock &+ bMin &* metricCount &+ m] >> 4
                place = UInt16(bMax << 3 | Int(whereMax)) | UInt16(bMin << 3 | Int(whereMin)) << 8
                let maxValue = scratch.groupValues[mx * 16 + bMax], minValue = scratch.groupValues[mn * 16 + bMin]
                extrema.groupValue[(entry &+ m) &* 2] = maxValue
                extrema.groupValue[(entry &+ m) &* 2 &+ 1] = minValue
                maxBits = push(maxValue, at: j, onto: maxBits, scratch.superValues + mx * 16, max: true)
                minBits = push(minValue, at: j, onto: minBits, scratch.superValues + mn * 16, max: false)
            }
            extrema.groupWhere[entry &+ m] = place
            let both = maxBits | minBits << 16
            scratch.superMask[m] = both
            extrema.groupMasks[entry &+ m] = both
        }
        if j == ExtremaTables.groupsPerSuper - 1 { finishSuper(group >> ExtremaTables.superShift) }
    }

    private func finishSuper(_ s: Int) {
        let firstGroup = extrema.groupEntry(s << ExtremaTables.superShift)
        let level0 = extrema.sparseEntry(0, s)
        for m in 0..<metricCount {
            let mx = m &* 2, mn = mx &+ 1
            let mask = scratch.superMask[m]
            let e = level0 &+ m
            guard mask & 0xFFFF != 0 else {
                extrema.sparseAt[e] = ExtremaTables.none32
                continue
            }
            let gMax = (mask & 0xFFFF).trailingZeroBitCount, gMin = (mask >> 16).trailingZeroBitCount
            extrema.sparseAt[e] = UInt32(gMax << 7 | Int(extrema.groupWhere[firstGroup &+ gMax &* metricCount &+ m] & 0xFF))
            extrema.sparseValue[e &* 2] = scratch.superValues[mx * 16 + gMax]
            extrema.sparseValue[e &* 2 &+ 1] = scratch.superValues[mn * 16 + gMin]
        }
        // Spans of 2^k supergroups ending with this one, while every sample in them is held.
        var k = 1
        while k < extrema.levels {
            let start = s - (1 << k) + 1
            guard start << 11 >= oldest, start << 11 >= firstIndexed else { break }
            let half = start + 1 << (k - 1)
            let lower = extrema.sparseEntry(k - 1, start), upper = extrema.sparseEntry(k - 1, half)
            let target = extrema.sparseEntry(k, start)
            for m in 0..<metricCount {
                let a = extrema.sparseAt[lower &+ m], b = extrema.sparseAt[upper &+ m]
                let t = target &+ m
                switch (a == ExtremaTables.none32, b == ExtremaTables.none32) {
                case (true, true):
                    extrema.sparseAt[t] = ExtremaTables.none32
                case (false, true), (true, false):
                    let (from, offset) = a == ExtremaTables.none32 ? (upper &+ m, UInt32((half - start) << 11) &+ b) : (lower &+ m, a)
                    extrema.sparseAt[t] = offset
                    extrema.sparseValue[t &* 2] = extrema.sparseValue[from &* 2]
                    extrema.sparseValue[t &* 2 &+ 1] = extrema.sparseValue[from &* 2 &+ 1]
                case (false, false):
                    // The later span wins ties: its maximum is the newer.
                    let maxA = extrema.sparseValue[(lower &+ m) &* 2], maxB = extrema.sparseValue[(upper &+ m) &* 2]
                    let minA = extrema.sparseValue[(lower &+ m) &* 2 &+ 1], minB = extrema.sparseValue[(upper &+ m) &* 2 &+ 1]
                    if maxB >= maxA {
                        extrema.sparseAt[t] = UInt32((half - start) << 11) &+ b
                        extrema.sparseValue[t &* 2] = maxB
                    } else {
                        extrema.sparseAt[t] = a
                        extrema.sparseValue[t &* 2] = maxA
                    }
                    extrema.sparseValue[t &* 2 &+ 1] = Swift.min(minA, minB)
                }
            }
            k += 1
        }
    }

    // MARK: - Reading

    func sample(at i: Int) -> Sample {
        let s = slot(i)
        var values = MetricValues()
        for m in 0..<metricCount where s.isPresent(m, layout) {
            guard let id = metricIDs[m] else { continue }
            values.storage[id] = codecs[m].decode(units(i, m))
        }
        return Sample(sequence: s.sequence, wallNanos: s.wall, monoNanos: s.timeline, generation: s.generation, values: values)
    }

    /// The first held index in `range` for which `isAfter` (false then true along the range) holds.
    func partition(_ range: ClosedRange<Int>, _ isAfter: (SlotPointer) -> Bool) -> Int {
        var lo = range.lowerBound, hi = range.upperBound + 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if isAfter(slot(mid)) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// Samples with a sequence greater than `since`, oldest first, at most `limit`.
    /// `truncated` is true when samples after `since` were already dropped from the ring.
    func samples(after since: UInt64, limit: Int) -> (samples: [Sample], truncated: Bool) {
        guard !isEmpty, limit > 0 else { return ([], false) }
        let first = partition(oldest...newest) { $0.sequence > since }
        let truncated = first == oldest && slot(oldest).sequence > since &+ 1 && since != 0
        let end = Swift.min(next, first + limit)
        return ((first..<end).map { sample(at: $0) }, truncated)
    }

    // MARK: - Windows

    /// Statistics of every metric over held samples `a...b`, merged into `acc`.
    ///
    /// Sums and counts come from two prefix entries each. Extremes: the samples of `a`'s and
    /// `b`'s blocks in the run are read (at most 2 × 8); the whole blocks between are a handful
    /// of table lookups (`ExtremaTables`), planned once for all metrics. Candidates are offered
    /// in time order, so the later of equal values wins without comparing positions.
    func accumulate(_ a: Int, _ b: Int, into acc: UnsafeMutablePointer<WindowEntry>) {
        let sa = slot(a), sb = slot(b)
        let wa = prefix.wordEntry(a), wb = prefix.wordEntry(b)
        let throughA = PrefixTables.through(a), beforeA = PrefixTables.before(a), throughB = PrefixTables.through(b)
        for m in 0..<metricCount {
            let counted = prefix.count(entry: wb &+ m, bits: throughB) &- prefix.count(entry: wa &+ m, bits: beforeA)
            acc[m].count &+= counted
            guard counted > 0 else { continue }
            let before = prefix.sumThrough(entry: wa &+ m, bits: throughA, runningSum: sa.runningSum(m, layout)) &- WideSum(units(a, m))
            acc[m].sum &+= prefix.sumThrough(entry: wb &+ m, bits: throughB, runningSum: sb.runningSum(m, layout)) &- before
        }
        let firstBlock = a >> ExtremaTables.blockShift, lastBlock = b >> ExtremaTables.blockShift
        scan(a, Swift.min(b, firstBlock << ExtremaTables.blockShift | 7), into: acc)
        guard lastBlock > firstBlock else { return }
        if lastBlock - firstBlock >= 2 {
            var plan = LookupPlan()
            planBlocks(firstBlock + 1, lastBlock - 1, &plan)
            plan.offer(metricCount, from: self, into: acc)
        }
        scan(lastBlock << ExtremaTables.blockShift, b, into: acc)
    }

    /// Max and min of held samples `a...b` by reading them, oldest first. Each row's running sums
    /// are kept for the next row's differences.
    private func scan(_ a: Int, _ b: Int, into acc: UnsafeMutablePointer<WindowEntry>) {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: metricCount) { buffer in
            let previous = buffer.baseAddress!
            if a == originIndex {
                previous.initialize(repeating: 0, count: metricCount)
            } else {
                let before = slot(a - 1)
                for m in 0..<metricCount { previous[m] = before.runningSum(m, layout) }
            }
            for i in a...b {
                let s = slot(i)
                for m in 0..<metricCount {
                    let running = s.runningSum(m, layout)
                    if s.isPresent(m, layout) { acc[m].offer((running &- previous[m]) & SlotLayout.valueMask, at: i) }
                    previous[m] = running
                }
            }
        }
    }

    /// The lookups for whole blocks x...y (x ≤ y), in time order.
    private func planBlocks(_ x: Int, _ y: Int, _ plan: inout LookupPlan) {
        let gx = x >> ExtremaTables.groupShift, gy = y >> ExtremaTables.groupShift
        let groupStart = { (g: Int) in self.extrema.blockEntry(g << ExtremaTables.groupShift) }
        if gx == gy {
            plan.add(.block, mask: extrema.blockEntry(y), whereBase: groupStart(gx), firstSample: gx << 7, fromBit: x & 15)
            return
        }
        plan.add(.block, mask: extrema.blockEntry(gx << ExtremaTables.groupShift | 15), whereBase: groupStart(gx), firstSample: gx << 7, fromBit: x & 15)
        if gy - gx >= 2 { planGroups(gx + 1, gy - 1, &plan) }
        plan.add(.block, mask: extrema.blockEntry(y), whereBase: groupStart(gy), firstSample: gy << 7, fromBit: 0)
    }

    /// The lookups for whole groups x...y (x ≤ y), in time order.
    private func planGroups(_ x: Int, _ y: Int, _ plan: inout LookupPlan) {
        let sx = x >> ExtremaTables.superShift, sy = y >> ExtremaTables.superShift
        let superStart = { (s: Int) in self.extrema.groupEntry(s << ExtremaTables.superShift) }
        if sx == sy {
            plan.add(.group, mask: extrema.groupEntry(y), whereBase: superStart(sx), firstSample: sx << 11, fromBit: x & 15)
            return
        }
        plan.add(.group, mask: extrema.groupEntry(sx << ExtremaTables.superShift | 15), whereBase: superStart(sx), firstSample: sx << 11, fromBit: x & 15)
        if sy - sx >= 2 {
            let lo = sx + 1, hi = sy - 1
            let k = Int.bitWidth - 1 - (hi - lo + 1).leadingZeroBitCount
            plan.add(.sparse, mask: extrema.sparseEntry(k, lo), whereBase: 0, firstSample: lo << 11, fromBit: 0)
            let second = hi - (1 << k) + 1
            plan.add(.sparse, mask: extrema.sparseEntry(k, second), whereBase: 0, firstSample: second << 11, fromBit: 0)
        }
        plan.add(.group, mask: extrema.groupEntry(y), whereBase: superStart(sy), firstSample: sy << 11, fromBit: 0)
    }

    /// What `LookupPlan` reads.
    var tables: ExtremaTables { extrema }
}

/// The table lookups covering a window's whole blocks, in time order: at most six (a block
/// mask, a group mask, two sparse entries, a group mask, a block mask), the same for every metric.
struct LookupPlan {
    enum Kind { case block, group, sparse }
    struct Lookup {
        var kind: Kind
        /// Entry (times metrics) of the mask, or of the sparse span.
        var mask: Int
        /// Entry (times metrics) of the first unit of the mask's group, for the `where` tables.
        var whereBase: Int
        /// Logical index of the first sample of the mask's group, or of the span.
        var firstSample: Int
        /// Mask bits below this unit are outside the window.
        var keep: UInt32
    }

    private var lookups: (Lookup, Lookup, Lookup, Lookup, Lookup, Lookup)
    private var count = 0

    init() {
        let none = Lookup(kind: .block, mask: 0, whereBase: 0, firstSample: 0, keep: 0)
        lookups = (none, none, none, none, none, none)
    }

    mutating func add(_ kind: Kind, mask: Int, whereBase: Int, firstSample: Int, fromBit: Int) {
        let l = Lookup(kind: kind, mask: mask, whereBase: whereBase, firstSample: firstSample, keep: ~((1 << UInt32(fromBit)) - 1))
        withUnsafeMutableBytes(of: &lookups) { $0.storeBytes(of: l, toByteOffset: count * MemoryLayout<Lookup>.stride, as: Lookup.self) }
        count += 1
    }

    func offer(_ metrics: Int, from store: SampleStore, into acc: UnsafeMutablePointer<WindowEntry>) {
        let t = store.tables
        withUnsafeBytes(of: lookups) { raw in
            for k in 0..<count {
                let l = raw.load(fromByteOffset: k * MemoryLayout<Lookup>.stride, as: Lookup.self)
                switch l.kind {
                case .block:
                    for m in 0..<metrics {
                        let both = t.blockMasks[l.mask &+ m]
                        guard both & 0xFFFF & l.keep != 0 else { continue }
                        let jMax = (both & 0xFFFF & l.keep).trailingZeroBitCount, jMin = (both >> 16 & l.keep).trailingZeroBitCount
                        let whereMax = Int(t.blockWhere[l.whereBase &+ jMax &* metrics &+ m] & 0xF)
                        let whereMin = Int(t.blockWhere[l.whereBase &+ jMin &* metrics &+ m] >> 4)
                        let iMax = l.firstSample &+ jMax << 3 &+ whereMax, iMin = l.firstSample &+ jMin << 3 &+ whereMin
                        acc[m].offerMax(store.units(iMax, m), at: iMax)
                        acc[m].offerMin(store.units(iMin, m))
                    }
                case .group:
                    for m in 0..<metrics {
                        let both = t.groupMasks[l.mask &+ m]
                        guard both & 0xFFFF & l.keep != 0 else { continue }
                        let jMax = (both & 0xFFFF & l.keep).trailingZeroBitCount, jMin = (both >> 16 & l.keep).trailingZeroBitCount
                        let eMax = l.whereBase &+ jMax &* metrics &+ m
                        let v = t.groupValue[eMax &* 2]
                        if acc[m].wouldTakeMax(v) {
                            acc[m].offerMax(v, at: l.firstSample &+ jMax << 7 &+ Int(t.groupWhere[eMax] & 0xFF))
                        }
                        acc[m].offerMin(t.groupValue[(l.whereBase &+ jMin &* metrics &+ m) &* 2 &+ 1])
                    }
                case .sparse:
                    for m in 0..<metrics {
                        let at = t.sparseAt[l.mask &+ m]
                        guard at != ExtremaTables.none32 else { continue }
                        acc[m].offerMax(t.sparseValue[(l.mask &+ m) &* 2], at: l.firstSample &+ Int(at))
                        acc[m].offerMin(t.sparseValue[(l.mask &+ m) &* 2 &+ 1])
                    }
                }
            }
        }
    }
}

/// One metric's statistics while a window is being resolved. Candidates arrive in time order,
/// so a later equal value replaces an earlier maximum: the newest occurrence is reported.
struct WindowEntry {
    var count: UInt32 = 0
    var sum = WideSum()
    var maxValue: UInt64 = 0
    var maxAt = -1
    var minValue: UInt64 = 0
    var hasValue = false

    /// A value of sample `i`, read from its slot (both directions).
    @inline(__always) mutating func offer(_ v: UInt64, at i: Int) {
        offerMax(v, at: i)
        offerMin(v)
    }

    @inline(__always) func wouldTakeMax(_ v: UInt64) -> Bool { !hasValue || v >= maxValue }

    @inline(__always) mutating func offerMax(_ v: UInt64, at i: Int) {
        if !hasValue || v >= maxValue { maxValue = v; maxAt = i }
        if !hasValue { minValue = v; hasValue = true }
    }

    @inline(__always) mutating func offerMin(_ v: UInt64) {
        if !hasValue || v <= minValue { minValue = v }
    }
}
