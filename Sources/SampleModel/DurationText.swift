/// Durations written like `100ms`, `1s`, `5m`, `1h`, `2d`.
public enum DurationText {
    /// A duration with its unit; nil for anything else (see `DecimalText` for the number part).
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("ns", 1e-9),
                                         ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let v = DecimalText.value(number) else { return nil }
            return v * scale
        }
        return nil
    }

    /// A duration with a unit, or a plain decimal number of seconds.
    public static func secondsOrNumber(_ text: String) -> Double? {
        seconds(text) ?? DecimalText.value(text)
    }

    /// Whole hours, minutes or seconds where exact, else milliseconds. Never traps: the query
    /// client formats values read from the socket.
    public static func format(seconds: Double) -> String {
        if seconds >= 1, let whole = Int(exactly: seconds) {
            if whole % 3600 == 0 { return "\(whole / 3600)h" }
            if whole % 60 == 0 { return "\(whole / 60)m" }
            return "\(whole)s"
        }
        let millis = (seconds * 1000).rounded()
        return (Int(exactly: millis).map(String.init) ?? "\(millis)") + "ms"
    }

    /// A duration for people, rounded to two units: `850ms`, `4.2s`, `3m12s`, `2h05m`, `3d4h`.
    public static func human(seconds: Double) -> String {
        guard seconds.isFinite else { return "n/a" }
        if seconds < 0 { return "-" + human(seconds: -seconds) }
        if seconds < 1 { return wholeText(seconds * 1000) + "ms" }
        if seconds < 60 { return String(format1: seconds) + "s" }
        guard seconds < 1e15 else { return "\(wholeText(seconds / 86400))d" }
        let s = Int(seconds.rounded())
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(two(s % 3600 / 60))m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }
}
