/// Frames as bytes for a terminal (ANSI/ECMA-48 sequences every terminal emulator and tmux
/// understand), or as plain text.
enum TerminalBytes {
    /// Alternate screen, cursor hidden, no automatic wrap (so writing the last column of the
    /// last row never scrolls).
    static let enter = "\u{1b}[?1049h\u{1b}[?25l\u{1b}[?7l"
    /// Back to normal: attributes, wrap, cursor, the main screen as it was.
    static let leave = "\u{1b}[0m\u{1b}[?7h\u{1b}[?25h\u{1b}[?1049l"

    /// What turns `old` on the screen into `new`: only the rows that differ, each written whole
    /// from its first column; everything when the size changed or nothing was drawn yet.
    static func update(from old: Frame?, to new: Frame, color: Bool) -> String {
        var out = ""
        let full = old.map { $0.width != new.width || $0.height != new.height } ?? true
        if full { out += "\u{1b}[0m\u{1b}[H\u{1b}[2J" }
        for row in 0..<new.height where full || !(old.map { new.rowEquals($0, row) } ?? false) {
            out += "\u{1b}[\(row + 1);1H"
            out += styledRow(new, row, color: color)
        }
        return out
    }

    /// One frame as lines with SGR attributes (for `--once` on a terminal).
    static func styledText(_ frame: Frame, color: Bool) -> String {
        (0..<frame.height).map { styledRow(frame, $0, color: color, trimmed: true) }.joined(separator: "\n") + "\n"
    }

    private static func styledRow(_ frame: Frame, _ row: Int, color: Bool, trimmed: Bool = false) -> String {
        var out = ""
        var current = Style.plain
        var end = frame.width
        if trimmed {
            while end > 0, frame.scalar(row: row, column: end - 1) == " ", frame.style(row: row, column: end - 1) == .plain { end -= 1 }
        }
        for column in 0..<end {
            let scalar = frame.scalar(row: row, column: column)
            if scalar == Frame.continuation { continue }
            var style = frame.style(row: row, column: column)
            if !color { style.color = nil }
            if style != current {
                out += sgr(style)
                current = style
            }
            out.unicodeScalars.append(scalar)
        }
        if current != .plain { out += "\u{1b}[0m" }
        return out
    }

    /// Select Graphic Rendition: reset, then the style's attributes.
    static func sgr(_ s: Style) -> String {
        var codes = ["0"]
        if s.bold { codes.append("1") }
        if s.dim { codes.append("2") }
        if s.inverse { codes.append("7") }
        if let c = s.color { codes.append(String(c.rawValue)) }
        return "\u{1b}[" + codes.joined(separator: ";") + "m"
    }
}
