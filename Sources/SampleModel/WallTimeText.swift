/// A wall-clock time as a person or a client writes it: RFC 3339 (`2026-05-01T14:00:00Z`,
/// `2026-05-01T16:00:00.250+02:00`) or Unix seconds with an optional fraction
/// (`1777644000`, `1777644000.25`). Nanoseconds since the epoch, exactly (no floating point);
/// nil for anything else, including times before 1970 or after 2262-04-11T23:47:15Z (the last
/// whole second whose nanoseconds fit in 64 bits).
public enum WallTimeText {
    public static func nanos(_ text: some StringProtocol) -> Int64? {
        let bytes = Array(text.utf8)
        return bytes.contains(UInt8(ascii: "-")) || bytes.contains(UInt8(ascii: ":")) ? rfc3339(bytes) : unixSeconds(bytes)
    }

    /// The latest whole second accepted: 2262-04-11T23:47:15Z (fractions of it too).
    static let maximumSeconds: Int64 = Int64.max / 1_000_000_000 - 1

    /// Digits, optionally a `.` and up to nine more.
    static func unixSeconds(_ b: [UInt8]) -> Int64? {
        let dot = b.firstIndex(of: UInt8(ascii: "."))
        let whole = b[..<(dot ?? b.endIndex)]
        guard !whole.isEmpty, whole.count <= 11, let seconds = digits(whole), seconds <= maximumSeconds else { return nil }
        var nanos: Int64 = 0
        if let dot {
            let fraction = b[(dot + 1)...]
            guard !fraction.isEmpty, fraction.count <= 9, let f = digits(fraction) else { return nil }
            nanos = f
            for _ in fraction.count..<9 { nanos *= 10 }
        }
        return seconds * 1_000_000_000 + nanos
    }

    /// YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM). A space where the offset's `+` belongs is
    /// taken as `+` (an unencoded `+` in a query string arrives as a space).
    static func rfc3339(_ b: [UInt8]) -> Int64? {
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = digits(b[0..<4]), let month = digits(b[5..<7]), let day = digits(b[8..<10]),
              let hour = digits(b[11..<13]), let minute = digits(b[14..<16]), let second = digits(b[17..<19]),
              (1970...2262).contains(year), (1...12).contains(month), (1...daysIn(month, year)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = 19
        var nanos: Int64 = 0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, let d = digit(b[i]) {
                if i - start < 9 { nanos = nanos * 10 + d }
                i += 1
            }
            guard i > start else { return nil }
            for _ in Swift.min(i - start, 9)..<9 { nanos *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: " "), UInt8(ascii: "-"):
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let h = digits(b[(i + 1)..<(i + 3)]), let m = digits(b[(i + 4)..<(i + 6)]),
                  h <= 23, m <= 59 else { return nil }
            offset = (h * 60 + m) * 60 * (b[i] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        guard seconds >= 0, seconds <= maximumSeconds else { return nil }
        return seconds * 1_000_000_000 + nanos
    }

    private static func digit(_ c: UInt8) -> Int64? {
        c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") ? Int64(c - UInt8(ascii: "0")) : nil
    }

    private static func digits(_ s: ArraySlice<UInt8>) -> Int64? {
        guard !s.isEmpty else { return nil }
        var v: Int64 = 0
        for c in s {
            guard let d = digit(c) else { return nil }
            v = v * 10 + d
        }
        return v
    }

    private static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
