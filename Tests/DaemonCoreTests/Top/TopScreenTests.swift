// `top`'s frames: a pure function of recorded answers, a size and the time, compared line by
// line; what any size from the minimum up keeps; answers that must not trap or overflow.
import Testing
@testable import DaemonCore

@Suite struct TopScreenTests {
    func render(_ view: TopView, _ width: Int, _ height: Int, options: TopScreen.Options = .init()) -> Frame {
        TopScreen.render(view, width: width, height: height, nowUnixNs: TopScene.now, options: options)
    }

    func expectLines(_ frame: Frame, _ golden: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(frame.lines.count == golden.count, sourceLocation: sourceLocation)
        for (i, (got, want)) in zip(frame.lines, golden).enumerated() where got != want {
            Issue.record("row \(i):\n  got  |\(got)|\n  want |\(want)|", sourceLocation: sourceLocation)
        }
    }

    @Test func liveFrame100x30() {
        expectLines(render(TopScene.view(width: 100), 100, 30), TopGoldenFrames.live100x30)
    }

    @Test func liveFrame60x20() {
        expectLines(render(TopScene.view(width: 60), 60, 20), TopGoldenFrames.live60x20)
    }

    /// `--once` to a pipe in a C locale: ASCII only, every process and event, no key line.
    @Test func onceFrameInASCII() {
        let options = TopScreen.Options(glyphs: .ascii, interactive: false)
        let view = TopScene.view(width: 80)
        let height = TopScreen.naturalHeight(view, width: 80, nowUnixNs: TopScene.now, options: options)
        let frame = render(view, 80, height, options: options)
        expectLines(frame, TopGoldenFrames.asciiOnce80)
        #expect(frame.plainText.unicodeScalars.allSatisfy { $0.isASCII })
    }

    /// From the minimum size up, the frame keeps what is watched, memory, CPU and the first
    /// process, and no row is wider than the frame.
    @Test(arguments: [(40, 7), (41, 8), (50, 12), (60, 20), (79, 24), (100, 30), (132, 43), (200, 60)])
    func everySizeKeepsTheEssentials(_ size: (Int, Int)) {
        let (w, h) = size
        let frame = render(TopScene.view(width: w), w, h)
        let text = frame.lines
        #expect(text.count == h)
        #expect(text.allSatisfy { TextWidth.width($0) == w })
        #expect(text[0].contains("6954"), "\(w)x\(h): \(text[0])")
        #expect(text.contains { $0.hasPrefix("mem  ") }, "\(w)x\(h)")
        #expect(text.contains { $0.hasPrefix("cpu  ") }, "\(w)x\(h)")
        #expect(text.contains { $0.hasPrefix("  PID") }, "\(w)x\(h)")
        #expect(text.contains { $0.hasPrefix("  6954") }, "\(w)x\(h)")
        #expect(text[h - 1].hasPrefix("q quit"), "\(w)x\(h)")
    }

    @Test func tooSmallSaysSo() {
        let frame = render(TopScene.view(width: 39), 39, 7)
        #expect(frame.line(0).hasPrefix("terminal too small: 39x7 (top needs 40"))
        #expect(render(TopScene.view(width: 50), 50, 6).line(0).hasPrefix("terminal too small"))
    }

    /// While the daemon is down the second row says so and for how long; the rest is the last
    /// frame, its sample growing stale.
    @Test func daemonDownBanner() {
        var view = TopScene.view(width: 100)
        view.connection = .down("drum-monitor is not running: nothing listens on /tmp/x.sock (Connection refused).\nSee `systemctl status drum-monitor`",
                                sinceUnixNs: TopScene.now - 12_000_000_000)
        let frame = render(view, 100, 30)
        #expect(frame.line(1).hasPrefix("reconnecting (down 12.0s): drum-monitor is not running: nothing listens on /tmp/x.sock"))
        #expect(frame.style(row: 1, column: 0).color == .red)
        let later = TopScreen.render(view, width: 100, height: 30, nowUnixNs: TopScene.now + 5_000_000_000)
        #expect(later.line(0).hasSuffix("sample #54 5.4s ago (stale)"))
    }

    /// Before the first answer: who is being asked.
    @Test func connecting() {
        let view = TopView(socketPath: "/run/drum-monitor/x.sock", windowSeconds: 300)
        let frame = render(view, 60, 10)
        #expect(frame.line(0).hasPrefix("drum-monitor · connecting to /run/drum-monitor/x.sock"))
        #expect(frame.line(9).hasPrefix("q quit  w window 5m"))
    }

    /// No target: every value null with its reason, no processes; nothing traps.
    @Test func noTarget() throws {
        let body = """
        {"sequence":3,"time":"2026-12-01T04:32:00.000Z","time_unix_ns":1796099520000000000,"interval_seconds":1,"measured_interval_seconds":1,
         "target":{"found":false,"root_pid":null,"mode":null,"generation":0,"process_count":0,"message":"no DRUM process found"},
         "cgroup":{"path":null,"version":null},
         "memory":{"current_bytes":null,"peak_bytes":null,"interval_peak_bytes":null,"interval_peak_exact":null,"limit_bytes":null,"limit_source":null,
                   "working_set_bytes":null,"oom_kills":null,"limit_hits":null,"pressure_some_avg10":null,"pressure_full_avg10":null,
                   "host_total_bytes":25276502016,"host_available_bytes":21125312512},
         "cpu":{"tree_cores":null,"cgroup_cores":null,"limit_cores":null,"throttled_fraction":null},"tree_rss_bytes":null,"processes":[],
         "unavailable":{"memory_current_bytes":"no target (no DRUM process found)","memory_limit_bytes":"no target (no DRUM process found)"}}
        """
        var view = TopView(socketPath: TopScene.socket, windowSeconds: 300)
        let s = try Documents.decode(SnapshotDocument.self, Array(body.utf8))
        view.snapshot = s
        view.table.update(s)
        view.connection = .up
        let lines = TopScreen.render(view, width: 80, height: 20, nowUnixNs: 1796099520500000000).lines
        #expect(lines[0].hasPrefix("drum-monitor · no target: no DRUM process found"))
        #expect(lines[1].hasPrefix("cgroup n/a: no target (no DRUM process found)"))
        #expect(lines[2].hasPrefix("mem  n/a of n/a (no target (no DRUM process found))"))
        #expect(lines.contains { $0.hasPrefix("  no processes (no target)") })
    }

    /// What a broken or hostile daemon could send: control characters, escapes, wide and
    /// zero-width characters in command lines and paths, numbers at the edges. Every row stays
    /// exactly the frame's width and nothing traps.
    @Test func hostileAnswersStayInTheFrame() throws {
        let body = """
        {"sequence":9223372036854775807,"time":"x","time_unix_ns":-9223372036854775808,"interval_seconds":1e-300,
         "target":{"found":true,"root_pid":2147483647,"mode":"\\u001b[2J","generation":-1,"process_count":99999999,"message":null},
         "cgroup":{"path":"/\\u001b]0;pwned\\u0007漢字漢字漢字","version":2},
         "memory":{"current_bytes":1e308,"peak_bytes":-1,"interval_peak_bytes":1.7976931348623157e308,"interval_peak_exact":false,"limit_bytes":1e-300,
                   "limit_source":"e\\u0301\\u200b\\u0000x","working_set_bytes":-1e308,"oom_kills":1e300,"limit_hits":-5,
                   "host_total_bytes":0,"host_available_bytes":0},
         "cpu":{"tree_cores":-1e308,"cgroup_cores":1e308,"limit_cores":1e-308,"throttled_fraction":1e308},"tree_rss_bytes":1e308,
         "processes":[{"pid":-1,"ppid":0,"role":"漢字漢字漢字漢字","cmdline":"\\u001b[31mred\\r\\n漢字\\u0301 🎉🎉🎉","rss_bytes":1e308,"cpu_cores":-1},
                      {"pid":2147483647,"ppid":0,"role":"worker","cmdline":"","rss_bytes":0,"cpu_cores":null}],
         "unavailable":{}}
        """
        var view = TopView(socketPath: TopScene.socket, windowSeconds: 300)
        let s = try Documents.decode(SnapshotDocument.self, Array(body.utf8))
        view.snapshot = s
        view.table.update(s)
        var recent = RecentEvents()
        recent.add([.init(sequence: 1, kind: "\u{1b}[H漢字", time: "", time_unix_ns: Int64.max, message: "\u{7}\u{1b}c漢字漢字"),
                    .init(sequence: 2, kind: "oom_kill", time: "", time_unix_ns: Int64.min, message: String(repeating: "🎉", count: 200))])
        view.events = recent
        var series = Series(SparkGeometry(windowSeconds: 1e9, room: 1000, intervalSeconds: 1e-300))
        series.add(sampleAt: Int64.min + 1, memory: 1e308, cpu: -1e308)
        series.add(sampleAt: Int64.max, memory: .infinity, cpu: .nan)
        view.series = series
        for (w, h) in [(40, 7), (61, 19), (100, 30), (133, 45)] {
            for glyphs in [Glyphs.unicode, .ascii] {
                let frame = TopScreen.render(view, width: w, height: h, nowUnixNs: Int64.max, options: .init(glyphs: glyphs))
                #expect(frame.lines.allSatisfy { TextWidth.width($0) == w }, "\(w)x\(h)")
                #expect(!frame.lines.joined().unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }, "a control character reached the screen")
                let bytes = TerminalBytes.update(from: nil, to: frame, color: true)
                // The only escapes are ours: cursor positions and SGR.
                #expect(!bytes.contains("\u{1b}]") && !bytes.contains("\u{1b}c") && !bytes.contains("\u{7}"))
            }
        }
    }

    /// A leak the daemon saw early (`time_to_limit_seconds`): the limit line says when, first.
    @Test func timeToLimit() {
        var view = TopScene.view(width: 100)
        view.snapshot?.memory.time_to_limit_seconds = 4500
        let frame = render(view, 100, 30)
        let row = frame.lines.firstIndex { $0.hasPrefix("     limit reached in 1h15m at this growth · from /drum-monitor-test-rec-32578") }
        #expect(row != nil, "\(frame.lines.joined(separator: "\n"))")
        if let row { #expect(frame.style(row: row, column: 5).color == .yellow) }
        #expect(!render(TopScene.view(width: 100), 100, 30).lines.contains { $0.contains("limit reached in") })
    }

    @Test func eventsPanelOnlyWithTheEndpoint() {
        let without = render(TopScene.view(width: 100, events: false), 100, 30).lines
        #expect(!without.contains { $0.hasPrefix("events") })
        var empty = TopScene.view(width: 100, events: false)
        empty.events = RecentEvents()
        #expect(render(empty, 100, 30).lines.contains { $0.hasPrefix("events  none yet") })
    }

    @Test func sortOrders() {
        var view = TopScene.view(width: 100)
        func pids() -> [String] {
            render(view, 100, 30).lines.drop { !$0.hasPrefix("  PID") }.dropFirst().prefix(6).map { String($0.dropFirst(2).prefix(6)).trimmingSpaces }
        }
        #expect(pids() == ["6954", "7017", "7573", "7621", "7018", "7019"])
        view.sort = view.sort.next
        #expect(view.sort == .rss)
        #expect(pids() == ["7017", "6954", "7018", "7573", "7019", "7621"])
        view.sort = view.sort.next
        #expect(view.sort == .cpu)
        #expect(render(view, 100, 30).lines.contains { $0.hasSuffix("sort: cpu ") })
        view.sort = view.sort.next
        #expect(view.sort == .pid)
    }

    /// `w` cycles 1m, 5m, 1h; a --window of another length joins the cycle in order.
    @Test func windowCycle() {
        var view = TopView(socketPath: TopScene.socket, windowSeconds: 300)
        var seen: [Double] = []
        for _ in 0..<4 { view.nextWindow(); seen.append(view.windowSeconds) }
        #expect(seen == [3600, 60, 300, 3600])
        var custom = TopView(socketPath: TopScene.socket, windowSeconds: 600)
        #expect(custom.windowCycle == [60, 300, 600, 3600])
        custom.nextWindow()
        #expect(custom.windowSeconds == 3600)
        let frame = render({ var v = TopScene.view(width: 100); v.nextWindow(); return v }(), 100, 30)
        #expect(frame.line(29).hasPrefix("q quit  w window 5m"))
        #expect(frame.lines.contains { $0.hasPrefix(" 5m  ") })
    }

    @Test func styles() {
        let frame = render(TopScene.view(width: 100), 100, 30)
        // The header is a bar across the whole width.
        #expect((0..<100).allSatisfy { frame.style(row: 0, column: $0).inverse })
        // 28% of the limit: green; the marks bold.
        #expect(frame.style(row: 2, column: 6).color == .green)
        #expect(frame.style(row: 2, column: 24).bold)
        // New processes green, vanished ones dim; OOM kills in the window red.
        let rows = frame.lines
        let new = rows.firstIndex { $0.hasPrefix("+ 7573") }!
        let gone = rows.firstIndex { $0.hasPrefix("- 7018") }!
        #expect(frame.style(row: new, column: 0).color == .green)
        #expect(frame.style(row: gone, column: 0).dim)
        let oom = rows.firstIndex { $0.contains("OOM kills 1") }!
        let column = rows[oom].unicodeScalars.count - rows[oom].drop { $0 != "O" }.unicodeScalars.count
        #expect(frame.style(row: oom, column: column).color == .red)
    }
}

extension String {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
