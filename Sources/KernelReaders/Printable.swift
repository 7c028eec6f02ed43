/// Turns arbitrary bytes into text a person can read: valid UTF-8 is kept, every other byte and
/// every control character is shown as an escape (\n, \t, \0, \xNN). Nothing is dropped.
public enum Printable {
    public static func escape(_ bytes: some Collection<UInt8>) -> String {
        // Fast path: printable ASCII, the usual case, is its own text.
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return String(decoding: bytes, as: UTF8.self) }
        let b = Array(bytes)
        var out = ""
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            let length = validSequenceLength(b, at: i)
            if length == 0 {
                out += hex(b[i])
                i += 1
                continue
            }
            if length == 1 {
                out += escapeASCII(b[i])
            } else {
                out += String(decoding: b[i..<(i + length)], as: UTF8.self)
            }
            i += length
        }
        return out
    }

    /// A short excerpt for error messages (at most `limit` input bytes).
    public static func excerpt(_ bytes: some Collection<UInt8>, limit: Int = 120) -> String {
        let text = escape(bytes.prefix(limit))
        return bytes.count > limit ? text + "…" : text
    }

    /// Length of the well-formed UTF-8 sequence starting at `i`, or 0 if it is not one.
    private static func validSequenceLength(_ b: [UInt8], at i: Int) -> Int {
        let lead = b[i]
        let length: Int
        var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return 0
        }
        guard i + length <= b.count else { return 0 }
        for k in 1..<length {
            let c = b[i + k]
            let (lo, hi): (UInt8, UInt8) = k == 1 ? (lower, upper) : (0x80, 0xBF)
            if c < lo || c > hi { return 0 }
        }
        return length
    }

    private static func escapeASCII(_ c: UInt8) -> String {
        switch c {
        case 0x0A: return "\\n"
        case 0x09: return "\\t"
        case 0x0D: return "\\r"
        case 0x5C: return "\\\\"
        case 0x00: return "\\0"
        case 0x00..<0x20, 0x7F: return hex(c)
        default: return String(UnicodeScalar(c))
        }
    }

    private static let digits: [Character] = Array("0123456789abcdef")

    private static func hex(_ c: UInt8) -> String {
        "\\x" + String(digits[Int(c >> 4)]) + String(digits[Int(c & 0xF)])
    }
}
