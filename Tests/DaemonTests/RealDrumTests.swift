// Real DataRobot DRUM (datarobot-drum from PyPI, in the venv Tests/Drum/venv.sh builds) watched by
// the daemon: gunicorn master + workers, the exec from `drum` into gunicorn, werkzeug's
// per-request children, and /stats/ compared with DRUM's own.
// Runs when DRUM_VENV is set (make test sets it); belongs in a DrumTests target once there is one.
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A DRUM server started for one test; `stop()` (in a defer) stops its whole tree by pid.
final class DrumServer: Sendable {
    let pid: Int32
    let port: UInt16
    private let launcher: Spawned?
    private let xdg: String?
    let logHint: String

    /// Tests/Drum/start-drum.sh MODE WORKERS PORT: returns once DRUM answers HTTP. Its log goes
    /// to `logDir` (the test's temporary directory, removed with it).
    init(mode: String, workers: Int, port: UInt16, venv: String, logDir: String) throws {
        self.port = port
        let script = Locations.repoRoot + "/Tests/Drum/start-drum.sh"
        let r = try run("/bin/bash", [script, mode, "\(workers)", "\(port)"],
                        environment: cleanEnvironment(["DRUM_VENV": venv, "DRUM_LOG_DIR": logDir]), timeout: 180)
        logHint = r.stderr
        let pid = Int32(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        try #require(r.status == 0 && pid != nil, "start-drum.sh \(mode) \(workers) \(port) failed (\(r.status)):\n\(r.stderr)")
        self.pid = pid!
        launcher = nil
        xdg = nil
    }

    /// `drum server` started directly, not waiting for it: the pid is still `drum` (before the
    /// gunicorn exec). Same environment as start-drum.sh.
    init(startingGunicornWorkers workers: Int, port: UInt16, venv: String) throws {
        self.port = port
        let xdg = try #require(makeTemporaryDirectory("/tmp/drum-xdg.XXXXXX"), "mkdtemp: \(String(cString: strerror(errno)))")
        self.xdg = xdg
        let env = cleanEnvironment([
            "XDG_RUNTIME_DIR": xdg,
            "MAX_WORKERS": "\(workers)",
            "MLOPS_RUNTIME_PARAM_DRUM_SERVER_TYPE": #"{"type":"string","payload":"gunicorn"}"#,
            "PYTHONUNBUFFERED": "1",
        ])
        let launcher = try Spawned(venv + "/bin/drum", ["server", "--code-dir", Locations.repoRoot + "/Tests/Drum/model",
                                                       "--address", "127.0.0.1:\(port)", "--target-type", "unstructured"],
                                   environment: env)
        self.launcher = launcher
        pid = launcher.pid
        logHint = "drum log: \(launcher.stderrPath)"
    }

    /// DRUM's output so far, for failure messages.
    var log: String {
        if let launcher { return launcher.stdout + launcher.stderr }
        let path = logHint.split(separator: "\n").first { $0.hasPrefix("drum log: ") }.map { String($0.dropFirst("drum log: ".count)) }
        let text = path.flatMap(readWholeFile) ?? ""
        return logHint + "\n" + text.split(separator: "\n").suffix(60).joined(separator: "\n")
    }

    func stop() {
        _ = try? run("/bin/bash", [Locations.repoRoot + "/Tests/Drum/stop-drum.sh", "\(pid)"], timeout: 60)
        launcher?.stop()
        if let xdg { try? FileManager.default.removeItem(atPath: xdg) }
    }

    var workers: [Int32] { childrenOf(pid) }
}

@Suite("real DRUM", .serialized,
       .enabled(if: Conditions.check(Locations.drumVenv != nil, "DRUM_VENV is not set (make test sets it from Tests/Drum/venv.sh)")))
struct RealDrumTests {
    /// A port per test: distinct for concurrent test processes and for the tests within one.
    static func port(_ offset: Int) -> UInt16 { UInt16(20000 + (Int(getpid()) * 7 + offset) % 10000) }

    func startDaemon(_ bin: String, _ dir: TempDir, pid: Int32) throws -> (Spawned, String) {
        let sock = dir.file("s.sock")
        let config = try writeConfig(dir)
        let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "100ms", "--pid", "\(pid)"])
        return (daemon, sock)
    }

    func snapshot(_ sock: String) -> [String: Any]? {
        guard let a = try? HTTP.get(unix: sock, "/v1/snapshot", timeout: 5), a.status == 200 else { return nil }
        return try? a.requireJSON()
    }

    /// gunicorn with 3 workers: master + 3 workers in the snapshot; `sample --root-of WORKER`
    /// climbs to the master; our /stats/ lists all 4 processes (MiB), DRUM's own lists one.
    @Test func gunicornTree() throws {
        let bin = try Locations.requireBinary()
        let venv = try #require(Locations.drumVenv)
        let dir = try TempDir()
        defer { dir.remove() }
        let drum = try DrumServer(mode: "gunicorn", workers: 3, port: Self.port(0), venv: venv, logDir: dir.path)
        defer { drum.stop() }
        let workers = try #require(poll(timeout: 60) { drum.workers.count == 3 ? drum.workers : nil },
                                   "gunicorn never had 3 workers (has \(drum.workers)): \(drum.log)")

        let (daemon, sock) = try startDaemon(bin, dir, pid: drum.pid)
        defer { daemon.stop() }
        let full = poll(timeout: 60) { () -> [String: Any]? in
            guard let s = snapshot(sock), s.object("target")?.int("process_count") == 4 else { return nil }
            return s
        }
        let snap = try #require(full, "never 4 processes: \(snapshot(sock).map { "\($0)" } ?? "no snapshot") \(daemon.description)\n\(drum.log)")
        let target = try #require(snap.object("target"))
        #expect(target.string("mode") == "gunicorn", "\(target)")
        #expect(target.int("root_pid") == Int(drum.pid), "\(target)")
        let processes = try #require(snap.array("processes"))
        let masters = processes.filter { $0.string("role") == "master" }
        let workerEntries = processes.filter { $0.string("role") == "worker" }
        #expect(masters.count == 1 && masters.first?.int("pid") == Int(drum.pid), "masters: \(masters)")
        #expect(Set(workerEntries.compactMap { $0.int("pid") }) == Set(workers.map(Int.init)), "workers \(workers) vs \(workerEntries)")
        #expect(workerEntries.allSatisfy { $0.int("ppid") == Int(drum.pid) }, "\(workerEntries)")

        // One-shot sampling from a worker finds the same root.
        let sample = try run(bin, ["sample", "--root-of", "\(workers[0])", "--json"])
        #expect(sample.status == 0, "sample --root-of \(workers[0]): \(sample.stderr)")
        let sampled = try? jsonObject(sample.stdout)
        #expect(sampled?.object("target")?.int("root_pid") == Int(drum.pid), "sample --root-of: \(sample.stdout)")
        #expect(sampled?.object("target")?.string("mode") == "gunicorn", "sample --root-of: \(sample.stdout)")

        // /stats/: every process of the tree, memory in MiB (a Python worker: more than 1 MiB, far
        // less than a million; bytes would be ~1e7).
        let ours = try #require(try? HTTP.get(unix: sock, "/stats/").requireJSON(), "no /stats/ from drum-monitor")
        let info = try #require(ours.array("drum_info"), "\(ours)")
        #expect(info.count == 4, "drum-monitor /stats/ drum_info: \(info)")
        #expect(Set(info.compactMap { $0.int("pid") }) == Set([Int(drum.pid)] + workers.map(Int.init)), "\(info)")
        for entry in info {
            let mem = entry.double("mem")
            #expect(mem.map { $0 > 1 && $0 < 1_000_000 } == true, "mem not in MiB: \(entry)")
        }
        let drumsOwn = try HTTP.request(port: drum.port, "GET", "/stats/")
        #expect(drumsOwn.status == 200, "DRUM /stats/: \(drumsOwn.status) \(drumsOwn.text)")
        let theirs = try drumsOwn.requireJSON()
        #expect(theirs.array("drum_info")?.count == 1, "DRUM's own /stats/ drum_info: \(theirs)")

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// Watching `drum` from its first moments: it execs in place into gunicorn; the daemon notices
    /// (a new generation) and ends up with master + 3 workers.
    @Test func followsTheExecIntoGunicorn() throws {
        let bin = try Locations.requireBinary()
        let venv = try #require(Locations.drumVenv)
        let dir = try TempDir()
        defer { dir.remove() }
        let drum = try DrumServer(startingGunicornWorkers: 3, port: Self.port(1), venv: venv)
        defer { drum.stop() }
        let (daemon, sock) = try startDaemon(bin, dir, pid: drum.pid)
        defer { daemon.stop() }

        let first = try #require(poll(timeout: 60) { snapshot(sock) }, "no snapshot: \(daemon.description)")
        let firstTarget = try #require(first.object("target"))
        let firstMaster = first.array("processes")?.first { $0.string("role") == "master" }
        let before = try #require(firstTarget.int("generation"))
        #expect(firstTarget.int("root_pid") == Int(drum.pid), "\(firstTarget)")
        // The exec takes DRUM a second or more; the daemon attached before it.
        let cmdline = firstMaster?.string("cmdline") ?? ""
        try #require(!cmdline.contains("gunicorn"), "DRUM had already exec'd into gunicorn when the daemon first sampled (\(cmdline)); cannot observe the exec")

        let after = poll(timeout: 90) { () -> [String: Any]? in
            guard let s = snapshot(sock), let t = s.object("target"), t.string("mode") == "gunicorn", t.int("process_count") == 4 else { return nil }
            return s
        }
        let last = try #require(after, "never gunicorn with 4 processes: \(snapshot(sock).map { "\($0)" } ?? "none")\n\(daemon.description)\n\(drum.log)")
        let target = try #require(last.object("target"))
        #expect(target.int("root_pid") == Int(drum.pid), "\(target)")
        #expect((target.int("generation") ?? 0) > before, "generation \(before) -> \(target.int("generation") ?? -1) across the exec")
        #expect(comm(drum.pid) != "drum", "pid \(drum.pid) has not exec'd (comm \(comm(drum.pid) ?? "gone"))")

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// werkzeug with MAX_WORKERS=3 forks a child per request: three slow requests in flight show up
    /// as worker children of the root.
    @Test func werkzeugRequestChildren() throws {
        let bin = try Locations.requireBinary()
        let venv = try #require(Locations.drumVenv)
        let dir = try TempDir()
        defer { dir.remove() }
        let drum = try DrumServer(mode: "werkzeug", workers: 3, port: Self.port(2), venv: venv, logDir: dir.path)
        defer { drum.stop() }
        let (daemon, sock) = try startDaemon(bin, dir, pid: drum.pid)
        defer { daemon.stop() }

        let first = try #require(poll(timeout: 60) { snapshot(sock) }, "no snapshot: \(daemon.description)")
        #expect(first.object("target")?.string("mode") == "werkzeug", "\(first.object("target") ?? [:])")
        #expect(first.object("target")?.int("root_pid") == Int(drum.pid))

        // Three concurrent slow requests (each handled by a forked child for 3 s).
        let answers = Mutex<[Int]>([])
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            Thread {
                let status = (try? HTTP.request(port: drum.port, "POST", "/predictUnstructured/", body: Array("sleep:3".utf8), timeout: 60))?.status ?? -1
                answers.withLock { $0.append(status) }
                group.leave()
            }.start()
        }
        let busy = poll(timeout: 30, every: 0.05) { () -> [String: Any]? in
            guard let s = snapshot(sock), (s.object("target")?.int("process_count") ?? 0) >= 2,
                  s.array("processes")?.contains(where: { $0.string("role") == "worker" && $0.int("ppid") == Int(drum.pid) }) == true
            else { return nil }
            return s
        }
        #expect(busy != nil, "no worker child seen while requests were in flight: \(snapshot(sock).map { "\($0)" } ?? "none")")
        #expect(group.wait(timeout: .now() + 90) == .success, "slow requests did not finish")
        #expect(answers.withLock { $0 } == [200, 200, 200], "request statuses: \(answers.withLock { $0 })")

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// Two DRUM servers on one host (issue 16): a daemon started before the one it is told to
    /// watch (`match: --address 127.0.0.1:PORT`) waits, saying for what, while the other serves;
    /// one started with DRUM follows it across the exec into gunicorn; neither ever takes the
    /// other server; `sample --match` finds the other by DRUM's arguments in its environment.
    @Test func twoServersEachDaemonMatchesItsOwnAcrossTheExec() throws {
        let bin = try Locations.requireBinary()
        let venv = try #require(Locations.drumVenv)
        let dir = try TempDir()
        defer { dir.remove() }
        let other = try DrumServer(mode: "gunicorn", workers: 1, port: Self.port(3), venv: venv, logDir: dir.path)
        defer { other.stop() }
        let address = "--address 127.0.0.1:\(Self.port(4))"
        let config = try writeConfig(dir)
        func serve(_ socket: String) throws -> Spawned {
            try Spawned(bin, ["serve", "--config", config, "--socket", socket, "--interval", "100ms", "--match", address])
        }
        let early = try serve(dir.file("early.sock"))
        defer { early.stop() }
        let waiting = poll(timeout: 30) { () -> String? in
            guard let t = snapshot(dir.file("early.sock"))?.object("target"), t.bool("found") == false,
                  let m = t.string("message"), m.contains("not match") else { return nil }
            return m
        }
        let message = try #require(waiting, "no waiting message: \(snapshot(dir.file("early.sock")).map { "\($0)" } ?? "none") \(early.description)")
        #expect(message.hasPrefix("no DRUM process whose command line contains '\(address)' found; "), "\(message)")

        // `drum server` not yet exec'd, and a daemon started with it.
        let drum = try DrumServer(startingGunicornWorkers: 2, port: Self.port(4), venv: venv)
        defer { drum.stop() }
        let late = try serve(dir.file("late.sock"))
        defer { late.stop() }

        let first = try #require(poll(timeout: 60) { snapshot(dir.file("late.sock")).flatMap { $0.object("target")?.bool("found") == true ? $0 : nil } },
                                 "never found: \(late.description)")
        let firstTarget = try #require(first.object("target"))
        #expect(firstTarget.int("root_pid") == Int(drum.pid), "\(firstTarget)")
        let cmdline = first.array("processes")?.first { $0.string("role") == "master" }?.string("cmdline") ?? ""
        try #require(!cmdline.contains("gunicorn"), "DRUM had already exec'd into gunicorn when the daemon first sampled (\(cmdline)); cannot observe the exec")

        for (daemon, socket) in [(late, dir.file("late.sock")), (early, dir.file("early.sock"))] {
            var tookOther = false
            let settled = poll(timeout: 90) { () -> [String: Any]? in
                guard let t = snapshot(socket)?.object("target") else { return nil }
                if t.int("root_pid") == Int(other.pid) { tookOther = true }
                return t.int("root_pid") == Int(drum.pid) && t.string("mode") == "gunicorn" && t.int("process_count") == 3 ? t : nil
            }
            let target = try #require(settled, "never gunicorn \(drum.pid) with 3 processes: \(snapshot(socket).map { "\($0)" } ?? "none")\n\(daemon.description)\n\(drum.log)")
            #expect(!tookOther, "watched the other DRUM, \(other.pid)")
            if daemon === late {
                #expect((target.int("generation") ?? 0) > (firstTarget.int("generation") ?? 0), "across the exec: \(firstTarget) -> \(target)")
            }
        }
        #expect(comm(drum.pid) != "drum", "pid \(drum.pid) has not exec'd (comm \(comm(drum.pid) ?? "gone"))")

        let sample = try run(bin, ["sample", "--match", "--address 127.0.0.1:\(Self.port(3))", "--over", "50ms", "--json"])
        let sampled = try? jsonObject(sample.stdout)
        #expect(sampled?.object("target")?.int("root_pid") == Int(other.pid), "sample --match: \(sample.stdout) \(sample.stderr)")
        #expect(sampled?.object("target")?.string("mode") == "gunicorn")

        for daemon in [early, late] {
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
        }
    }
}
