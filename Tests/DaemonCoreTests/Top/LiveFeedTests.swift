// What `top` asks the daemon, round by round, answered from recorded documents: the first
// round fills the sparklines, later rounds ask only for what is new; endpoints a daemon lacks
// are asked once; a daemon that goes away and comes back is asked everything again.
import Testing
@testable import DaemonCore
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// A daemon that answers from recorded documents and keeps the targets asked for.
final class RecordedDaemon {
    var snapshot = TopFixtures.snapshot2
    var ranges = true
    var events: String? = TopFixtures.events
    var down = false
    private(set) var asked: [String] = []

    func get(_ target: String) throws(UnixHTTPClient.Failure) -> (status: Int, body: [UInt8]) {
        if down { throw UnixHTTPClient.Failure(status: .notRunning, description: "drum-monitor is not running: nothing listens on /x.sock") }
        asked.append(target)
        func ok(_ s: String) -> (Int, [UInt8]) { (200, Array(s.utf8)) }
        if target == "/v1/snapshot" { return ok(snapshot) }
        if target.hasPrefix("/v1/window?from=") {
            return ranges ? ok(TopFixtures.window1m) : (400, Array(#"{"error":"unknown parameter 'from' (known: samples, seconds)"}"#.utf8))
        }
        if target.hasPrefix("/v1/window?seconds=") { return ok(TopFixtures.window1m) }
        if target.hasPrefix("/v1/samples?") { return ok(TopFixtures.samples) }
        if target.hasPrefix("/v1/events") {
            guard let events else { return (404, Array(#"{"error":"no such path: /v1/events"}"#.utf8)) }
            return ok(events)
        }
        return (404, Array(#"{"error":"no such path"}"#.utf8))
    }

    func round() -> [String] {
        defer { asked = [] }
        return asked
    }
}

@Suite struct LiveFeedTests {
    let request = FeedRequest(windowSeconds: 60, sparkRoom: 73)

    final class Counter { var count = 0 }

    func feed(starts: Counter = Counter()) -> LiveFeed {
        LiveFeed(socketPath: "/x.sock") { pid, _ in
            starts.count += 1
            return Int64(pid)
        }
    }

    @Test func firstRoundFillsThenOnlyWhatIsNew() {
        let daemon = RecordedDaemon()
        var feed = feed()
        let first = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(first.connection == .up)
        let asked = daemon.round()
        let geometry = SparkGeometry(windowSeconds: 60, room: 73, intervalSeconds: 0.25)
        #expect(asked.first == "/v1/snapshot")
        #expect(asked.filter { $0.hasPrefix("/v1/window?from=") }.count == geometry.columns)
        #expect(asked.contains("/v1/window?seconds=1m"))
        #expect(asked.contains("/v1/events?limit=8"))
        #expect(first.series?.geometry == geometry)
        #expect(first.events?.newestFirst.map(\.sequence) == [4, 3, 2, 1])
        #expect(first.rootStartedUnixNs == 6954)

        // The next round: the snapshot and the samples since. Not the window (a column's time
        // has not passed), nor events (the snapshot names no newer one).
        let second = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(daemon.round() == ["/v1/snapshot", "/v1/samples?since=68&limit=10000"])
        #expect(second.events?.newestFirst.count == 4)
        #expect(second.window != nil)
    }

    /// The window's maximum falls only as samples leave it: asked again once a column's time
    /// (60 s / 73 columns here) has passed since it was asked.
    @Test func windowAskedOncePerColumn() {
        let daemon = RecordedDaemon()
        var feed = feed()
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        _ = daemon.round()
        let at = TopScene.snapshot2.time_unix_ns!
        daemon.snapshot = daemon.snapshot.replacing("\"time_unix_ns\":\(at)", with: "\"time_unix_ns\":\(at + 800_000_000)")
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(!daemon.round().contains("/v1/window?seconds=1m"))
        daemon.snapshot = daemon.snapshot.replacing("\"time_unix_ns\":\(at + 800_000_000)", with: "\"time_unix_ns\":\(at + 830_000_000)")
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(daemon.round().contains("/v1/window?seconds=1m"))
    }

    /// Between two askings, new samples raise the window's maximum and OOM kills.
    @Test func newSamplesRaiseTheWindow() {
        var w = TopScene.decode(WindowDocument.self, TopFixtures.window1m)
        LiveFeed.raise(&w, memory: Double(300 << 20), oomKills: 2)
        #expect(w.fields["memory_interval_peak_bytes"]?.max == Double(300 << 20))
        #expect(w.fields["memory_oom_kills"]?.max == 2)
        #expect(w.fields["memory_oom_kills"]?.min == 0)
        LiveFeed.raise(&w, memory: 1, oomKills: nil)
        #expect(w.fields["memory_interval_peak_bytes"]?.max == Double(300 << 20))
        var series = Series(SparkGeometry(windowSeconds: 60, room: 73, intervalSeconds: 0.25))
        let maxima = LiveFeed.fold(TopScene.decode(SamplesDocument.self, TopFixtures.samples), into: &series)
        #expect(maxima.memory == 268_435_456)
        #expect(maxima.oomKills == 1)
    }

    /// The range's `from` and `to` as Unix seconds with nine decimals, the bucket's own.
    @Test func rangeParameters() {
        #expect(LiveFeed.unixSeconds(1_796_099_533_824_427_836) == "1796099533.824427836")
        #expect(LiveFeed.unixSeconds(5) == "0.000000005")
        #expect(LiveFeed.unixSeconds(-5) == "0.000000000")
    }

    /// A daemon without range windows (400 for `from`): the sparklines come from its samples.
    @Test func withoutRangesFromSamples() {
        let daemon = RecordedDaemon()
        daemon.ranges = false
        var feed = feed()
        let report = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        let asked = daemon.round()
        #expect(asked.filter { $0.hasPrefix("/v1/window?from=") }.count == 1)
        // A minute at 250ms: 240 samples (and two more) before snapshot 54: from 0.
        #expect(asked.contains("/v1/samples?since=0&limit=242"))
        #expect(report.series?.newest != nil)
    }

    /// A daemon without events (404): no panel, and not asked again on this connection.
    @Test func withoutEventsNoPanel() {
        let daemon = RecordedDaemon()
        daemon.events = nil
        var feed = feed()
        let first = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(first.events == nil)
        #expect(first.connection == .up)
        _ = daemon.round()
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(!daemon.round().contains { $0.hasPrefix("/v1/events") })
    }

    /// A newer event in the snapshot: asked for from the newest held.
    @Test func newEventsWhenTheSnapshotSaysSo() {
        let daemon = RecordedDaemon()
        var feed = feed()
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        _ = daemon.round()
        daemon.snapshot = daemon.snapshot.replacing(#""sequence":54,"#, with: #""sequence":55,"newest_event_sequence":6,"#)
        daemon.events = #"{"truncated":false,"next_since":6,"newest_sequence":6,"events":[{"sequence":5,"kind":"memory_high","time":"t","message":"five"},{"sequence":6,"kind":"process_exit","time":"t","message":"six"}]}"#
        let report = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(daemon.round().contains("/v1/events?since=4&limit=8"))
        #expect(report.events?.newestFirst.map(\.sequence) == [6, 5, 4, 3, 2, 1])
    }

    /// Down: said with the reason and the status `query` would exit with; back: asked everything again.
    @Test func downThenBack() {
        let daemon = RecordedDaemon()
        let starts = Counter()
        var feed = feed(starts: starts)
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        _ = daemon.round()
        daemon.down = true
        let down = feed.refresh(request, now: TopScene.now + 1) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(down.connection == .down("drum-monitor is not running: nothing listens on /x.sock", sinceUnixNs: TopScene.now + 1))
        #expect(down.failure?.status == .notRunning)
        #expect(down.snapshot?.sequence == 54, "the last snapshot is kept for the screen")
        let stillDown = feed.refresh(request, now: TopScene.now + 2) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(stillDown.connection == .down("drum-monitor is not running: nothing listens on /x.sock", sinceUnixNs: TopScene.now + 1))
        daemon.down = false
        let back = feed.refresh(request, now: TopScene.now + 3) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(back.connection == .up)
        #expect(back.failure == nil)
        let asked = daemon.round()
        #expect(asked.contains { $0.hasPrefix("/v1/window?from=") }, "the sparklines are filled again")
        #expect(asked.contains("/v1/events?limit=8"), "the events endpoint is asked about again")
        #expect(starts.count == 1, "the root's start is read once per root")
    }

    /// Another window (the `w` key) or another width: filled again for the new geometry.
    @Test func newGeometryFillsAgain() {
        let daemon = RecordedDaemon()
        var feed = feed()
        _ = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        _ = daemon.round()
        let report = feed.refresh(FeedRequest(windowSeconds: 300, sparkRoom: 33), now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(daemon.round().filter { $0.hasPrefix("/v1/window?from=") }.count == 33)
        #expect(report.series?.geometry == SparkGeometry(windowSeconds: 300, room: 33, intervalSeconds: 0.25))
    }

    /// An answer that is not the document expected is a failure with the target named.
    @Test func unreadableAnswer() {
        let daemon = RecordedDaemon()
        daemon.snapshot = "{\"sequence\": \"x\"}"
        var feed = feed()
        let report = feed.refresh(request, now: TopScene.now) { t throws(UnixHTTPClient.Failure) in try daemon.get(t) }
        #expect(report.failure?.status == .failure)
        #expect(report.failure?.description.contains("cannot read the daemon's answer to /v1/snapshot") == true)
    }

    @Test func rootStartFromProc() throws {
        // This process: its own command line from /proc, so the check passes; another command
        // line for the same pid does not.
        let pid = Int(getpid())
        let fd = open("/proc/self/cmdline", O_RDONLY)
        var bytes = [UInt8](repeating: 0, count: 65536)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        let cmdline = bytes.prefix(max(n, 0)).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        let started = try #require(RootStart.unixNanos(pid: pid, cmdline: cmdline))
        #expect(started <= Clock.wallNanos() && started > Clock.wallNanos() - 86_400_000_000_000)
        #expect(RootStart.unixNanos(pid: pid, cmdline: cmdline + " x") == nil)
        #expect(RootStart.startTicks(Array("1 (a) b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 12345 20".utf8)) == 12345)
        #expect(RootStart.startTicks(Array("1 (x) S 1".utf8)) == nil)
        #expect(RootStart.bootTime(Array("cpu 1 2\nbtime 1700000000\nprocesses 5\n".utf8)) == 1_700_000_000)
    }
}
