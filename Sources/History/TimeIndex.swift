/// Where the history's times are not simply increasing.
///
/// Sequences order the history. Each slot keeps two times: the timeline (CLOCK_MONOTONIC,
/// continued across reboots, never decreasing: the store enforces it) and the wall clock, which
/// NTP or an operator can step either way. A step forward is just a jump; a step backwards
/// starts a new *run*: a maximal stretch of consecutive samples whose wall times do not
/// decrease. A wall-clock range is resolved in each run by binary search (wall times are sorted
/// within one), and the window is the union of what each run holds; no search assumes wall
/// times are sorted across runs. A history normally has one run; each backward step adds one,
/// and a query costs one more binary search per run whose time span meets the range.
///
/// Gaps are where the daemon was not running: a sample taken first after the daemon adopted a
/// history (a restart mark), more than an interval after the one before it on the timeline.
/// Nothing was sampled in between, so a window reaching into a gap is not `covered`.
struct TimeIndex {
    /// First logical index of each run, ascending; the first may precede the oldest held sample.
    private(set) var runStarts = IndexQueue()
    /// Logical indices of held samples that follow a gap, ascending.
    private(set) var gaps = IndexQueue()

    mutating func reset() {
        runStarts = IndexQueue()
        gaps = IndexQueue()
    }

    /// Records sample `index`, taken at `wall` after a sample taken at `previousWall` (nil: the
    /// first held sample); `gap`: it follows a gap.
    mutating func add(_ index: Int, wall: Int64, previousWall: Int64?, gap: Bool) {
        if let previousWall { if wall < previousWall { runStarts.append(index) } } else { runStarts.append(index) }
        if gap { gaps.append(index) }
    }

    /// Forgets what lies entirely before `oldest`.
    mutating func drop(before oldest: Int) {
        while runStarts.count > 1, runStarts[1] <= oldest { runStarts.removeFirst() }
        while let first = gaps.first, first < oldest { gaps.removeFirst() }
    }

    /// The runs as held logical ranges, oldest first.
    func runs(oldest: Int, newest: Int) -> [ClosedRange<Int>] {
        guard oldest <= newest else { return [] }
        var result: [ClosedRange<Int>] = []
        result.reserveCapacity(runStarts.count)
        for k in 0..<runStarts.count {
            let start = Swift.max(runStarts[k], oldest)
            let end = k + 1 < runStarts.count ? runStarts[k + 1] - 1 : newest
            if start <= end { result.append(start...end) }
        }
        return result
    }

    /// Whether any held sample in `range` follows a gap.
    func hasGap(in range: ClosedRange<Int>) -> Bool {
        var lo = 0, hi = gaps.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if gaps[mid] < range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        return lo < gaps.count && gaps[lo] <= range.upperBound
    }

    func followsGap(_ index: Int) -> Bool { hasGap(in: index...index) }
}

/// A FIFO of ascending indices: append at the back, drop from the front, index from the front.
struct IndexQueue {
    private var storage: [Int] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Int? { head < storage.count ? storage[head] : nil }
    subscript(_ i: Int) -> Int { storage[head + i] }

    mutating func append(_ v: Int) { storage.append(v) }

    mutating func removeFirst() {
        head += 1
        if head >= 64, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}
