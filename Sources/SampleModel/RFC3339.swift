#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 timestamps in UTC with milliseconds.
public enum RFC3339 {
    public static func format(wallNanos: Int64) -> String {
        withUTF8(wallNanos: wallNanos) { String(decoding: $0, as: UTF8.self) }
    }

    /// The timestamp's bytes, without making a String (the query server writes them straight
    /// into its answers: a window answer has 18 of them). From the calendar arithmetic for
    /// times since 1970; before it, from gmtime_r (as ever).
    public static func withUTF8<R>(wallNanos: Int64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard wallNanos >= 0 else {
            var text = beforeEpoch(wallNanos)
            return text.withUTF8(body)
        }
        let seconds = wallNanos / 1_000_000_000
        let millis = Int((wallNanos % 1_000_000_000) / 1_000_000)
        let (year, month, day) = civil(days: seconds / 86_400)
        let daySeconds = Int(seconds % 86_400)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { out in
            func put(_ v: Int, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: i + width - 1, through: i, by: -1) {
                    out[k] = UInt8(ascii: "0") &+ UInt8(v % 10)
                    v /= 10
                }
            }
            // Int64 nanoseconds end in 2262: four digits of year.
            put(year, 4, at: 0); out[4] = UInt8(ascii: "-")
            put(month, 2, at: 5); out[7] = UInt8(ascii: "-")
            put(day, 2, at: 8); out[10] = UInt8(ascii: "T")
            put(daySeconds / 3600, 2, at: 11); out[13] = UInt8(ascii: ":")
            put(daySeconds / 60 % 60, 2, at: 14); out[16] = UInt8(ascii: ":")
            put(daySeconds % 60, 2, at: 17); out[19] = UInt8(ascii: ".")
            put(millis, 3, at: 20); out[23] = UInt8(ascii: "Z")
            return body(UnsafeBufferPointer(out))
        }
    }

    /// Year, month (1–12) and day (1–31) of a day counted from 1970-01-01 (≥ 0): the proleptic
    /// Gregorian calendar, as `days_from_civil`'s inverse in H. Hinnant's chrono algorithms.
    static func civil(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(days) + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Times before 1970, from the C library as they always were.
    static func beforeEpoch(_ wallNanos: Int64) -> String {
        var seconds = time_t(wallNanos / 1_000_000_000)
        let millis = Int((wallNanos % 1_000_000_000) / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
