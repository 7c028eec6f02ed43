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

    /// A duration for people (`400ms`, `4.2s`, `3m12s`, `2h05m`); never negative (clocks of two
    /// processes may disagree by a little).
    static func duration(_ seconds: Double) -> String { DurationText.human(seconds: max(seconds, 0)) }

    /// A window's length as on the command line: `1m`, `5m`, `1h`, `90s`.
    static func window(_ seconds: Double) -> String { DurationText.format(seconds: seconds) }

    /// Seconds between two Unix-ns times, never trapping.
    static func seconds(from: Int64, to: Int64) -> Double { (Double(to) - Double(from)) / 1e9 }
}
