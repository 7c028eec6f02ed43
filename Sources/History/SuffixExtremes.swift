/// Maximum (or minimum) of any suffix of the ring in O(log k), k the number of candidates.
///
/// Every window ends at the newest sample, so a window is a suffix, and the candidates for a
/// suffix maximum are the "record holders seen from the newest end": a deque of slots whose
/// values strictly decrease from oldest to newest. Appending pops the smaller-or-equal values off
/// the back (amortised O(1)), so among equal values the newest remains and is what a query
/// reports. A query binary-searches the first candidate inside the window: its cost depends on
/// the number of candidates, not on the window's length.
struct SuffixExtremes {
    /// Slots of the candidates, oldest first, as a circular deque of the ring's capacity.
    private var slots: [UInt32]
    private var head = 0
    private(set) var count = 0
    private let capacity: Int
    /// +1 keeps maxima, −1 minima (values are compared as sign × value).
    private let sign: Double

    init(capacity: Int, maxima: Bool) {
        self.capacity = capacity
        slots = [UInt32](repeating: 0, count: capacity)
        sign = maxima ? 1 : -1
    }

    private func at(_ i: Int) -> Int { Int(slots[(head + i) % capacity]) }

    /// Drops candidates at `slot` (about to be overwritten) and pushes the new value there.
    /// `value` NaN (absent) is never a candidate.
    mutating func append(slot: Int, value: Double, valueAt: (Int) -> Double) {
        // The oldest candidate may sit in the slot being overwritten: it leaves the ring.
        if count > 0, at(0) == slot { head = (head + 1) % capacity; count -= 1 }
        guard !value.isNaN else { return }
        let v = sign * value
        while count > 0, sign * valueAt(at(count - 1)) <= v { count -= 1 }
        slots[(head + count) % capacity] = UInt32(slot)
        count += 1
    }

    /// The slot holding the extreme of the suffix that starts `distance` samples after the
    /// oldest held sample, given a function from slot to its distance from the oldest.
    func first(atOrAfter distance: Int, distanceOf: (Int) -> Int) -> Int? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if distanceOf(at(mid)) >= distance { hi = mid } else { lo = mid + 1 }
        }
        return lo < count ? at(lo) : nil
    }
}
