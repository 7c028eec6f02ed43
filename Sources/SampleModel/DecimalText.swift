/// Plain decimal numbers as people write them in a query string or a configuration file: digits,
/// optionally one `.` and more digits (`5`, `0.25`, `.5`). Nothing else: no sign, no exponent, no
/// hex float (`0x10`, which `Double(_:)` accepts), no spaces, no NUL (`Double(_:)` stops at one).
public enum DecimalText {
    public static func value(_ text: some StringProtocol) -> Double? {
        var digits = 0, dots = 0, endsInDot = false
        for unit in text.utf8 {
            switch unit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits += 1; endsInDot = false
            case UInt8(ascii: "."): dots += 1; endsInDot = true
            default: return nil
            }
        }
        guard digits > 0, dots <= 1, !endsInDot else { return nil }
        return Double(String(text))
    }

    /// Digits only (no sign, no spaces): a count, a pid, a sequence number.
    public static func wholeNumber(_ text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(String(text))
    }
}
