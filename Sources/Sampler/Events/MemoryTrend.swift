/// The trend of one memory series over a sliding window, in constant work per value and memory
/// that does not grow with the window.
///
/// The window is cut into `buckets` equal spans; each keeps only its floor, the lowest value and
/// when it was seen. Garbage collection makes memory a sawtooth; its troughs are what a leak
/// raises, and a span that holds a whole tooth keeps its trough, so teeth shorter than a span
/// (a tenth of the window) do not move the fit. When a span closes, the floors of the last full
/// window are fitted by least squares (O(buckets), i.e. constant) and judged:
/// - growing: the slope is positive, the rise it makes over the window stands three times
///   above the floors' scatter around the line, and the first and the second half of the window
///   each rise at a quarter of that slope or more — a single step (a cache filled once, a model
///   loaded) rises in one half only and is not growth.
struct MemoryTrend {
    static let buckets = 10

    struct Floor: Equatable {
        var span: UInt64
        var t: UInt64
        var value: Double
    }

    struct Estimate: Equatable {
        /// Bytes per second, least squares over the window's floors.
        var slope: Double
        var growing: Bool
    }

    let spanNanos: UInt64
    /// Closed spans' floors, oldest first, at most `buckets`.
    private(set) var floors: [Floor] = []
    private var open: Floor?
    /// Updated when a span closes; nil until the floors cover a whole window.
    private(set) var estimate: Estimate?

    init(windowNanos: UInt64) {
        spanNanos = max(windowNanos / UInt64(Self.buckets), 1)
        floors.reserveCapacity(Self.buckets)
    }

    /// Adds a value seen at monotonic time `t`.
    mutating func add(t: UInt64, value: Double) {
        let span = t / spanNanos
        guard var current = open else {
            open = Floor(span: span, t: t, value: value)
            return
        }
        if span < current.span {
            // Time went backwards (never with CLOCK_MONOTONIC): start over.
            self = MemoryTrend(windowNanos: spanNanos * UInt64(Self.buckets))
            open = Floor(span: span, t: t, value: value)
            return
        }
        if span == current.span {
            if value < current.value { current.value = value; current.t = t }
            open = current
            return
        }
        if floors.count == Self.buckets { floors.removeFirst() }
        floors.append(current)
        open = Floor(span: span, t: t, value: value)
        estimate = Self.judge(floors, openSpan: span)
    }

    /// Least-squares slope over floors (bytes per second), nil with fewer than `minimum`.
    static func slope(_ floors: some Collection<Floor>, minimum: Int = 2) -> (slope: Double, scatter: Double)? {
        guard floors.count >= max(minimum, 2), let t0 = floors.first?.t else { return nil }
        let n = Double(floors.count)
        var st = 0.0, sv = 0.0, stt = 0.0, stv = 0.0
        for f in floors {
            let t = Double(f.t - t0) / 1e9
            st += t; sv += f.value; stt += t * t; stv += t * f.value
        }
        let denominator = n * stt - st * st
        guard denominator > 0 else { return nil }
        let slope = (n * stv - st * sv) / denominator
        let intercept = (sv - slope * st) / n
        var squares = 0.0
        for f in floors {
            let r = f.value - (intercept + slope * Double(f.t - t0) / 1e9)
            squares += r * r
        }
        return (slope, (squares / n).squareRoot())
    }

    /// The fit of the last full window, or nil when the floors do not cover one (start, or a gap
    /// of more than one span).
    static func judge(_ floors: [Floor], openSpan: UInt64) -> Estimate? {
        guard floors.count == buckets, let first = floors.first, let last = floors.last,
              openSpan - first.span <= UInt64(buckets) + 1,
              let all = slope(floors) else { return nil }
        let half = buckets / 2
        let rise = all.slope * Double(last.t - first.t) / 1e9
        var growing = all.slope > 0 && rise > 3 * all.scatter
        if growing, let early = slope(floors.prefix(half)), let late = slope(floors.suffix(half)) {
            growing = early.slope >= all.slope / 4 && late.slope >= all.slope / 4
        }
        return Estimate(slope: all.slope, growing: growing)
    }

    /// The slope over whatever floors exist (at least three), growing or not: how fast a
    /// process's memory rises, for naming the fastest-growing ones.
    var recentSlope: Double? {
        var points = floors
        if let open { points.append(open) }
        return Self.slope(points, minimum: 3)?.slope
    }
}
