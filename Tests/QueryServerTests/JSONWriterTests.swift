import Testing
@testable import QueryServer

/// The writer's in-place number forms read back as the numbers the Double forms wrote.
@Suite struct JSONWriterTests {
    static func written(_ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        w.object(body)
        return String(decoding: w.finish(), as: UTF8.self)
    }

    /// `seconds:` (health's ages, intervals and latenesses, from integer nanoseconds) is the same
    /// number as `Double(nanos) / 1e9`, integral ones without a fraction as before.
    @Test func secondsFromNanosecondsAreTheSameNumbers() throws {
        var generator = SystemRandomNumberGenerator()
        var cases: [UInt64] = [0, 1, 10, 999_999_999, 1_000_000_000, 1_500_000_000, 98_304, 100_000, UInt64.max]
        for _ in 0..<20_000 {
            let bits = Int.random(in: 0...64, using: &generator)
            cases.append(UInt64.random(in: 0...UInt64.max, using: &generator) >> UInt64(64 - bits))
        }
        for nanos in cases {
            let text = Self.written { $0.field("s", seconds: nanos) }
            let number = String(text.dropFirst(5).dropLast())
            // Exactly the nanoseconds, digit for digit ...
            let parts = number.split(separator: ".", omittingEmptySubsequences: false)
            let fraction = parts.count > 1 ? String(parts[1]) : ""
            #expect(fraction.count <= 9 && !fraction.hasSuffix("0"), "\(nanos): \(text)")
            let whole = try #require(UInt64(parts[0]))
            let frac = try #require(UInt64(fraction.isEmpty ? "0" : fraction + String(repeating: "0", count: 9 - fraction.count)))
            #expect(whole.multipliedReportingOverflow(by: 1_000_000_000).partialValue &+ frac == nanos, "\(nanos): \(text)")
            // ... so the same Double as before wherever the nanoseconds are exact in a Double (below
            // 2^53 ns, 104 days; above, the old Double(nanos) / 1e9 was the rounded one).
            if nanos <= 1 << 53 { #expect(Double(number) == Double(nanos) / 1e9, "\(nanos): \(text)") }
            #expect((nanos % 1_000_000_000 == 0) == !number.contains("."), "\(nanos): \(text)")
        }
        #expect(Self.written { $0.field("s", seconds: 98_304) } == #"{"s":0.000098304}"#)
        #expect(Self.written { $0.field("s", seconds: nil) } == #"{"s":null}"#)
    }
}
