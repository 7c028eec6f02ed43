/// Taking over the slots of a history file: which of them form the history, checked slot by
/// slot, and the tables rebuilt from them.
extension SampleStore {
    struct Adoption: Equatable {
        /// Samples held after adoption.
        var count = 0
        /// Slots that held something but were not taken: torn (checksum), out of order, not
        /// consecutive with the newest samples, or inconsistent.
        var rejected = 0
        var firstSequence: UInt64 = 0
        var lastSequence: UInt64 = 0
        var lastGeneration: UInt32 = 0
        var lastWallNanos: Int64 = 0
        var lastTimeline: UInt64 = 0
    }

    /// Takes as the history the longest run of valid slots with consecutive sequence numbers and
    /// non-decreasing timeline that ends at the valid slot with the highest sequence, at most
    /// `capacity` of them, whose oldest can be decoded (it starts the history, or the slot before
    /// it is the sample before it). Trusts nothing else: every slot's checksum is verified, and
    /// a slot whose absent metrics moved their running sums ends the run there.
    func adopt() -> Adoption {
        precondition(isEmpty)
        var report = Adoption()
        var newest = -1, newestSequence: UInt64 = 0
        var written = 0
        for p in 0..<slotCount {
            let s = region.slot(p)
            let sequence = s.sequence
            guard sequence != 0 else { continue }
            written += 1
            guard sequence > newestSequence, isValid(s, p) else { continue }
            newest = p
            newestSequence = sequence
        }
        guard newest >= 0 else {
            report.rejected = written
            return report
        }
        // Back from the newest while the slots are consecutive samples.
        var oldest = newest, length = 1
        while length < capacity, !region.slot(oldest).flags.contains(.origin) {
            let p = (oldest + slotCount - 1) % slotCount
            let s = region.slot(p), later = region.slot(oldest)
            guard s.sequence == later.sequence &- 1, s.sequence != 0, s.timeline <= later.timeline, isValid(s, p) else { break }
            oldest = p
            length += 1
        }
        // The oldest needs its predecessor's running sums, unless it starts the history.
        if !region.slot(oldest).flags.contains(.origin) {
            let p = (oldest + slotCount - 1) % slotCount
            let s = region.slot(p)
            if !(s.sequence == region.slot(oldest).sequence &- 1 && s.sequence != 0 && isValid(s, p)) {
                oldest = (oldest + 1) % slotCount
                length -= 1
            }
        }
        // A slot whose absent metrics changed their running sums would make every sum across it
        // wrong: the history starts after it.
        var k = 0
        while k < length {
            let p = (oldest + k) % slotCount
            if !absentMetricsKeepTheirSums(region.slot(p), region.slot((p + slotCount - 1) % slotCount)) {
                oldest = (p + 1) % slotCount
                length -= k + 1
                k = 0
                continue
            }
            k += 1
        }
        report.rejected = written - length
        guard length > 0 else { return report }
        // Logical indices congruent to the physical ones, a few rings in.
        let newestIndex = 2 * slotCount + newest
        let oldestIndex = newestIndex - length + 1
        prepareAdoption(newest: newestIndex)
        for i in oldestIndex...newestIndex { index(i, first: i == oldestIndex) }
        let first = slot(oldestIndex), last = slot(newestIndex)
        report.count = length
        report.firstSequence = first.sequence
        report.lastSequence = last.sequence
        report.lastGeneration = last.generation
        report.lastWallNanos = last.wall
        report.lastTimeline = last.timeline
        return report
    }

    private func isValid(_ s: SlotPointer, _ physical: Int) -> Bool {
        s.flags.isSubset(of: .known) && s.isSealed(layout, index: physical, salt: region.salt)
    }

    private func absentMetricsKeepTheirSums(_ s: SlotPointer, _ previous: SlotPointer) -> Bool {
        if s.flags.contains(.origin) {
            for m in 0..<metricCount where !s.isPresent(m, layout) && s.runningSum(m, layout) != 0 { return false }
            return true
        }
        for m in 0..<metricCount where !s.isPresent(m, layout) && s.runningSum(m, layout) != previous.runningSum(m, layout) {
            return false
        }
        return true
    }
}
