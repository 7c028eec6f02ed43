// The recorded run (TopFixtures) as `top` would hold it, for tests of frames and of the feed.
@testable import DaemonCore

enum TopScene {
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) -> T {
        // The fixtures are recorded answers: failing to read them is a broken test, not a case.
        try! Documents.decode(T.self, Array(json.utf8))
    }

    static var snapshot1: SnapshotDocument { decode(SnapshotDocument.self, TopFixtures.snapshot1) }
    static var snapshot2: SnapshotDocument { decode(SnapshotDocument.self, TopFixtures.snapshot2) }
    static var now: Int64 { snapshot2.time_unix_ns! + 400_000_000 }
    static let socket = "/run/drum-monitor/drum-monitor.sock"

    /// After both snapshots: the replaced workers marked, the 1m window, the sparklines from
    /// the recorded samples, the recorded events, the root up for 75 s.
    static func view(width: Int, events: Bool = true) -> TopView {
        var v = TopView(socketPath: socket, windowSeconds: 60)
        v.table.update(snapshot1)
        v.table.update(snapshot2)
        v.snapshot = snapshot2
        v.connection = .up
        v.window = decode(WindowDocument.self, TopFixtures.window1m)
        var series = Series(SparkGeometry(windowSeconds: 60, room: TopScreen.sparkRoom(width: width), intervalSeconds: 0.25))
        LiveFeed.fold(decode(SamplesDocument.self, TopFixtures.samples), into: &series)
        v.series = series
        if events {
            var recent = RecentEvents()
            recent.add(decode(EventsDocument.self, TopFixtures.events).events)
            v.events = recent
        }
        v.rootStartedUnixNs = snapshot2.time_unix_ns! - 75_000_000_000
        return v
    }
}
