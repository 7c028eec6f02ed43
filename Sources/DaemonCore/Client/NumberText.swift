// Numbers as short text, for the STATUS= line and the query client.

/// Whole-number text for a Double from the wire; never traps (NaN, huge values are shown as is).
func wholeText(_ v: Double) -> String {
    guard let i = Int(exactly: v.rounded()) else { return "\(v)" }
    return String(i)
}

enum ByteText {
    static func format(_ bytes: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = bytes
        var i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(wholeText(v)) B" : "\(String(format1: v)) \(units[i])"
    }
}

extension String {
    /// One decimal place, without Foundation's String(format:).
    init(format1 v: Double) {
        guard v.isFinite, let tenths = Int(exactly: (v * 10).rounded()) else { self = v.isFinite ? "\(v)" : "n/a"; return }
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
