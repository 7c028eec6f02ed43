/// Aggregates (max, min, sum, count) of one column of the ring, for O(log n) range queries.
///
/// Leaves are blocks of `blockSize` slots rather than single slots: a query scans at most two
/// partial blocks and visits O(log(capacity / blockSize)) nodes, and the tree costs 1/blockSize
/// of the memory a per-slot segment tree would (it matters with a million samples held).
/// NaN marks an empty or absent value and is skipped.
struct Aggregate: Equatable {
    var max: Double = -.infinity
    var min: Double = .infinity
    var sum: Double = 0
    var count: Int = 0

    static let empty = Aggregate()

    mutating func add(_ v: Double) {
        guard !v.isNaN else { return }
        if v > max { max = v }
        if v < min { min = v }
        sum += v
        count += 1
    }

    mutating func merge(_ o: Aggregate) {
        guard o.count > 0 else { return }
        if o.max > max { max = o.max }
        if o.min < min { min = o.min }
        sum += o.sum
        count += o.count
    }
}

struct BlockTree {
    static let blockSize = 32
    let capacity: Int
    /// Leaves start here; node i has children 2i and 2i+1 (1-based heap layout).
    let leafBase: Int
    private(set) var nodes: [Aggregate]

    init(capacity: Int) {
        self.capacity = capacity
        let blocks = (capacity + Self.blockSize - 1) / Self.blockSize
        var base = 1
        while base < blocks { base <<= 1 }
        leafBase = base
        nodes = [Aggregate](repeating: .empty, count: 2 * base)
    }

    /// Recomputes the block holding `slot` from the column and updates its ancestors.
    mutating func update(slot: Int, column: UnsafeBufferPointer<Double>) {
        let block = slot / Self.blockSize
        var agg = Aggregate()
        let start = block * Self.blockSize
        let end = Swift.min(start + Self.blockSize, capacity)
        for i in start..<end { agg.add(column[i]) }
        var node = leafBase + block
        nodes[node] = agg
        node >>= 1
        while node >= 1 {
            var merged = nodes[2 * node]
            merged.merge(nodes[2 * node + 1])
            nodes[node] = merged
            node >>= 1
        }
    }

    /// The aggregate of slots `lo...hi` (physical, lo ≤ hi).
    func query(_ lo: Int, _ hi: Int, column: UnsafeBufferPointer<Double>) -> Aggregate {
        var agg = Aggregate()
        let bl = lo / Self.blockSize, bh = hi / Self.blockSize
        if bl == bh {
            for i in lo...hi { agg.add(column[i]) }
            return agg
        }
        for i in lo..<((bl + 1) * Self.blockSize) { agg.add(column[i]) }
        for i in (bh * Self.blockSize)...hi { agg.add(column[i]) }
        if bl + 1 <= bh - 1 { agg.merge(queryBlocks(bl + 1, bh - 1)) }
        return agg
    }

    /// Aggregate of whole blocks `lo...hi`, bottom-up.
    private func queryBlocks(_ lo: Int, _ hi: Int) -> Aggregate {
        var agg = Aggregate()
        var l = lo + leafBase, r = hi + leafBase + 1
        while l < r {
            if l & 1 == 1 { agg.merge(nodes[l]); l += 1 }
            if r & 1 == 1 { r -= 1; agg.merge(nodes[r]) }
            l >>= 1
            r >>= 1
        }
        return agg
    }

    /// The highest slot in `lo...hi` whose value equals `target` (the range's known maximum).
    func lastSlot(of target: Double, in lo: Int, _ hi: Int, column: UnsafeBufferPointer<Double>) -> Int? {
        let bl = lo / Self.blockSize, bh = hi / Self.blockSize
        if bl == bh { return scanBack(target, lo, hi, column) }
        if let s = scanBack(target, bh * Self.blockSize, hi, column) { return s }
        if bl + 1 <= bh - 1, let block = lastBlock(withMax: target, bl + 1, bh - 1) {
            let start = block * Self.blockSize
            return scanBack(target, start, Swift.min(start + Self.blockSize, capacity) - 1, column)
        }
        return scanBack(target, lo, (bl + 1) * Self.blockSize - 1, column)
    }

    private func scanBack(_ target: Double, _ lo: Int, _ hi: Int, _ column: UnsafeBufferPointer<Double>) -> Int? {
        var i = hi
        while i >= lo {
            if column[i] == target { return i }
            i -= 1
        }
        return nil
    }

    /// The rightmost block in `lo...hi` whose maximum is `target`: O(log n) by descending.
    private func lastBlock(withMax target: Double, _ lo: Int, _ hi: Int) -> Int? {
        func descend(_ node: Int, _ nodeLo: Int, _ nodeHi: Int) -> Int? {
            if nodeHi < lo || nodeLo > hi || nodes[node].count == 0 || nodes[node].max < target { return nil }
            if nodeLo == nodeHi { return nodes[node].max == target ? nodeLo : nil }
            let mid = (nodeLo + nodeHi) / 2
            return descend(2 * node + 1, mid + 1, nodeHi) ?? descend(2 * node, nodeLo, mid)
        }
        return descend(1, 0, leafBase - 1)
    }
}
