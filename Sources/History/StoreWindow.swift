import SampleModel

/// Resolving a window's times to runs of held samples, and its statistics.
extension SampleStore {
    /// Statistics of every metric over the samples `spec` selects.
    ///
    /// A sample taken at t stands for (t − interval, t]. `.seconds` and `.samples` end at the
    /// newest sample and are measured on the timeline (immune to wall-clock steps); `.range`
    /// holds every sample whose interval overlaps [from, to] on the wall clock, in every run
    /// (see `TimeIndex`). `covered` says the history held all of the window: nothing of it lies
    /// before the oldest held sample, after the newest, or in a gap while the daemon was down.
    func window(_ spec: WindowSpec) -> WindowResult {
        var result = WindowResult(spec: spec, sampleCount: 0, fromSequence: nil, toSequence: nil, covered: false,
                                  stats: [WindowStats?](repeating: nil, count: Metric.count))
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
                let b = partition(run) { $0.wall &- interval >= to } - 1
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
        result.fromSequence = slot(first).sequence
        result.toSequence = slot(last).sequence
        return result
    }

    /// Seconds as nanoseconds, saturating.
    static func nanos(_ seconds: Double) -> UInt64 {
        seconds * 1e9 >= Double(UInt64.max) ? UInt64.max : UInt64(Swift.max(0, seconds * 1e9))
    }
}
