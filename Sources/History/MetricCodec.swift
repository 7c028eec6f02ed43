import SampleModel

/// How one metric's values are kept: as whole numbers of a unit, at most 48 bits wide.
///
/// Bytes and counts are kept as themselves (scale 1), exactly: every integer below 2^48
/// (256 TiB) comes back as the same number. Fractions (cores, pressure, the throttled share) are
/// kept in billionths (scale 10^9): 0.123456789 cores exactly, anything finer rounded to that.
/// Negative, non-finite or too large values, and fractions in an integer metric, cannot be kept:
/// `encode` returns nil and the store keeps the value as absent and says so (never a wrong number).
struct MetricCodec: Equatable, Sendable {
    /// Units per value of 1.
    let scale: UInt64

    static let integer = MetricCodec(scale: 1)
    static let billionths = MetricCodec(scale: 1_000_000_000)

    /// Values are below this many units.
    static let limit: UInt64 = 1 << 48

    init(scale: UInt64) { self.scale = scale }

    init(_ metric: Metric) { self = metric.isInteger ? .integer : .billionths }

    func encode(_ value: Double) -> UInt64? {
        guard value.isFinite, value >= 0 else { return nil }
        let units = scale == 1 ? value : (value * Double(scale)).rounded()
        guard units < Double(Self.limit), units == units.rounded(.towardZero) else { return nil }
        return UInt64(units)
    }

    func decode(_ units: UInt64) -> Double {
        scale == 1 ? Double(units) : Double(units) / Double(scale)
    }

    /// A sum of units as a value (for averages).
    func decode(sum: WideSum) -> Double {
        scale == 1 ? sum.doubleValue : sum.doubleValue / Double(scale)
    }
}
