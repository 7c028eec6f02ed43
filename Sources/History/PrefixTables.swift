/// Sums and counts of every metric over any run of held samples, in constant time.
///
/// Slots keep each metric's running sum modulo 2^48 (`SlotLayout`). Per word of 64 samples and
/// metric this keeps the full running sum before the word (128 bits: exact for any history), the
/// present values before the word, and two bit masks: which samples have the metric, and where
/// the 48-bit running sum wrapped. The full running sum at sample i is the word's base plus the
/// slot's 48-bit sum, plus 2^48 per wrap in the word up to i, minus the base's low 48 bits: a
/// window's sum is the difference of two of those, its count the difference of two popcounts.
/// About 0.6 bytes per sample per metric.
struct PrefixTables {
    static let wordShift = 6

    let metricCount: Int
    let wordRing: Int
    /// Per word and metric: Σ of values before the word's first sample.
    let sumBase: UnsafeMutablePointer<WideSum>
    /// Per word and metric: present values before the word's first sample (wrapping).
    let countBase: UnsafeMutablePointer<UInt32>
    let presence: UnsafeMutablePointer<UInt64>
    let wraps: UnsafeMutablePointer<UInt64>

    init(metricCount: Int, slotCount: Int) {
        self.metricCount = metricCount
        wordRing = slotCount >> Self.wordShift + 3
        let n = wordRing * metricCount
        sumBase = .allocate(capacity: n)
        sumBase.initialize(repeating: WideSum(), count: n)
        countBase = .allocate(capacity: n)
        countBase.initialize(repeating: 0, count: n)
        presence = .allocate(capacity: n)
        presence.initialize(repeating: 0, count: n)
        wraps = .allocate(capacity: n)
        wraps.initialize(repeating: 0, count: n)
    }

    static func bytes(metricCount: Int, slotCount: Int) -> Int {
        (slotCount >> wordShift + 3) * metricCount * (16 + 4 + 8 + 8)
    }

    func deallocate() {
        sumBase.deallocate()
        countBase.deallocate()
        presence.deallocate()
        wraps.deallocate()
    }

    /// Entries of the word holding `sample` (add the metric).
    @inline(__always) func wordEntry(_ sample: Int) -> Int {
        ((sample >> Self.wordShift) % wordRing) &* metricCount
    }

    /// Bits of a word for samples up to and including `sample`.
    @inline(__always) static func through(_ sample: Int) -> UInt64 {
        let bit = UInt64(sample & 63)
        return bit == 63 ? ~0 : (1 << (bit + 1)) - 1
    }

    /// Bits of a word for samples before `sample`.
    @inline(__always) static func before(_ sample: Int) -> UInt64 { (1 << UInt64(sample & 63)) - 1 }

    /// Σ of a metric's values up to and including a sample, given the entry of its word and
    /// metric, `through(sample)`, and the slot's 48-bit running sum.
    @inline(__always) func sumThrough(entry e: Int, bits: UInt64, runningSum: UInt64) -> WideSum {
        let base = sumBase[e]
        let wrapsSoFar = UInt64((wraps[e] & bits).nonzeroBitCount)
        let inWord = (runningSum &+ wrapsSoFar << 48) &- (base.low & SlotLayout.valueMask)
        return base &+ WideSum(inWord)
    }

    /// Present values of a metric up to a sample: the entry of its word and metric, and the
    /// sample's `through` (it counts) or `before` (it does not) bits.
    @inline(__always) func count(entry e: Int, bits: UInt64) -> UInt32 {
        countBase[e] &+ UInt32((presence[e] & bits).nonzeroBitCount)
    }
}

/// A 128-bit running sum (the standard library's UInt128 converts through generic code that
/// costs more than a whole window here). Wrapping arithmetic; differences of sums are exact.
struct WideSum: Equatable {
    var low: UInt64 = 0
    var high: UInt64 = 0

    init() {}

    init(_ v: UInt64) { low = v }

    @inline(__always) static func &+ (a: WideSum, b: WideSum) -> WideSum {
        let (low, carry) = a.low.addingReportingOverflow(b.low)
        var r = WideSum()
        r.low = low
        r.high = a.high &+ b.high &+ (carry ? 1 : 0)
        return r
    }

    @inline(__always) static func &- (a: WideSum, b: WideSum) -> WideSum {
        let (low, borrow) = a.low.subtractingReportingOverflow(b.low)
        var r = WideSum()
        r.low = low
        r.high = a.high &- b.high &- (borrow ? 1 : 0)
        return r
    }

    @inline(__always) static func &+= (a: inout WideSum, b: WideSum) { a = a &+ b }

    var doubleValue: Double { high == 0 ? Double(low) : Double(high) * 18_446_744_073_709_551_616.0 + Double(low) }
}
