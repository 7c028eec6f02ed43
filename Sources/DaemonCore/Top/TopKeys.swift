/// What a key does in `top`.
enum TopKey: Equatable, Sendable {
    case quit, nextWindow, nextSort, redraw, suspend

    /// The keys in bytes read from the terminal. Escape sequences (arrows, function keys,
    /// pasted text's markers) arrive in one read and are skipped whole.
    static func parse(_ bytes: [UInt8]) -> [TopKey] {
        var keys: [TopKey] = []
        for b in bytes {
            if b == 0x1b { break }
            switch b {
            case UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03: keys.append(.quit)   // 0x03: Ctrl-C
            case UInt8(ascii: "w"), UInt8(ascii: "W"): keys.append(.nextWindow)
            case UInt8(ascii: "s"), UInt8(ascii: "S"): keys.append(.nextSort)
            case 0x0c: keys.append(.redraw)                                        // Ctrl-L
            case 0x1a: keys.append(.suspend)                                       // Ctrl-Z
            default: break
            }
        }
        return keys
    }
}
