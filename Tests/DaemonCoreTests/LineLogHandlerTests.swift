import Logging
import Testing
@testable import DaemonCore

@Suite struct LineLogHandlerTests {
    /// Under journald every line starts with its syslog priority (sd-daemon(3)'s <N> prefixes).
    @Test func journalLinesCarryTheirPriority() {
        let log = CapturedLog()
        let logger = log.logger(journal: true)
        logger.trace("t")
        logger.debug("d")
        logger.info("i")
        logger.notice("n")
        logger.warning("w")
        logger.error("e")
        logger.critical("c")
        #expect(log.lines == ["<7>t", "<7>d", "<6>i", "<5>n", "<4>w", "<3>e", "<2>c"])
    }

    @Test func linesBelowTheLevelAreDropped() {
        let log = CapturedLog()
        let logger = log.logger(level: .warning, journal: true)
        logger.info("not shown")
        logger.warning("shown")
        #expect(log.lines == ["<4>shown"])
    }

    /// Outside journald: an RFC 3339 UTC timestamp and the level in words, no <N> prefix.
    @Test func plainLinesCarryATimestampAndTheLevel() throws {
        let log = CapturedLog()
        log.logger(journal: false).warning("disk on fire")
        let line = try #require(log.lines.first)
        #expect(log.lines.count == 1)
        #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING disk on fire/) != nil, "\(line)")
    }

    @Test func metadataFollowsTheMessageSortedByKey() {
        let log = CapturedLog()
        var logger = log.logger(journal: true)
        logger[metadataKey: "zone"] = "b"
        logger.info("hello", metadata: ["alpha": "1", "zone": "override"])
        #expect(log.lines == ["<6>hello alpha=1 zone=override"])
    }

    /// `log_format: json`: one object per line, text escaped (a newline stays inside its line),
    /// metadata in its own object; under journald still after the <N> prefix, which journald strips.
    @Test(arguments: [true, false])
    func jsonLinesAreOneObjectEach(_ journal: Bool) throws {
        let log = CapturedLog()
        var logger = Logger(label: "test") { label in LineLogHandler(label: label, level: .trace, journal: journal, format: .json, stream: log) }
        logger[metadataKey: "pid"] = "42"
        logger.error("bad \"pidfile\"\nsecond line / slash")
        #expect(log.lines.count == 1, "\(log.lines)")
        let line = try #require(log.lines.first)
        let prefix = journal ? "<3>" : ""
        #expect(line.hasPrefix(prefix + "{\"time\":\""), "\(line)")
        #expect(line.hasSuffix(#","level":"error","message":"bad \"pidfile\"\nsecond line / slash","metadata":{"pid":"42"}}"#), "\(line)")
        let time = line.dropFirst(prefix.count + #"{"time":""#.count).prefix(24)
        #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(time)")
    }
}
