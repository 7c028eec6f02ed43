import SampleModel

/// A small streaming JSON writer: responses are built straight into bytes, without an
/// intermediate tree. It owns its buffer (noncopyable: one writer per answer) and writes with
/// plain stores, so an answer costs about what its bytes cost: a window answer (2.8 KB, 18
/// timestamps) is built in a few microseconds, within the budget of the query rows of
/// `make bench` (each endpoint against a constant body of the same size, ≤ 1.25× its latency).
struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    /// One bit per open object or array, at its depth: whether its next member needs a comma.
    private var commas: UInt64 = 0
    private var depth = 0
    /// Nesting deeper than the comma bits can track (no endpoint comes near it).
    static let maxDepth = 63

    init(capacity: Int = 4096) {
        self.capacity = Swift.max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written; ends the writer.
    consuming func finish() -> [UInt8] {
        [UInt8](UnsafeBufferPointer(start: base, count: count))
    }

    // MARK: Structure

    private var needsComma: Bool {
        get { commas & (1 << UInt64(depth)) != 0 }
        set { if newValue { commas |= 1 << UInt64(depth) } else { commas &= ~(1 << UInt64(depth)) } }
    }

    private mutating func separator() {
        if needsComma { put(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func open(_ bracket: UInt8) {
        separator()
        put(bracket)
        precondition(depth < Self.maxDepth, "JSON nested deeper than \(Self.maxDepth)")
        depth += 1
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        put(bracket)
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        open(UInt8(ascii: "["))
        body(&self)
        close(UInt8(ascii: "]"))
    }

    /// Writes `"key":` — the value written next belongs to it.
    mutating func key(_ k: String) {
        separator()
        appendString(k)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func field(_ k: String, object body: (inout JSONWriter) -> Void) { key(k); object(body); needsComma = true }
    mutating func field(_ k: String, array body: (inout JSONWriter) -> Void) { key(k); array(body); needsComma = true }
    mutating func field(_ k: String, _ v: String?) { key(k); value(v); needsComma = true }
    mutating func field(_ k: String, _ v: Double?) { key(k); value(v); needsComma = true }
    mutating func field(_ k: String, _ v: Int64?) { key(k); value(v); needsComma = true }
    mutating func field(_ k: String, _ v: UInt64?) { key(k); value(v); needsComma = true }
    mutating func field(_ k: String, _ v: Int?) { key(k); value(v.map(Int64.init)); needsComma = true }
    mutating func field(_ k: String, _ v: Bool?) { key(k); value(v); needsComma = true }
    /// Nanoseconds as seconds, in plain decimal (no String made, no float formatting): the same
    /// number as `Double(nanos) / 1e9` written by `field(_:_: Double?)`, digits exactly as counted.
    mutating func field(_ k: String, seconds nanos: UInt64?) { key(k); value(seconds: nanos); needsComma = true }
    /// A wall-clock time as RFC 3339 (what `RFC3339.format` writes), without making a String.
    mutating func field(_ k: String, wallTime v: Int64?) { key(k); value(wallTime: v); needsComma = true }

    // MARK: Values

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
        if v < 0 { put(UInt8(ascii: "-")) }
        appendDigits(v.magnitude)
    }

    mutating func value(_ v: UInt64?) {
        separator()
        guard let v else { return appendLiteral("null") }
        appendDigits(v)
    }

    /// Integral doubles are written without a fraction (byte counts stay integers); NaN and
    /// infinities, which JSON cannot hold, become null.
    mutating func value(_ v: Double?) {
        separator()
        guard let v, v.isFinite else { return appendLiteral("null") }
        if v == v.rounded(), abs(v) < 9.007199254740992e15 {
            let i = Int64(v)
            if i < 0 { put(UInt8(ascii: "-")) }
            appendDigits(i.magnitude)
        } else {
            var text = v.description
            text.withUTF8 { append($0) }
        }
    }

    mutating func value(seconds nanos: UInt64?) {
        separator()
        guard let nanos else { return appendLiteral("null") }
        appendDigits(nanos / 1_000_000_000)
        var fraction = nanos % 1_000_000_000
        guard fraction != 0 else { return }
        var digits = 9
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        put(UInt8(ascii: "."))
        // Leading zeros of the fraction, then its significant digits.
        var width = 1
        var rest = fraction
        while rest >= 10 { rest /= 10; width += 1 }
        for _ in 0..<(digits - width) { put(UInt8(ascii: "0")) }
        appendDigits(fraction)
    }

    mutating func value(wallTime v: Int64?) {
        separator()
        guard let v else { return appendLiteral("null") }
        put(UInt8(ascii: "\""))
        RFC3339.withUTF8(wallNanos: v) { append($0) }
        put(UInt8(ascii: "\""))
    }

    mutating func appendRaw(_ byte: UInt8) { put(byte) }

    /// Bytes already JSON (a kept answer's pieces), as they are.
    mutating func appendRaw(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    // MARK: Bytes

    private mutating func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        let grown = Swift.max(capacity * 2, count + n)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.initialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = grown
    }

    private mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    private mutating func appendLiteral(_ s: StaticString) {
        s.withUTF8Buffer { append($0) }
    }

    /// Decimal digits, written backwards into place and turned around.
    private mutating func appendDigits(_ v: UInt64) {
        reserve(20)
        let start = base + count
        var n = 0
        var rest = v
        repeat {
            start[n] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            n += 1
        } while rest > 0
        var (i, j) = (0, n - 1)
        while i < j {
            (start[i], start[j]) = (start[j], start[i])
            i += 1
            j -= 1
        }
        count += n
    }

    private mutating func appendString(_ s: String) {
        var s = s
        put(UInt8(ascii: "\""))
        s.withUTF8 { utf8 in
            // Most strings need no escape: copied at once, from the first byte that does on.
            var from = 0
            for (i, unit) in utf8.enumerated() where unit < 0x20 || unit == UInt8(ascii: "\"") || unit == UInt8(ascii: "\\") {
                append(UnsafeBufferPointer(rebasing: utf8[from..<i]))
                escape(unit)
                from = i + 1
            }
            append(UnsafeBufferPointer(rebasing: utf8[from...]))
        }
        put(UInt8(ascii: "\""))
    }

    private mutating func escape(_ unit: UInt8) {
        put(0x5C)
        switch unit {
        case UInt8(ascii: "\""): put(0x22)
        case UInt8(ascii: "\\"): put(0x5C)
        case 0x0A: put(UInt8(ascii: "n"))
        case 0x0D: put(UInt8(ascii: "r"))
        case 0x09: put(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            hex.withUTF8Buffer { digits in
                for byte in [UInt8(ascii: "u"), 0x30, 0x30, digits[Int(unit >> 4)], digits[Int(unit & 0xF)]] { put(byte) }
            }
        }
    }
}
