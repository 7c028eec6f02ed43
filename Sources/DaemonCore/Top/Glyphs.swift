/// The characters `top` draws with: block elements on a UTF-8 terminal, ASCII elsewhere (a
/// `C` locale, a serial console), chosen from the locale variables as the C library would.
struct Glyphs: Sendable, Equatable {
    /// Sparkline levels, lowest first.
    var spark: [String]
    var barFull: String
    var barEmpty: String
    /// The window's maximum on the memory bar.
    var windowMax: String
    /// The last interval's peak on the memory bar.
    var intervalPeak: String
    var ellipsis: String
    var newMark: String
    var goneMark: String
    var separator: String
    /// Before a value that stands for a flat line, and between the two ends of a range.
    var about: String
    var rangeDash: String

    static let unicode = Glyphs(spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], barFull: "█", barEmpty: "░",
                                windowMax: "┃", intervalPeak: "╎", ellipsis: "…", newMark: "+", goneMark: "-", separator: " · ",
                                about: "≈", rangeDash: "–")
    static let ascii = Glyphs(spark: ["_", ".", ",", "-", "~", "=", "+", "#"], barFull: "#", barEmpty: ".",
                              windowMax: "|", intervalPeak: "!", ellipsis: "~", newMark: "+", goneMark: "-", separator: " | ",
                              about: "~", rangeDash: "-")

    /// UTF-8 when the first of LC_ALL, LC_CTYPE, LANG that is set says so.
    static func forLocale(_ environment: [String: String]) -> Glyphs {
        for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
            guard let value = environment[key], !value.isEmpty else { continue }
            let v = value.lowercased()
            return v.contains("utf-8") || v.contains("utf8") ? .unicode : .ascii
        }
        return .ascii
    }
}
