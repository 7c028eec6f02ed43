/// A small streaming JSON writer: responses are built straight into bytes, without an
/// intermediate tree, so a window query costs about what a health check costs.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    init() { bytes.reserveCapacity(1024) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes `"key":` — the value written next belongs to it.
    mutating func key(_ k: String) {
        separator()
        appendString(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func field(_ k: String, object body: (inout JSONWriter) -> Void) { key(k); object(body); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, array body: (inout JSONWriter) -> Void) { key(k); array(body); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: String?) { key(k); value(v); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: Double?) { key(k); value(v); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: Int64?) { key(k); value(v); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: UInt64?) { key(k); value(v); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: Int?) { key(k); value(v.map(Int64.init)); needsComma[needsComma.count - 1] = true }
    mutating func field(_ k: String, _ v: Bool?) { key(k); value(v); needsComma[needsComma.count - 1] = true }

    mutating func value(_ v: String?) {
        separator()
        guard let v else { return appendLiteral("null") }
        appendString(v)
    }

    mutating func value(_ v: Bool?) {
        separator()
        guard let v else { return appendLiteral("null") }
        appendLiteral(v ? "true" : "false")
    }

    mutating func value(_ v: Int64?) {
        separator()
        guard let v else { return appendLiteral("null") }
        bytes.append(contentsOf: String(v).utf8)
    }

    mutating func value(_ v: UInt64?) {
        separator()
        guard let v else { return appendLiteral("null") }
        bytes.append(contentsOf: String(v).utf8)
    }

    /// Integral doubles are written without a fraction (byte counts stay integers); NaN and
    /// infinities, which JSON cannot hold, become null.
    mutating func value(_ v: Double?) {
        separator()
        guard let v, v.isFinite else { return appendLiteral("null") }
        if v == v.rounded(), abs(v) < 9.007199254740992e15 {
            bytes.append(contentsOf: String(Int64(v)).utf8)
        } else {
            bytes.append(contentsOf: v.description.utf8)
        }
    }

    mutating func appendRaw(_ byte: UInt8) { bytes.append(byte) }

    private mutating func appendLiteral(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    private mutating func appendString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for unit in s.utf8 {
            switch unit {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(unit >> 4)], hex[Int(unit & 0xF)]])
            default: bytes.append(unit)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
