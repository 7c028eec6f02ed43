import SampleModel

/// Numbers as `top` writes them: short, and never trapping on what the socket sent.
enum TopText {
    static func bytes(_ v: Double?) -> String { HumanFormat.bytes(v) }

    static func cores(_ v: Double?) -> String { HumanFormat.cores(v) }

    /// Whole percent of `part` in `whole`; nil without both.
    static func percent(_ part: Double?, of whole: Double?) -> String? {
        guard let part, let whole, whole > 0, part.isFinite else { return nil }
        return wholeText(part / whole * 100) + "%"
    }

    /// A duration rounded to two units: `0.2s`, `12s`, `3m12s`, `2h05m`, `3d4h`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "n/a" }
        if seconds < 0 { return "0s" }
        if seconds < 10 { return String(format1: seconds) + "s" }
        guard seconds < 1e12 else { return wholeText(seconds / 86400) + "d" }
        let s = Int(seconds.rounded(.down))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(two(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h\(two(s % 3600 / 60))m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }

    /// A window's length as on the command line: `1m`, `5m`, `1h`, `90s`.
    static func window(_ seconds: Double) -> String { DurationText.format(seconds: seconds) }

    /// Seconds between two Unix-ns times, never trapping.
    static func seconds(from: Int64, to: Int64) -> Double { (Double(to) - Double(from)) / 1e9 }
}
