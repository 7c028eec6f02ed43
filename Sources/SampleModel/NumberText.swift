// Numbers as short text, for people: the STATUS= line, the query client, event messages.

/// Whole-number text for a Double from the wire; never traps (NaN, huge values are shown as is).
public func wholeText(_ v: Double) -> String {
    guard let i = Int(exactly: v.rounded()) else { return "\(v)" }
    return String(i)
}

public enum ByteText {
    public static func format(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = bytes.magnitude
        var i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        let sign = bytes < 0 ? "-" : ""
        return sign + (i == 0 ? "\(wholeText(v)) B" : "\(String(format1: v)) \(units[i])")
    }

    public static func format(_ bytes: UInt64) -> String { format(Double(bytes)) }
}

extension String {
    /// One decimal place, without Foundation's String(format:).
    public init(format1 v: Double) {
        guard v.isFinite, let tenths = Int(exactly: (v * 10).rounded()) else { self = v.isFinite ? "\(v)" : "n/a"; return }
        self = (tenths < 0 ? "-" : "") + "\(tenths.magnitude / 10).\(tenths.magnitude % 10)"
    }
}
