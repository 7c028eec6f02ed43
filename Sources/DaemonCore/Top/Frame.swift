/// One screen of `drum-monitor top`: a fixed grid of cells, each a character and a style. The
/// renderer fills it (a pure function of the documents it was given), unit tests compare its
/// lines, and the terminal writer turns it into bytes.
struct Frame: Equatable, Sendable {
    let width: Int
    let height: Int
    /// Row-major; `Frame.continuation` marks the right half of a double-width character.
    private(set) var scalars: [Unicode.Scalar]
    private(set) var styles: [Style]

    static let continuation: Unicode.Scalar = "\u{0}"

    init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        scalars = Array(repeating: " ", count: self.width * self.height)
        styles = Array(repeating: .plain, count: self.width * self.height)
    }

    /// Writes `text` at (row, column), clipped at the right edge and at `limit` columns; a
    /// double-width character that does not fit whole is left out. Returns the columns used.
    @discardableResult
    mutating func put(_ text: String, row: Int, column: Int, style: Style = .plain, limit: Int = .max) -> Int {
        guard row >= 0, row < height, column >= 0, column < width else { return 0 }
        let end = column + min(limit, width - column)
        var c = column
        for scalar in TextWidth.displayable(text) {
            let w = TextWidth.columns(scalar)
            if c + w > end { break }
            let i = row * width + c
            scalars[i] = scalar
            styles[i] = style
            if w == 2 {
                scalars[i + 1] = Frame.continuation
                styles[i + 1] = style
            }
            c += w
        }
        return c - column
    }

    /// Writes a line of spans from `column` on; a line too long is cut at the right edge, where
    /// `ellipsis` says so.
    mutating func put(_ line: Line, row: Int, column: Int = 0, ellipsis: String = "") {
        let room = width - column
        let cut = line.width > room && TextWidth.width(ellipsis) < room
        var c = column
        for span in line.spans {
            c += put(span.text, row: row, column: c, style: span.style, limit: cut ? room - TextWidth.width(ellipsis) - (c - column) : .max)
        }
        if cut { put(ellipsis, row: row, column: c, style: .dim) }
    }

    /// Changes the style of `count` cells from (row, column).
    mutating func restyle(row: Int, column: Int, count: Int, _ style: Style) {
        guard row >= 0, row < height else { return }
        for c in max(0, column)..<min(width, column + count) { styles[row * width + c] = style }
    }

    func scalar(row: Int, column: Int) -> Unicode.Scalar { scalars[row * width + column] }
    func style(row: Int, column: Int) -> Style { styles[row * width + column] }

    /// Row `row` as text, exactly `width` columns (a double-width character counts twice).
    func line(_ row: Int) -> String {
        var s = String.UnicodeScalarView()
        for c in 0..<width where scalars[row * width + c] != Frame.continuation { s.append(scalars[row * width + c]) }
        return String(s)
    }

    var lines: [String] { (0..<height).map(line) }

    /// The frame as plain text (for a pipe or a file): lines without trailing spaces.
    var plainText: String {
        lines.map { line in
            var l = Substring(line)
            while l.last == " " { l.removeLast() }
            return String(l)
        }.joined(separator: "\n") + "\n"
    }

    /// Whether row `row` is the same in both frames (text and styles).
    func rowEquals(_ other: Frame, _ row: Int) -> Bool {
        guard other.width == width, row < other.height else { return false }
        let r = row * width..<(row + 1) * width
        return scalars[r] == other.scalars[r] && styles[r] == other.styles[r]
    }
}

/// How a cell is drawn. Colours are dropped by the writer when colour is off (NO_COLOR, a pipe).
struct Style: Equatable, Hashable, Sendable {
    enum Color: UInt8, Sendable { case red = 31, green = 32, yellow = 33, blue = 34, magenta = 35, cyan = 36 }
    var color: Color?
    var bold = false
    var dim = false
    var inverse = false

    static let plain = Style()
    static let bold = Style(bold: true)
    static let dim = Style(dim: true)
    static let inverse = Style(inverse: true)
    static func color(_ c: Color, bold: Bool = false) -> Style { Style(color: c, bold: bold) }
}

/// A line of text in pieces of one style each.
struct Line: Sendable, Equatable {
    struct Span: Sendable, Equatable { var text: String; var style: Style }
    var spans: [Span] = []

    init(_ text: String = "", _ style: Style = .plain) { if !text.isEmpty { spans = [Span(text: text, style: style)] } }

    mutating func add(_ text: String, _ style: Style = .plain) { spans.append(Span(text: text, style: style)) }

    var width: Int { spans.reduce(0) { $0 + TextWidth.width($1.text) } }
    var text: String { spans.map(\.text).joined() }
}

/// Terminal columns of text. Text from the daemon (command lines, cgroup paths, messages) may
/// hold anything: control characters are shown as `?`, zero-width marks are dropped, East Asian
/// wide characters take two columns, so a line never takes more room than the frame counted.
enum TextWidth {
    static func displayable(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            if s.value < 0x20 || (0x7f..<0xa0).contains(s.value) { out.append("?"); continue }
            if columns(s) == 0 { continue }
            out.append(s)
        }
        return out
    }

    static func width(_ text: String) -> Int { displayable(text).reduce(0) { $0 + columns($1) } }

    static func columns(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1160...0x11ff).contains(v) || (0xd7b0...0xd7ff).contains(v) { return 0 }  // Hangul jamo vowels, finals
        return isWide(v) ? 2 : 1
    }

    private static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115f).contains(v) || (0x2e80...0x303e).contains(v) || (0x3041...0x33ff).contains(v)
            || (0x3400...0x4dbf).contains(v) || (0x4e00...0x9fff).contains(v) || (0xa000...0xa4cf).contains(v)
            || (0xac00...0xd7a3).contains(v) || (0xf900...0xfaff).contains(v) || (0xfe30...0xfe4f).contains(v)
            || (0xff00...0xff60).contains(v) || (0xffe0...0xffe6).contains(v) || (0x1f300...0x1f64f).contains(v)
            || (0x1f900...0x1f9ff).contains(v) || (0x20000...0x3fffd).contains(v)
    }

    /// `text` cut to at most `columns` columns, ending in `…` when cut.
    static func fit(_ text: String, _ columns: Int, ellipsis: String = "…") -> String {
        guard columns > 0 else { return "" }
        let scalars = displayable(text)
        let total = scalars.reduce(0) { $0 + self.columns($1) }
        if total <= columns { return String(String.UnicodeScalarView(scalars)) }
        let room = columns - width(ellipsis)
        var out = String.UnicodeScalarView()
        var used = 0
        for s in scalars {
            let w = self.columns(s)
            if used + w > room { break }
            out.append(s)
            used += w
        }
        return String(out) + (room >= 0 ? ellipsis : "")
    }

    /// `text` padded with spaces (or cut) to exactly `columns` columns.
    static func pad(_ text: String, _ columns: Int) -> String {
        let t = fit(text, columns, ellipsis: "")
        let w = width(t)
        return w >= columns ? t : t + String(repeating: " ", count: columns - w)
    }

    /// `text` right-aligned in `columns` columns.
    static func padLeft(_ text: String, _ columns: Int) -> String {
        let t = fit(text, columns, ellipsis: "")
        let w = width(t)
        return w >= columns ? t : String(repeating: " ", count: columns - w) + t
    }
}
