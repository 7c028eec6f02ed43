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
    var lapStart = 0
    /// The logical index of the sample that started the history, whose running sums start at
    /// zero (Int.min once it is not held, or when the history was adopted without it).
    var originIndex = Int.min
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

    let prefix: PrefixTables
    let extrema: ExtremaTables
    let scratch: ExtremaScratch
    private(set) var time = TimeIndex()
    /// Per metric: the newest sample's 48-bit running sum, full running sum and present count.
    let newestRunning: UnsafeMutablePointer<UInt64>
    let fullSum: UnsafeMutablePointer<WideSum>
    let presentCount: UnsafeMutablePointer<UInt32>
    /// The first logical index the tables were built from (units before it are not held).
    var firstIndexed = 0

    var count: Int { next - oldest }
    var isEmpty: Bool { next == oldest }
    var newest: Int { next - 1 }

    /// Bytes a store of `capacity` samples of `metricCount` metrics takes: its slots (in the
    /// file, or in memory without one) plus its tables in private memory.
    static func bytes(capacity: Int, metricCount: Int = Metric.count) -> Int {
        FileHeader.size + (capacity + 1) * SlotLayout(metricCount: metricCount).size + tableBytes(capacity: capacity, metricCount: metricCount)
    }

    /// Bytes of the tables alone: private memory wherever the slots are.
    static func tableBytes(capacity: Int, metricCount: Int = Metric.count) -> Int {
        PrefixTables.bytes(metricCount: metricCount, slotCount: capacity + 1)
            + ExtremaTables.bytes(metricCount: metricCount, slotCount: capacity + 1)
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
}
