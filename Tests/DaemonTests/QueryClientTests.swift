// `drum-monitor query` against a running daemon, a missing one, and with bad arguments.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("query client")
struct QueryClientTests {
    @Test func queriesARunningDaemon() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)
        let config = try writeConfig(dir)
        // 1s interval: /healthz stays "ok" even on a loaded host (stale means older than 3 intervals).
        let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "1s", "--pid", "\(sleeper.pid)"])
        defer { daemon.stop() }
        // Two samples, so windows and sample lists have something in them.
        let twoTicks = pollHTTP(sock, "/healthz", timeout: 60) { a in (a.json?.int("ticks") ?? 0) >= 2 }
        try #require(twoTicks != nil, "daemon never took two samples: \(daemon.description)")

        let env = cleanEnvironment()
        let cases: [(args: [String], human: String, check: ([String: Any]) -> Bool)] = [
            (["health"], "ticks", { $0.string("status") == "ok" && ($0.int("ticks") ?? 0) >= 2 }),
            (["snapshot"], "memory", { $0.object("target")?.int("root_pid") == Int(sleeper.pid) && $0.object("memory") != nil }),
            (["window", "10s"], "memory_current_bytes", { $0.object("window")?.double("seconds") == 10 && $0.object("fields")?.object("memory_current_bytes") != nil }),
            (["samples"], "sequence", { ($0["samples"] as? [Any])?.isEmpty == false }),
            (["stats"], "container_used", { $0.object("mem_info") != nil && ($0["drum_info"] as? [Any]) != nil }),
        ]
        for c in cases {
            let json = try run(bin, ["query"] + c.args + ["--socket", sock, "--json"], environment: env)
            #expect(json.status == 0, "query \(c.args) --json: exit \(json.status): \(json.stderr)")
            let object = try? jsonObject(json.stdout)
            #expect(object != nil, "query \(c.args) --json printed no JSON object: \(json.stdout)")
            if let object { #expect(c.check(object), "query \(c.args) --json: unexpected document \(json.stdout)") }

            let human = try run(bin, ["query"] + c.args + ["--socket", sock], environment: env)
            #expect(human.status == 0, "query \(c.args): exit \(human.status): \(human.stderr)")
            #expect(human.stdout.contains(c.human), "query \(c.args) output lacks '\(c.human)':\n\(human.stdout)")
            #expect((try? JSONSerialization.jsonObject(with: Data(human.stdout.utf8))) == nil, "query \(c.args) without --json printed JSON")
        }
        // The socket can also come from the environment.
        let viaEnv = try run(bin, ["query", "health", "--json"], environment: cleanEnvironment(["DRUM_MONITOR_SOCKET": sock]))
        #expect(viaEnv.status == 0, "DRUM_MONITOR_SOCKET not used: \(viaEnv.stderr)")

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    @Test func missingDaemonExitsThree() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try run(bin, ["query", "health", "--socket", dir.file("nobody.sock")], environment: cleanEnvironment())
        #expect(r.status == 3, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("drum-monitor is not running"), "\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
    }

    @Test func windowWithoutDurationIsAUsageError() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let r = try run(bin, ["query", "window", "--socket", dir.file("nobody.sock")], environment: cleanEnvironment())
        // ArgumentParser's validation errors exit with EX_USAGE (64), before any connection.
        #expect(r.status == 64, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("DURATION"), "\(r.stderr)")
        #expect(!r.stderr.contains("not running"), "usage error reported as a connection failure: \(r.stderr)")
    }
}
