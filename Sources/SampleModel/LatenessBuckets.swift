/// The latenesses of the most recent ticks as counts in fixed log-linear buckets, so recording a
/// tick and asking for a percentile each cost a bounded amount of work whatever the history
/// (a health probe must be the cheapest request; sorting 4,096 values per call was not).
///
/// Buckets: values below 16 ns each have their own; above, every power of two [2^e, 2^(e+1)) is
/// cut into 16 equal buckets. A percentile is reported as the middle of its bucket, so it is
/// within 1/32 (3.125 %) of the exact nearest-rank percentile of the same ticks: the bucket
/// holding a value t ≥ 2^e is 2^e / 16 wide, and half of that is at most t / 32.
struct LatenessBuckets: Sendable, Equatable {
    /// How many recent ticks the percentiles describe.
    static let recentCapacity = 4096
    static let subBucketBits = 4
    static let subBuckets = 1 << subBucketBits
    /// 16 exact buckets, then 16 per power of two from 2^4 to 2^63.
    static let bucketCount = subBuckets + (64 - subBucketBits) * subBuckets

    /// Ticks per bucket among the recent ones (at most `recentCapacity`, so 16 bits suffice).
    private var counts: [UInt16] = []
    /// Ticks per group of `subBuckets` consecutive buckets: a percentile skips whole groups, so it
    /// looks at no more than `groupCount + subBuckets` counts however late the ticks are.
    private var groupCounts: [UInt16] = []
    static let groupCount = bucketCount / subBuckets
    /// The bucket of each recent tick, oldest overwritten first.
    private var recent: [UInt16] = []
    private var next = 0

    var count: Int { recent.count }

    static func bucket(_ value: UInt64) -> Int {
        guard value >= UInt64(subBuckets) else { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount
        let sub = Int(value >> UInt64(exponent - subBucketBits)) & (subBuckets - 1)
        return subBuckets + (exponent - subBucketBits) * subBuckets + sub
    }

    /// The value a bucket stands for: its middle (its only value below 16 ns).
    static func representative(_ bucket: Int) -> UInt64 {
        guard bucket >= subBuckets else { return UInt64(bucket) }
        let exponent = (bucket - subBuckets) / subBuckets + subBucketBits
        let sub = UInt64((bucket - subBuckets) % subBuckets)
        let shift = UInt64(exponent - subBucketBits)
        let lower = (UInt64(subBuckets) + sub) << shift
        return lower + ((1 << shift) >> 1)
    }

    mutating func record(_ value: UInt64) {
        if counts.isEmpty {
            counts = [UInt16](repeating: 0, count: Self.bucketCount)
            groupCounts = [UInt16](repeating: 0, count: Self.groupCount)
            recent.reserveCapacity(Self.recentCapacity)
        }
        let bucket = Self.bucket(value)
        if recent.count < Self.recentCapacity {
            recent.append(UInt16(bucket))
        } else {
            let old = Int(recent[next])
            counts[old] -= 1
            groupCounts[old >> Self.subBucketBits] -= 1
            recent[next] = UInt16(bucket)
            next = (next + 1) % Self.recentCapacity
        }
        counts[bucket] += 1
        groupCounts[bucket >> Self.subBucketBits] += 1
    }

    /// The nearest-rank percentile (`p` in 0...1) of the recent ticks, to within 1/32.
    func percentile(_ p: Double) -> UInt64? {
        var steps = 0
        return percentile(p, steps: &steps)
    }

    /// `steps`: the counts looked at (what the tests bound).
    func percentile(_ p: Double, steps: inout Int) -> UInt64? {
        guard !recent.isEmpty else { return nil }
        let n = recent.count
        let wanted = (p.isNaN ? 0 : Swift.min(1, Swift.max(0, p))) * Double(n)
        let rank = Swift.min(n, Swift.max(1, Int(wanted.rounded(.up))))
        var seen = 0
        for group in 0..<Self.groupCount {
            steps += 1
            let inGroup = Int(groupCounts[group])
            guard seen + inGroup >= rank else {
                seen += inGroup
                continue
            }
            for bucket in (group << Self.subBucketBits)..<((group + 1) << Self.subBucketBits) {
                steps += 1
                seen += Int(counts[bucket])
                if seen >= rank { return Self.representative(bucket) }
            }
        }
        return nil
    }
}
