import SampleModel

/// Resolving a window's times to runs of held samples, and its statistics.
extension SampleStore {
    /// Statistics of every metric over the samples `spec` selects.
    ///
    /// A sample taken at t stands for the time since the sample before it (`intervalStart`:
    /// (t − interval, t] for the first). `.seconds` and `.samples` end at the newest sample and
    /// are measured on the timeline (immune to wall-clock steps); `.range` holds every sample
    /// whose interval overlaps (from, to] on the wall clock, in every run (see `TimeIndex`).
    /// `covered` says the history held all of the window: nothing of it lies before the oldest
    /// held sample, after the newest, or in a gap while the daemon was down.
    func window(_ spec: WindowSpec) -> WindowResult {
        var result = WindowResult(spec: spec, sampleCount: 0, fromSequence: nil, toSequence: nil, fromGeneration: nil,
                                  toGeneration: nil, covered: false, stats: [WindowStats?](repeating: nil, count: Metric.count))
        guard !isEmpty else { return result }
        var segments: [ClosedRange<Int>] = []
        switch spec {
        case .samples(let n):
            guard n > 0 else { return result }
            segments = [Swift.max(oldest, next - n)...newest]
            result.covered = n <= count
        case .seconds(let seconds):
            guard seconds > 0 else { return result }
            let span = Self.nanos(seconds)
            let newestTime = slot(newest).timeline
            let start = newestTime > span ? newestTime - span : 0
            let first = partition(oldest...newest) { $0.timeline > start }
            guard first <= newest else { return result }
            segments = [first...newest]
            let startHeld = slot(first).timeline &- Swift.min(intervalNanos, slot(first).timeline) <= start
                || (first > oldest && !time.followsGap(first))
            result.covered = startHeld && !(first < newest && time.hasGap(in: (first + 1)...newest))
        case .range(let from, let to):
            guard from <= to else { return result }
            let interval = Int64(clamping: intervalNanos)
            for run in time.runs(oldest: oldest, newest: newest) {
                // Within a run wall times do not decrease: the run's span is its ends.
                let runFirst = slot(run.lowerBound).wall, runLast = slot(run.upperBound).wall
                guard runLast > from, runFirst &- interval < to else { continue }
                let a = partition(run) { $0.wall > from }
                // The last sample whose interval begins before `to`: the first taken at or after
                // `to`, if its interval reaches back before it (it always does when it follows
                // the sample before it), else the one before.
                var b = partition(run) { $0.wall >= to }
                if b > run.upperBound || intervalStart(b, in: run) >= to { b -= 1 }
                guard a <= b else { continue }
                segments.append(a...b)
                let startHeld = slot(a).wall &- interval <= from || (a > run.lowerBound && !time.followsGap(a))
                let endHeld = slot(b).wall >= to || (b < run.upperBound && !time.followsGap(b + 1))
                if startHeld, endHeld, !(a < b && time.hasGap(in: (a + 1)...b)) { result.covered = true }
            }
        }
        guard !segments.isEmpty else { return result }
        var first = Int.max, last = Int.min
        withUnsafeTemporaryAllocation(of: WindowEntry.self, capacity: metricCount) { buffer in
            let acc = buffer.baseAddress!
            acc.initialize(repeating: WindowEntry(), count: metricCount)
            for segment in segments {
                accumulate(segment.lowerBound, segment.upperBound, into: acc)
                result.sampleCount += segment.count
                first = Swift.min(first, segment.lowerBound)
                last = Swift.max(last, segment.upperBound)
            }
            let newestSlot = slot(last)
            for m in 0..<metricCount {
                let e = acc[m]
                guard e.count > 0, e.maxAt >= 0, let id = metricIDs[m] else { continue }
                let codec = codecs[m]
                let maxSlot = slot(e.maxAt)
                let present = Int(e.count)
                result.stats[id] = WindowStats(
                    max: codec.decode(e.maxValue), maxSequence: maxSlot.sequence, maxWallNanos: maxSlot.wall,
                    min: codec.decode(e.minValue), average: codec.decode(sum: e.sum) / Double(present),
                    last: newestSlot.isPresent(m, layout) ? codec.decode(units(last, m)) : nil, count: present)
            }
        }
        let firstSlot = slot(first), lastSlot = slot(last)
        result.fromSequence = firstSlot.sequence
        result.toSequence = lastSlot.sequence
        result.fromGeneration = firstSlot.generation
        result.toGeneration = lastSlot.generation
        return result
    }

    /// Where held sample `i`'s interval begins on the wall clock. A sample stands for the time
    /// since the sample before it, as its interval peak does: (t_prev, t], so that consecutive
    /// samples cover the wall clock without a hole at a late tick or an overlap at the early one
    /// after it. Only where the wall clock stepped forward between them (it moved more than the
    /// timeline did, by over half an interval) does the interval end at the timeline's length
    /// before t: the skipped wall time is nobody's. The first sample of a run (the oldest held,
    /// or the first after a backward step) stands for (t − interval, t]; the first after a gap
    /// (the daemon was down) for at most that. Never before the sample before it, so interval
    /// starts do not decrease along a run.
    @inline(__always) func intervalStart(_ i: Int, in run: ClosedRange<Int>) -> Int64 {
        let s = slot(i)
        let interval = Int64(clamping: intervalNanos)
        guard i > run.lowerBound else { return s.wall &- interval }
        let previous = slot(i - 1)
        let reach = time.followsGap(i)
            ? interval
            : Int64(clamping: s.timeline &- previous.timeline) &+ interval / 2
        return Swift.max(previous.wall, s.wall &- reach)
    }

    /// Seconds as nanoseconds, saturating.
    static func nanos(_ seconds: Double) -> UInt64 {
        seconds * 1e9 >= Double(UInt64.max) ? UInt64.max : UInt64(Swift.max(0, seconds * 1e9))
    }

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
    func scan(_ a: Int, _ b: Int, into acc: UnsafeMutablePointer<WindowEntry>) {
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
    func planBlocks(_ x: Int, _ y: Int, _ plan: inout LookupPlan) {
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
    func planGroups(_ x: Int, _ y: Int, _ plan: inout LookupPlan) {
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
        let t = store.extrema
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
