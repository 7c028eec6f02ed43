/// Building the extrema tables as blocks, groups and supergroups fill (see `ExtremaTables`).
extension SampleStore {
    /// Pushes `value` of unit `j` onto a 16-unit stack (mask `bits`, values `values[0..<16]`),
    /// popping the older units it beats.
    @inline(__always)
    func push(_ value: UInt64, at j: Int, onto bits: UInt32, _ values: UnsafeMutablePointer<UInt64>, max: Bool) -> UInt32 {
        var bits = bits
        while bits != 0 {
            let top = 31 - bits.leadingZeroBitCount
            guard beats(value, values[top], max: max) else { break }
            bits &= ~(1 << UInt32(top))
        }
        values[j] = value
        return bits | 1 << UInt32(j)
    }

    func finishBlock(_ block: Int) {
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

    func finishGroup(_ group: Int) {
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

    func finishSuper(_ s: Int) {
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
}
