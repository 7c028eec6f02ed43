// The daemon and its history file (issue 15): restarts keep the samples, a second daemon on the
// same file runs in memory, bad files have their documented outcome — and sampling goes on.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("history file")
struct HistoryFileDaemonTests {
    /// Every held sample, by sequence: [sequence, time_unix_ns, generation, metrics...].
    static func held(_ socket: String) throws -> [Int: [Any]] {
        var rows: [Int: [Any]] = [:]
        var since = 0
        while true {
            let answer = try #require(try? HTTP.get(unix: socket, "/v1/samples?since=\(since)&limit=10000"), "no answer from \(socket)")
            let body = try answer.requireJSON()
            let samples = try #require(body["samples"] as? [[Any]])
            if samples.isEmpty { return rows }
            for row in samples { rows[try #require(row.first as? Int)] = row }
            since = try #require(body.int("next_since"))
        }
    }

    static func same(_ a: [Any], _ b: [Any]) -> Bool {
        (try? JSONSerialization.data(withJSONObject: a)) == (try? JSONSerialization.data(withJSONObject: b))
    }

    func serve(_ scene: DaemonScene, _ extra: [String] = []) throws -> Spawned {
        try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", scene.socket, "--interval", "100ms",
                                "--pid", "\(scene.sleeper.pid)"] + extra)
    }

    /// Stopped cleanly or killed, the daemon's successor adopts the history file: every sample
    /// is still there, unchanged; sequences go on by one; the first new sample has a new generation.
    @Test(arguments: [SIGTERM, SIGKILL])
    func aRestartKeepsTheSamples(_ stop: Int32) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let first = try serve(scene)
        defer { first.stop() }
        try #require(pollHTTP(scene.socket, "/healthz", timeout: 60) { ($0.json?.int("ticks") ?? 0) >= 10 } != nil, "\(first.description)")
        let before = try Self.held(scene.socket)
        first.signal(stop)
        #expect(first.waitForExit(timeout: 30) != nil)
        #expect(FileManager.default.fileExists(atPath: scene.dir.file("s.history")), "the history file is next to the socket")

        let second = try serve(scene)
        defer { second.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "\(second.description)")
        let after = try Self.held(scene.socket)
        let lost = before.keys.filter { after[$0] == nil || !Self.same(after[$0]!, before[$0]!) }
        #expect(lost.isEmpty, "\(lost.count) of \(before.count) samples lost or changed: \(lost.sorted().prefix(5))")
        let sequences = after.keys.sorted()
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 + 1 == $1 }, "sequences do not go on by one: \(sequences.prefix(3))…")
        let last = try #require(before.keys.max())
        let next = try #require(after[last + 1], "no sample after \(last)")
        #expect((next[2] as? Int ?? 0) > (before[last]![2] as? Int ?? 0), "the generation does not change at the restart")
        #expect(second.stderr.contains("adopted"), "\(second.stderr)")
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: 30) == 0, "\(second.description)")
    }

    /// Every held event, by sequence, as JSON objects.
    static func events(_ socket: String) throws -> [Int: [String: Any]] {
        var events: [Int: [String: Any]] = [:]
        var since = 0
        while true {
            let body = try #require(try? HTTP.get(unix: socket, "/v1/events?since=\(since)&limit=1000").requireJSON(), "no answer from \(socket)")
            let page = try #require(body.array("events"))
            if page.isEmpty { return events }
            for e in page { events[try #require(e.int("sequence"))] = e }
            since = try #require(body.int("next_since"))
        }
    }

    /// Issues 14 and 15: the events are kept in the history file too. A client following
    /// `/v1/events?since=N` across a restart, clean or SIGKILL, misses nothing and sees nothing
    /// twice: the events before are all there, unchanged, and the next sequence is the restart's.
    @Test(arguments: [SIGTERM, SIGKILL])
    func eventsContinueAcrossARestart(_ stop: Int32) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        var seen: [Int: [String: Any]] = [:]
        for run in 1...3 {
            let daemon = try serve(scene)
            defer { daemon.stop() }
            try #require(waitUntilServing(scene.socket) != nil, "\(daemon.description)")
            // Each run finds the sleeper (target_found); each after the first says it restarted.
            let last = seen.keys.max() ?? 0
            let answer = try #require(pollHTTP(scene.socket, "/v1/events?since=\(last)") { ($0.json?.array("events")?.count ?? 0) >= (run == 1 ? 1 : 2) },
                                      "run \(run): no new events after \(last): \(daemon.description)")
            let body = try answer.requireJSON()
            let new = try #require(body.array("events"))
            #expect(body.bool("truncated") == false, "run \(run): \(body)")
            #expect(new.first?.int("sequence") == last + 1, "run \(run): after \(last) came \(new.map { $0.int("sequence") ?? -1 })")
            if run > 1 {
                #expect(new.first?.string("kind") == "daemon_restarted", "run \(run): \(new.first ?? [:])")
                #expect(daemon.stderr.contains("adopted \(seen.count) events"), "run \(run): \(daemon.stderr)")
            }
            let held = try Self.events(scene.socket)
            let json = { (e: [String: Any]) in try? JSONSerialization.data(withJSONObject: e, options: [.sortedKeys]) }
            let changed = seen.keys.filter { held[$0] == nil || json(held[$0]!) != json(seen[$0]!) }
            #expect(changed.isEmpty, "run \(run): events \(changed.sorted()) lost or changed across the restart: \(changed.map { (seen[$0]!, held[$0] ?? [:]) })")
            let snapshot = try HTTP.get(unix: scene.socket, "/v1/snapshot").requireJSON()
            #expect(snapshot.int("newest_event_sequence") == held.keys.max(), "\(snapshot)")
            seen = held
            daemon.signal(stop)
            #expect(daemon.waitForExit(timeout: 30) != nil)
        }
    }

    /// Two daemons never share a file: the second keeps its history in memory and says so; the
    /// first's file is untouched and adopted at its next start.
    @Test func aSecondDaemonOnTheSameFileRunsInMemory() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let file = scene.dir.file("shared.history")
        let first = try serve(scene, ["--history-file", file])
        defer { first.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "\(first.description)")
        let other = scene.dir.file("other.sock")
        let second = try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", other, "--interval", "100ms",
                                             "--pid", "\(scene.sleeper.pid)", "--history-file", file])
        defer { second.stop() }
        try #require(waitUntilServing(other) != nil, "\(second.description)")
        #expect(second.stderr.contains("locked by another process") && second.stderr.contains("memory only"), "\(second.stderr)")
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: 30) == 0)
        let before = try Self.held(scene.socket)
        first.signal(SIGTERM)
        #expect(first.waitForExit(timeout: 30) == 0)
        let again = try serve(scene, ["--history-file", file])
        defer { again.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "\(again.description)")
        let after = try Self.held(scene.socket)
        #expect(before.keys.allSatisfy { after[$0] != nil }, "the first daemon's samples were not adopted")
    }

    /// What is found at the history file's path decides where the history goes; in every case
    /// the daemon serves and keeps sampling.
    @Test(arguments: ["random bytes", "a FIFO", "a directory", "a symlink", "none"])
    func badFilesHaveTheirOutcomeAndSamplingGoesOn(_ kind: String) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let path = scene.dir.file("s.history")
        var expected = ""
        switch kind {
        case "random bytes":
            _ = try scene.dir.write("s.history", bytes: (0..<5000).map { _ in UInt8.random(in: 0...255) })
            chmod(path, 0o600)
            expected = "renamed it to \(path).bad"
        case "a FIFO":
            #expect(mkfifo(path, 0o600) == 0)
            expected = "not a regular file (a FIFO); keeping the history in memory only"
        case "a directory":
            #expect(mkdir(path, 0o700) == 0)
            expected = "keeping the history in memory only"
        case "a symlink":
            #expect(symlink("/etc/passwd", path) == 0)
            expected = "is a symbolic link"
        default:
            expected = "history_file: none"
        }
        let daemon = try serve(scene, kind == "none" ? ["--history-file", "none"] : [])
        defer { daemon.stop() }
        let ticked = pollHTTP(scene.socket, "/healthz", timeout: 60) { ($0.json?.int("ticks") ?? 0) >= 5 }
        #expect(ticked != nil, "\(kind): not sampling: \(daemon.description)")
        #expect(daemon.stderr.contains(expected), "\(kind): \(daemon.stderr)")
        #expect(try Self.held(scene.socket).count >= 5, "\(kind)")
        if kind == "random bytes" { #expect(FileManager.default.fileExists(atPath: path + ".bad")) }
    }

    /// No write permission: the daemon as another user, the file root's. Memory only, and why.
    @Test(.enabled(if: Conditions.check(RealSystem.isRoot, "needs root to run the daemon as another user")))
    func noWritePermissionRunsInMemory() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let setpriv = try #require(Locations.tool("setpriv"), "setpriv (util-linux) not found")
        chmod(scene.dir.path, 0o777)
        let path = scene.dir.file("root.history")
        _ = try scene.dir.write("root.history", "")
        chmod(path, 0o644)
        let config = try writeConfig(scene.dir)
        chmod(config, 0o644)
        let daemon = try Spawned(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", scene.bin, "serve", "--config", config,
                                           "--socket", scene.socket, "--interval", "100ms", "--pid", "\(scene.sleeper.pid)",
                                           "--history-file", path, "--read-environment", "false"])
        defer { daemon.stop() }
        let ticked = pollHTTP(scene.socket, "/healthz", timeout: 60) { ($0.json?.int("ticks") ?? 0) >= 5 }
        #expect(ticked != nil, "not sampling: \(daemon.description)")
        #expect(daemon.stderr.contains("Permission denied") && daemon.stderr.contains("memory only"), "\(daemon.stderr)")
    }
}
