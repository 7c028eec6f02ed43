import Testing
@testable import SampleModel

@Suite struct SampleFreshnessTests {
    static let interval: UInt64 = 100_000_000

    @Test func noSampleYetIsStartingAndStale() {
        let f = SampleFreshness(Cadence(), intervalNanos: Self.interval, now: 5_000_000_000)
        #expect(f.ageSeconds == nil)
        #expect(f.status == .starting)
        #expect(f.isStale)
    }

    /// /healthz's documented rule: stale once the newest sample is more than 3 intervals old.
    @Test(arguments: [(299_000_000, false), (300_000_000, false), (301_000_000, true), (10_000_000_000, true)] as [(UInt64, Bool)])
    func staleAfterThreeIntervals(_ age: UInt64, _ stale: Bool) {
        var cadence = Cadence()
        cadence.ticks = 7
        cadence.lastTickMono = 1_000_000_000
        let f = SampleFreshness(cadence, intervalNanos: Self.interval, now: 1_000_000_000 + age)
        #expect(f.ageNanos == age)
        #expect(f.isStale == stale)
        #expect(f.status == (stale ? .stale : .ok))
    }

    @Test func ageOfASample() {
        let sample = Sample(sequence: 1, wallNanos: 0, monoNanos: 2_000_000_000, generation: 1)
        #expect(SampleFreshness.ageSeconds(of: sample, now: 2_500_000_000) == 0.5)
    }
}

@Suite struct TextFormatTests {
    @Test(arguments: [("100ms", 0.1), ("1s", 1), ("5m", 300), ("1h", 3600), ("2d", 172_800), ("250us", 0.000_25)] as [(String, Double)])
    func durationsParse(_ text: String, _ seconds: Double) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test(arguments: ["", "s", "1x", "-1s", "1 s", "ms"])
    func nonDurationsDoNotParse(_ text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test(arguments: [(0.1, "100ms"), (1, "1s"), (90, "90s"), (300, "5m"), (5400, "90m"), (7200, "2h"), (1.5, "1500ms"),
                      (-2, "-2000ms"), (1e300, "1e+303ms"), (.nan, "nanms")] as [(Double, String)])
    func durationsFormat(_ seconds: Double, _ text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }

    @Test func rfc3339InUTCWithMilliseconds() {
        // 2024-02-29T23:59:58.123Z
        #expect(RFC3339.format(wallNanos: 1_709_251_198_123_456_789) == "2024-02-29T23:59:58.123Z")
        #expect(RFC3339.format(wallNanos: 0) == "1970-01-01T00:00:00.000Z")
    }

    /// The calendar arithmetic the query server writes timestamps with agrees with the C
    /// library's gmtime_r (leap years, centuries, 2000, month ends), up to Int64's year 2262.
    @Test func rfc3339MatchesTheCLibrary() {
        var generator = SystemRandomNumberGenerator()
        var cases: [Int64] = [0, 951_782_400_000_000_000, 951_868_799_999_000_000, 4_107_542_399_999_999_999, Int64.max]
        for _ in 0..<20_000 { cases.append(Int64.random(in: 0...Int64.max, using: &generator)) }
        for nanos in cases {
            #expect(RFC3339.format(wallNanos: nanos) == RFC3339.beforeEpoch(nanos), "\(nanos)")
        }
    }

    @Test func processRolesAreTheAPIStrings() {
        #expect(ProcessRole.allCases.map(\.rawValue) == ["master", "worker", "helper", "child"])
    }
}

/// Issue 11 item 11: only plain decimal numbers (no hex floats, signs, exponents, spaces or NULs).
@Suite struct DecimalTextTests {
    @Test(arguments: [("5", 5), ("0.25", 0.25), (".5", 0.5), ("90", 90)] as [(String, Double)])
    func decimalsParse(_ text: String, _ value: Double) {
        #expect(DecimalText.value(text) == value)
        #expect(DurationText.secondsOrNumber(text) == value)
    }

    @Test(arguments: ["0x10", "0x1p4", "5\u{0}xyz", "1e3", "+5", "-5", " 5", "5 ", "5.", "1.2.3", "", ".", "inf", "nan", "٣"])
    func othersDoNot(_ text: String) {
        #expect(DecimalText.value(text) == nil)
        #expect(DurationText.secondsOrNumber(text) == nil)
        #expect(DurationText.seconds(text + "s") == nil)
    }

    @Test(arguments: ["+5", "-0", "0x10", " 5", "5\u{0}", ""])
    func wholeNumbersAreDigitsOnly(_ text: String) {
        #expect(DecimalText.wholeNumber(text) == nil)
    }
}

/// Wall-clock times in query strings: RFC 3339 or Unix seconds, exactly to the nanosecond.
@Suite struct WallTimeTextTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("0", 0),
        ("1777644000", 1_777_644_000_000_000_000),
        ("1777644000.25", 1_777_644_000_250_000_000),
        ("1777644000.123456789", 1_777_644_000_123_456_789),
        ("2026-05-01T14:00:00Z", 1_777_644_000_000_000_000),
        ("2026-05-01t14:00:00z", 1_777_644_000_000_000_000),
        ("2026-05-01T16:00:00+02:00", 1_777_644_000_000_000_000),
        ("2026-05-01T16:00:00 02:00", 1_777_644_000_000_000_000), // '+' decoded to a space
        ("2026-05-01T11:30:00.5-02:30", 1_777_644_000_500_000_000),
        ("2024-02-29T00:00:00.123456789123Z", 1_709_164_800_123_456_789),
        ("2262-04-11T23:47:15.999999999Z", 9_223_372_035_999_999_999),
        ("9223372035.5", 9_223_372_035_500_000_000),
    ])
    func parses(_ text: String, _ nanos: Int64) {
        #expect(WallTimeText.nanos(text) == nanos, "\(text)")
    }

    @Test(arguments: ["", "now", "-5", "1e9", "0x10", "1.", ".5", "1.1234567891", "12345678901234", "2026-13-01T00:00:00Z",
                      "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-05-01T24:00:00Z", "2026-05-01T14:00:00",
                      "2026-05-01 14:00:00Z", "2026-05-01T14:00:00+2:00", "2026-05-01T14:00:00.Z", "1969-12-31T23:59:59Z",
                      "1970-01-01T00:00:00+00:01", "2026-05-01T14:00:00Zjunk", "2026-05-01T14:00:00+24:00", "99999-01-01T00:00:00Z",
                      "2262-04-11T23:47:16Z", "9999-12-31T23:59:59Z", "9223372036"])
    func refuses(_ text: String) {
        #expect(WallTimeText.nanos(text) == nil, "\(text)")
    }

    /// What RFC3339.format writes, WallTimeText reads back.
    @Test func readsWhatIsWritten() {
        for nanos in [Int64(0), 1_777_644_000_123_000_000, 1_709_164_799_999_000_000, 4_102_444_800_001_000_000] {
            #expect(WallTimeText.nanos(RFC3339.format(wallNanos: nanos)) == nanos)
        }
    }
}
