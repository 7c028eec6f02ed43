// The parts of `top` below the frame: the process marks, the sparkline buckets, terminal
// bytes, keys, the schedule, the locale and colour rules.
import Testing
import TestSupport
@testable import DaemonCore

@Suite struct ProcessTableTests {
    func snapshot(_ sequence: Int, _ pids: [Int]) -> SnapshotDocument {
        var s = TopScene.snapshot1
        s.sequence = sequence
        let template = s.processes[0]
        s.processes = pids.map { var p = template; p.pid = $0; return p }
        return s
    }

    @Test func marksLastThreeSamples() {
        var table = ProcessTable()
        table.update(snapshot(1, [1, 2, 3]))
        #expect(table.rows.map(\.mark) == [.none, .none, .none], "the first snapshot marks nothing")
        table.update(snapshot(2, [1, 2, 4]))
        #expect(table.rows.map(\.pid) == [1, 2, 4, 3])
        #expect(table.rows.map(\.mark) == [.none, .none, .new, .gone])
        #expect(table.rows[3].cpuCores == nil, "a vanished process has no CPU")
        // The same sample again ages nothing.
        table.update(snapshot(2, [1, 2, 4]))
        #expect(table.rows.map(\.mark) == [.none, .none, .new, .gone])
        table.update(snapshot(3, [1, 2, 4]))
        table.update(snapshot(4, [1, 2, 4]))
        #expect(table.rows.map(\.mark) == [.none, .none, .new, .gone])
        table.update(snapshot(5, [1, 2, 4]))
        #expect(table.rows.map(\.pid) == [1, 2, 4])
        #expect(table.rows.map(\.mark) == [.none, .none, .none])
    }

    @Test func aPidBackIsLiveAgain() {
        var table = ProcessTable()
        table.update(snapshot(1, [1, 2]))
        table.update(snapshot(2, [1]))
        table.update(snapshot(3, [1, 2]))
        #expect(table.rows.map(\.pid) == [1, 2])
        #expect(table.rows.map(\.mark) == [.none, .new])
    }
}

@Suite struct SeriesTests {
    /// At most one column per sample and never more than there is room for: a bucket is at
    /// least an interval long.
    @Test(arguments: [(60.0, 73, 0.25), (60, 73, 1), (3600, 73, 1), (1, 73, 10), (300, 1, 0.01), (60, 0, 1)])
    func geometry(_ args: (Double, Int, Double)) {
        let (window, room, interval) = args
        let g = SparkGeometry(windowSeconds: window, room: room, intervalSeconds: interval)
        #expect(g.columns >= 1 && g.columns <= max(room, 1))
        #expect(Double(g.columns) <= max(1, window / interval))
        #expect(g.columns == 1 || Double(g.bucketNanos) >= interval * 1e9 - 1)
    }

    /// A range window asked for bucket i holds exactly the samples the bucket holds, by the
    /// daemon's rule (a sample at t is in [from, to] when from < t and t − interval < to).
    @Test func rangeHoldsExactlyTheBucket() {
        let interval: Int64 = 250_000_000
        let g = SparkGeometry(windowSeconds: 60, room: 73, intervalSeconds: 0.25)
        var random = SeededRandom(for: "rangeHoldsExactlyTheBucket")
        for _ in 0..<2000 {
            let i = Int64(random.next() % 1_000_000) + 2_000_000_000
            let (from, to) = g.rangeNanos(i, intervalNanos: interval)
            for t in [i * g.bucketNanos, i * g.bucketNanos + 1, (i + 1) * g.bucketNanos, (i + 1) * g.bucketNanos + 1,
                      i * g.bucketNanos + Int64(random.next() % UInt64(g.bucketNanos))] {
                let inRange = from < t && t - interval < to
                #expect(inRange == (g.index(ofSampleAt: t) == i), "t \(t) bucket \(i)")
            }
        }
    }

    @Test func foldsRecordedSamples() {
        let g = SparkGeometry(windowSeconds: 60, room: 73, intervalSeconds: 0.25)
        var series = Series(g)
        LiveFeed.fold(TopScene.decode(SamplesDocument.self, TopFixtures.samples), into: &series)
        let last = g.index(ofSampleAt: TopScene.snapshot2.time_unix_ns!)
        #expect(series.newest == last)
        let columns = series.columns(endingAt: last)
        #expect(columns.count == g.columns)
        let memory = columns.compactMap { $0?.memoryMax }
        // The OOM kill's interval peak (the limit) is in one column; the first samples were 10 MiB.
        #expect(memory.max() == 268_435_456)
        #expect(memory.min()! < Double(11 << 20))
        // 54 samples of 13.5 s: the older columns of a 1-minute view hold nothing.
        #expect(columns.prefix(40).allSatisfy { $0 == nil })
        #expect(series.buckets.count <= g.columns + 1)
    }

    @Test func sparklineLevels() {
        let g = Glyphs.unicode
        #expect(Sparkline.text([0, 1, 2, 3, 4, 5, 6, 7, 8], low: 0, high: 8, glyphs: g) == "▁▂▃▄▅▆▇██")
        #expect(Sparkline.text([nil, 5, .nan, -3, 99], low: 0, high: 8, glyphs: g) == " ▆ ▁█")
        #expect(Sparkline.text([5, 5, 5], low: 5, high: 5, glyphs: g) == "▁▁▁")
        #expect(Sparkline.text([1e308, -1e308], low: -1e308, high: 1e308, glyphs: g).count == 2)
    }
}

@Suite struct TerminalBytesTests {
    func frame(_ rows: [String], style: Style = .plain) -> Frame {
        var f = Frame(width: 6, height: rows.count)
        for (i, r) in rows.enumerated() { f.put(r, row: i, column: 0, style: style) }
        return f
    }

    @Test func firstFrameClearsAndDrawsEveryRow() {
        let bytes = TerminalBytes.update(from: nil, to: frame(["ab", "cd"]), color: true)
        #expect(bytes == "\u{1b}[0m\u{1b}[H\u{1b}[2J\u{1b}[1;1Hab    \u{1b}[2;1Hcd    ")
    }

    @Test func onlyChangedRowsAreWritten() {
        let bytes = TerminalBytes.update(from: frame(["ab", "cd", "ef"]), to: frame(["ab", "cX", "ef"]), color: true)
        #expect(bytes == "\u{1b}[2;1HcX    ")
        #expect(TerminalBytes.update(from: frame(["ab"]), to: frame(["ab"]), color: true) == "")
        // Another size: everything again.
        #expect(TerminalBytes.update(from: frame(["ab"]), to: frame(["ab", "cd"]), color: true).hasPrefix("\u{1b}[0m\u{1b}[H\u{1b}[2J"))
    }

    @Test func colourOffKeepsBoldAndInverse() {
        let red = frame(["ab"], style: Style(color: .red, bold: true))
        #expect(TerminalBytes.update(from: nil, to: red, color: true).hasSuffix("\u{1b}[1;1H\u{1b}[0;1;31mab\u{1b}[0m    "))
        #expect(TerminalBytes.update(from: nil, to: red, color: false).hasSuffix("\u{1b}[1;1H\u{1b}[0;1mab\u{1b}[0m    "))
        #expect(TerminalBytes.styledText(red, color: false) == "\u{1b}[0;1mab\u{1b}[0m\n")
    }

    /// A double-width character takes two cells and is written once; one that does not fit
    /// whole at the edge is left out.
    @Test func wideCharacters() {
        var f = Frame(width: 5, height: 1)
        f.put("a漢字", row: 0, column: 0)
        #expect(f.line(0) == "a漢字")
        #expect(TerminalBytes.styledText(f, color: true) == "a漢字\n")
        var g = Frame(width: 4, height: 1)
        g.put("a漢字", row: 0, column: 0)
        #expect(g.line(0) == "a漢 ")
        #expect(TextWidth.fit("abc漢字def", 6) == "abc漢…")
        #expect(TextWidth.width("e\u{301}\u{200b}") == 1)
    }

    @Test func lineCutWithEllipsis() {
        var f = Frame(width: 8, height: 1)
        f.put(Line("0123456789"), row: 0, ellipsis: "…")
        #expect(f.line(0) == "0123456…")
        var g = Frame(width: 8, height: 1)
        g.put(Line("01234567"), row: 0, ellipsis: "…")
        #expect(g.line(0) == "01234567")
    }
}

@Suite struct TopInputTests {
    @Test func keys() {
        #expect(TopKey.parse(Array("qwsS".utf8)) == [.quit, .nextWindow, .nextSort, .nextSort])
        #expect(TopKey.parse([0x03, 0x0c, 0x1a]) == [.quit, .redraw, .suspend])
        // An arrow key's sequence is skipped whole (its "A" is not a key).
        #expect(TopKey.parse([0x1b, 0x5b, 0x41]) == [])
        #expect(TopKey.parse(Array("xyz 1".utf8)) == [])
    }

    @Test func locale() {
        #expect(Glyphs.forLocale(["LANG": "en_US.UTF-8"]) == .unicode)
        #expect(Glyphs.forLocale(["LANG": "C.utf8"]) == .unicode)
        #expect(Glyphs.forLocale(["LC_ALL": "C", "LANG": "en_US.UTF-8"]) == .ascii)
        #expect(Glyphs.forLocale(["LC_ALL": "", "LC_CTYPE": "de_DE.UTF-8"]) == .unicode)
        #expect(Glyphs.forLocale([:]) == .ascii)
    }

    /// NO_COLOR (set and not empty) or output that is not a terminal: no colour.
    @Test func colour() {
        func options(_ env: [String: String]) -> TopOptions { TopOptions(socketPath: "s", windowSeconds: 60, once: false, environment: env) }
        #expect(options([:]).color(outputIsTerminal: true))
        #expect(!options([:]).color(outputIsTerminal: false))
        #expect(!options(["NO_COLOR": "1"]).color(outputIsTerminal: true))
        #expect(options(["NO_COLOR": ""]).color(outputIsTerminal: true))
        #expect(options(["COLUMNS": "132"]).plainWidth == 132)
        #expect(options(["COLUMNS": "9999999999999999999999"]).plainWidth == 100)
        #expect(options(["COLUMNS": "12"]).plainWidth == 100)
    }
}

@Suite struct FeedScheduleTests {
    func report(age: Double, interval: Double, connection: TopView.Connection = .up) -> (FeedReport, Int64) {
        var s = TopScene.snapshot2
        s.interval_seconds = interval
        let now = s.time_unix_ns! + Int64(age * 1e9)
        return (FeedReport(connection: connection, snapshot: s), now)
    }

    @Test func justAfterTheNextSample() {
        let (r, now) = report(age: 0.2, interval: 1)
        #expect(abs(FeedSchedule.delay(after: r, elapsed: 0.001, nowUnixNs: now) - 0.85) < 1e-6)
    }

    /// Never more than 4 rounds a second, however short the interval.
    @Test func atMostFourTimesASecond() {
        let (r, now) = report(age: 0.001, interval: 0.01)
        #expect(FeedSchedule.delay(after: r, elapsed: 0.01, nowUnixNs: now) >= 0.24)
        #expect(FeedSchedule.delay(after: r, elapsed: 0.3, nowUnixNs: now) >= 0)
    }

    @Test func overdueLooksAgainSoon() {
        let (r, now) = report(age: 5, interval: 1)
        #expect(FeedSchedule.delay(after: r, elapsed: 0, nowUnixNs: now) == 0.25)
        // A wall clock stepped back: the view still refreshes within an interval and a second.
        let (back, then) = report(age: -3600, interval: 1)
        #expect(FeedSchedule.delay(after: back, elapsed: 0, nowUnixNs: then) <= 2)
    }

    @Test func downRetriesEverySecond() {
        let (r, now) = report(age: 0, interval: 0.01, connection: .down("x", sinceUnixNs: 0))
        #expect(FeedSchedule.delay(after: r, elapsed: 0, nowUnixNs: now) == 1)
    }
}
