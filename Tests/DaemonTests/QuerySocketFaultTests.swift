// The query socket under faults a production host produces (issue 11 items 21, 22): the daemon
// out of file descriptors, its socket file deleted or taken over.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("query socket faults")
struct QuerySocketFaultTests {
    func serve(_ scene: DaemonScene, prefix: [String] = [], extra: [String] = []) throws -> Spawned {
        let config = try writeConfig(scene.dir, "log_level: info\n")
        let daemon = [scene.bin, "serve", "--config", config, "--socket", scene.socket, "--interval", "100ms",
                      "--pid", "\(scene.sleeper.pid)"] + extra
        return try Spawned(prefix.first ?? daemon[0], Array((prefix + daemon).dropFirst()))
    }

    static let prlimit = Locations.tool("prlimit")

    /// Out of descriptors, accept is paused (logged once) rather than retried in a loop, and the
    /// daemon serves again once descriptors are free.
    @Test(.enabled(if: Conditions.check(prlimit != nil, "prlimit (util-linux) not installed")))
    func outOfDescriptorsAcceptPausesAndRecovers() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let daemon = try serve(scene)
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "\(daemon.description)")
        // The limit is set on the running daemon, a few descriptors above what it holds once serving,
        // so the test does not depend on how many the daemon needs to start (history file, threads…).
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.pid)/fd").count
        let limit = try run(try #require(Self.prlimit), ["--pid", "\(daemon.pid)", "--nofile=\(open + 8):\(open + 8)"])
        try #require(limit.status == 0, "prlimit: \(limit.stderr)")

        // Connections until accept fails: the log says so.
        let shortage = "cannot accept query connections"
        var held: [RawClient] = []
        while held.count < 100, !daemon.stderr.contains(shortage) {
            if let c = try? RawClient(path: scene.socket) {
                c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                held.append(c)
            }
            _ = pollUntil(timeout: 0.5) { daemon.stderr.contains(shortage) }
        }
        #expect(daemon.stderr.contains(shortage), "no shortage logged after \(held.count) connections: \(daemon.description)")
        #expect(daemon.stderr.contains("Too many open files"))
        // Several pauses later (each 100 ms), still said once. A negative: it can only be waited for.
        pause(1)
        #expect(daemon.stderr.components(separatedBy: shortage).count - 1 == 1, "\(daemon.stderr)")

        held.removeAll()
        #expect(pollHTTP(scene.socket, "/healthz", timeout: 30) != nil, "serving again: \(daemon.description)")
        #expect(daemon.stderr.contains("accepting query connections again"), "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// A deleted socket file is bound again (the history goes on); one taken by something else
    /// ends the daemon with status 1, so that systemd restarts it, and is not removed.
    @Test func aLostSocketFileIsBoundAgainOrEndsTheDaemon() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let daemon = try serve(scene)
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "\(daemon.description)")
        let sequence = try #require(try HTTP.get(unix: scene.socket, "/v1/snapshot").requireJSON().int("sequence"))

        unlink(scene.socket)
        let again = pollHTTP(scene.socket, "/v1/snapshot", timeout: 30)
        #expect(again != nil, "bound again: \(daemon.description)")
        #expect((try? again?.requireJSON().int("sequence")).flatMap { $0 }.map { $0 > sequence } == true, "the same history")
        #expect(daemon.stderr.contains("was removed or replaced; binding it again"))

        _ = try scene.dir.write("s.sock.new", "not a socket")
        #expect(rename(scene.dir.file("s.sock.new"), scene.socket) == 0)
        #expect(daemon.waitForExit(timeout: 30) == 1, "\(daemon.description)")
        #expect(daemon.stderr.contains("is not a socket"), "\(daemon.stderr)")
        #expect(readWholeFile(scene.socket) == "not a socket", "the file that took the path is left alone")
    }
}
