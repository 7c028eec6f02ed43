import SampleModel
/// The query string of a request, with errors that name the parameter.
struct QueryParameters {
    private(set) var values: [String: String] = [:]

    struct Invalid: Error { let message: String }

    init(_ query: Substring) throws(Invalid) {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            guard !name.isEmpty else { throw Invalid(message: "empty parameter name in query string") }
            guard values[name] == nil else { throw Invalid(message: "parameter '\(name)' given twice") }
            values[name] = parts.count > 1 ? Self.decode(parts[1]) : ""
        }
    }

    /// Rejects parameters the endpoint does not know.
    func allowOnly(_ names: Set<String>) throws(Invalid) {
        if let unknown = values.keys.sorted().first(where: { !names.contains($0) }) {
            let known = names.sorted().map { "'\($0)'" }.joined(separator: ", ")
            throw Invalid(message: "unknown parameter '\(unknown)'" + (names.isEmpty ? " (this endpoint takes none)" : " (known: \(known))"))
        }
    }

    func unsigned(_ name: String, range: ClosedRange<UInt64>) throws(Invalid) -> UInt64? {
        guard let text = values[name] else { return nil }
        guard let v = DecimalText.wholeNumber(text), range.contains(v) else {
            throw Invalid(message: "parameter '\(name)' must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return v
    }

    /// Seconds as a number (`90`, `0.5`) or a duration (`90s`, `5m`, `1h`, `250ms`).
    func seconds(_ name: String, max: Double) throws(Invalid) -> Double? {
        guard let text = values[name] else { return nil }
        guard let v = DurationText.secondsOrNumber(text), v.isFinite, v > 0, v <= max else {
            throw Invalid(message: "parameter '\(name)' must be a positive number of seconds up to \(Int(max)) (or a duration like 90s, 5m, 1h), got '\(text)'")
        }
        return v
    }

    /// A wall-clock time: RFC 3339 or Unix seconds with a fraction (`WallTimeText`), in ns.
    func wallTime(_ name: String) throws(Invalid) -> Int64? {
        guard let text = values[name] else { return nil }
        guard let nanos = WallTimeText.nanos(text) else {
            throw Invalid(message: "parameter '\(name)' must be a time in RFC 3339 (2026-05-01T14:00:00Z, +02:00; encode '+' as %2B) or Unix seconds (1777644000.5), got '\(text)'")
        }
        return nanos
    }

    private static func decode(_ s: Substring) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "+") { out.append(0x20); continue }
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
