// The daemon's side of systemd: sd_notify (READY/WATCHDOG/RELOADING/STOPPING), a watchdog that
// stops when the sampler is wedged, socket activation, journald priority prefixes, and the
// hardening of the shipped unit.
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("systemd protocol")
struct SystemdProtocolTests {
    /// READY=1 (with STATUS=) arrives only once the socket answers; WATCHDOG=1 keeps coming;
    /// SIGHUP gives RELOADING=1 + MONOTONIC_USEC then READY=1; SIGTERM gives STOPPING=1, exit 0,
    /// and the socket file is gone.
    @Test func notifyLifecycle() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)
        let listener = try NotifyListener(path: dir.file("notify")) {
            // Runs the moment READY=1 is received: the socket must already be there and answer.
            guard access(sock, F_OK) == 0 else { return "no socket file" }
            do { return "healthz \(try HTTP.get(unix: sock, "/healthz", timeout: 5).status)" } catch { return "\(error)" }
        }
        defer { listener.close() }
        let config = try writeConfig(dir)

        let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "100ms", "--pid", "\(sleeper.pid)"],
                                 environment: cleanEnvironment(["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"]))
        defer { daemon.stop() }

        let ready = try #require(listener.wait(timeout: 60) { $0.has("READY=1") }, "no READY=1: \(daemon.description)")
        #expect(ready.fields["STATUS"] != nil, "READY=1 without STATUS=: \(ready.text)")
        #expect(ready.probe == "healthz 200", "when READY=1 arrived, /healthz gave: \(ready.probe ?? "nothing")")
        let beforeReady = listener.messages.prefix(ready.index)
        #expect(!beforeReady.contains { $0.has("WATCHDOG=1") }, "WATCHDOG=1 before READY=1")

        // Watchdog pings keep coming (WATCHDOG_USEC=2s: at least every second).
        let thirdPing = listener.wait(from: ready.index + 1, timeout: 30) { _ in
            listener.messages.dropFirst(ready.index + 1).filter { $0.has("WATCHDOG=1") }.count >= 3
        }
        #expect(thirdPing != nil, "fewer than 3 WATCHDOG=1 after READY: \(listener.messages.map(\.text))")

        // SIGHUP: RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, taken between the signal and now), then READY=1.
        let mark = listener.messages.count
        let beforeHUP = monotonicMicros()
        daemon.signal(SIGHUP)
        let reloading = try #require(listener.wait(from: mark, timeout: 30) { $0.has("RELOADING=1") },
                                     "no RELOADING=1 after SIGHUP: \(listener.messages.dropFirst(mark).map(\.text))")
        let afterReloading = monotonicMicros()
        let usec = try #require(reloading.fields["MONOTONIC_USEC"].flatMap(UInt64.init), "RELOADING=1 without MONOTONIC_USEC=: \(reloading.text)")
        #expect(usec >= beforeHUP && usec <= afterReloading, "MONOTONIC_USEC \(usec) not between \(beforeHUP) and \(afterReloading)")
        let reloaded = listener.wait(from: reloading.index + 1, timeout: 30) { $0.has("READY=1") }
        #expect(reloaded != nil, "no READY=1 after RELOADING=1: \(listener.messages.dropFirst(mark).map(\.text))")
        #expect(daemon.isRunning, "SIGHUP stopped the daemon: \(daemon.description)")

        // SIGTERM: STOPPING=1, exit 0, socket file removed.
        let stopMark = listener.messages.count
        daemon.signal(SIGTERM)
        let stopping = listener.wait(from: stopMark, timeout: 30) { $0.has("STOPPING=1") }
        #expect(stopping != nil, "no STOPPING=1 after SIGTERM: \(listener.messages.dropFirst(stopMark).map(\.text))")
        let status = daemon.waitForExit(timeout: 30)
        #expect(status == 0, "exit status after SIGTERM: \(status.map(String.init) ?? "still running"): \(daemon.description)")
        #expect(access(sock, F_OK) != 0, "socket file \(sock) left behind after SIGTERM")
        if let reloaded, let stopping { #expect(reloaded.index < stopping.index) }
    }

    /// WATCHDOG=1 stops while the sampler is stuck (its thread held mid-tick: `SamplerWedge`)
    /// although the query socket still answers, /healthz says "stale", and both recover once it
    /// is unstuck.
    @Test func watchdogStopsWhileSamplerIsWedged() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let (bin, dir, sleeper, sock) = (scene.bin, scene.dir, scene.sleeper, scene.socket)
        let pidfile = try dir.write("pid", "\(sleeper.pid)\n")
        let listener = try NotifyListener(path: dir.file("notify"))
        defer { listener.close() }
        let config = try writeConfig(dir)

        let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "100ms", "--pidfile", pidfile],
                                 environment: cleanEnvironment(["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"]))
        defer { daemon.stop() }

        let ready = try #require(listener.wait(timeout: 60) { $0.has("READY=1") }, "no READY=1: \(daemon.description)")
        let pinging = listener.wait(from: ready.index, timeout: 30) { _ in
            listener.messages.dropFirst(ready.index).filter { $0.has("WATCHDOG=1") }.count >= 2
        }
        try #require(pinging != nil, "watchdog pings never started: \(listener.messages.map(\.text))")
        let healthy = pollHTTP(sock, "/healthz")
        try #require(healthy != nil, "/healthz never 200 before wedging: \(daemon.description)")
        let snapshot = try #require(pollHTTP(sock, "/v1/snapshot")).requireJSON()
        #expect(snapshot.object("target")?.int("root_pid") == Int(sleeper.pid), "pidfile target not watched: \(snapshot)")

        // Wedge: the sampler's thread is held in the middle of a tick.
        let wedge = try SamplerWedge(daemon: daemon.pid, readingStatOf: sleeper.pid)
        defer { wedge.release() }
        let wedgedAt = monotonicSeconds()

        // The query server keeps answering, and says the samples are stale.
        let stale = pollHTTP(sock, "/healthz", timeout: 30) { $0.status == 503 }
        let staleBody = try stale.map { try $0.requireJSON() }
        #expect(stale?.status == 503 && staleBody?.string("status") == "stale",
                "/healthz did not turn 503 stale while wedged: \(stale?.text ?? "no answer")")

        // No WATCHDOG=1 for 3 s after the last one (at 2 s watchdog, pings come every second).
        func lastPing() -> Double {
            max(wedgedAt, listener.messages.last(where: { $0.has("WATCHDOG=1") })?.at ?? 0)
        }
        let quiet = pollUntil(timeout: 30, every: 0.1) { monotonicSeconds() - lastPing() >= 3 }
        #expect(quiet, "WATCHDOG=1 kept coming while the sampler was wedged: \(listener.messages.suffix(10).map { "\($0.at - wedgedAt): \($0.text)" })")
        // Still answering while wedged.
        #expect((try? HTTP.get(unix: sock, "/healthz", timeout: 5).status) == 503)

        // Unwedge.
        wedge.release()

        let resumeMark = listener.messages.count
        let resumed = listener.wait(from: resumeMark, timeout: 30) { $0.has("WATCHDOG=1") }
        #expect(resumed != nil, "WATCHDOG=1 did not come back after unwedging: \(daemon.description)")
        let healthyAgain = pollHTTP(sock, "/healthz", timeout: 30)
        #expect(healthyAgain != nil, "/healthz not 200 after unwedging")
        let watchedAgain = pollHTTP(sock, "/v1/snapshot", timeout: 30) { a in
            a.json?.object("target")?.int("root_pid") == Int(sleeper.pid)
        }
        #expect(watchedAgain != nil, "the pidfile's pid is not watched again after unwedging")

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// Started by systemd-socket-activate, the daemon serves on the inherited socket (not its own
    /// --socket path) and leaves the socket file, which systemd owns, in place when it stops.
    @Test(.enabled(if: Conditions.check(Locations.tool("systemd-socket-activate") != nil,
                                        "systemd-socket-activate not installed (Debian package systemd)")))
    func socketActivation() throws {
        let bin = try Locations.requireBinary()
        let activate = try #require(Locations.tool("systemd-socket-activate"))
        let dir = try TempDir()
        defer { dir.remove() }
        let sleeper = try Spawned.sleeper()
        defer { sleeper.stop() }
        let sock = dir.file("act.sock")
        let unused = dir.file("own.sock")
        let config = try writeConfig(dir)

        let daemon = try Spawned(activate, ["-l", sock, bin, "serve", "--config", config, "--socket", unused,
                                            "--interval", "100ms", "--pid", "\(sleeper.pid)"])
        defer { daemon.stop() }
        // The listening socket appears first; the daemon starts on the first connection.
        let listening = pollUntil(timeout: 30) { access(sock, F_OK) == 0 }
        try #require(listening, "systemd-socket-activate did not create \(sock): \(daemon.description)")
        let health = waitUntilServing(sock)
        try #require(health?.status == 200, "no 200 from /healthz on the activated socket: \(daemon.description)")
        #expect(access(unused, F_OK) != 0, "the daemon bound its own --socket \(unused) despite an inherited socket")
        let execd = comm(daemon.pid)
        #expect(execd == "drum-monitor", "pid \(daemon.pid) is \(execd ?? "gone"), expected systemd-socket-activate to exec drum-monitor")

        daemon.signal(SIGTERM)
        let status = daemon.waitForExit(timeout: 30)
        #expect(status == 0, "exit status \(status.map(String.init) ?? "still running"): \(daemon.description)")
        var st = stat()
        #expect(lstat(sock, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK,
                "the daemon removed the socket file systemd owns")
    }

    /// SIGTERM as soon as the socket answers (systemd stopping a unit that just started, or a
    /// client racing a restart) still stops the daemon cleanly: exit 0, socket file removed.
    @Test func sigtermDuringStartupStopsCleanly() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let sleeper = try Spawned.sleeper()
        defer { sleeper.stop() }
        let config = try writeConfig(dir)
        for round in 1...5 {
            let sock = dir.file("s\(round).sock")
            let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "100ms", "--pid", "\(sleeper.pid)"])
            defer { daemon.stop() }
            let answered = pollHTTP(sock, "/healthz", timeout: 60, every: 0.002) { _ in true }
            try #require(answered != nil, "round \(round): the daemon never answered: \(daemon.description)")
            daemon.signal(SIGTERM)
            let status = daemon.waitForExit(timeout: 30)
            #expect(status == 0, "round \(round): SIGTERM right after the socket answered: exit \(status.map(String.init) ?? "none, still running after 30 s") (143 = killed by the signal)\n\(daemon.description)")
            #expect(access(sock, F_OK) != 0, "round \(round): socket file left behind")
            if status != 0 { break }
        }
    }

    /// Under journald (JOURNAL_STREAM set) every stderr line starts with its syslog priority;
    /// otherwise lines carry a timestamp and the level in words.
    @Test func journalPriorityPrefixes() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        defer { dir.remove() }
        let sleeper = try Spawned.sleeper()
        defer { sleeper.stop() }

        func runOnce(journal: Bool) throws -> String {
            let sock = dir.file(journal ? "j.sock" : "p.sock")
            let config = try writeConfig(dir, "log_level: info\n", name: journal ? "j.yaml" : "p.yaml")
            let env = cleanEnvironment(journal ? ["JOURNAL_STREAM": "8:123456"] : [:])
            let daemon = try Spawned(bin, ["serve", "--config", config, "--socket", sock, "--interval", "100ms", "--pid", "\(sleeper.pid)"],
                                     environment: env)
            defer { daemon.stop() }
            try #require(waitUntilServing(sock) != nil, "daemon never served: \(daemon.description)")
            #expect(daemon.stderr.contains("first sample taken"), "no 'first sample taken' log line: \(daemon.description)")
            // A reload that changes a query-server setting logs a warning; a broken file, an error.
            try Data("log_level: info\nmax_connections: 7\n".utf8).write(to: URL(fileURLWithPath: config))
            daemon.signal(SIGHUP)
            let warned = pollUntil(timeout: 30) { daemon.stderr.contains("configuration reloaded") }
            #expect(warned, "no reload logged: \(daemon.description)")
            try Data("log_level: [\n".utf8).write(to: URL(fileURLWithPath: config))
            daemon.signal(SIGHUP)
            let failed = pollUntil(timeout: 30) { daemon.stderr.contains("reload failed") }
            #expect(failed, "no failed reload logged: \(daemon.description)")
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
            return daemon.stderr
        }

        let journal = try runOnce(journal: true)
        // Continuation lines of a multi-line message (the reload error) are not separate records.
        let records = journal.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.hasPrefix("\t") }
        let info = records.filter { $0.hasPrefix("<6>") }
        #expect(info.contains { $0.contains("first sample taken") }, "info lines not prefixed <6>:\n\(journal)")
        #expect(records.contains { $0.hasPrefix("<4>") && $0.contains("next restart") }, "warning not prefixed <4>:\n\(journal)")
        #expect(records.contains { $0.hasPrefix("<3>") && $0.contains("reload failed") }, "error not prefixed <3>:\n\(journal)")
        let unprefixed = records.filter { $0.range(of: #"^<[0-7]>"#, options: .regularExpression) == nil }
        // Lines following "reload failed ...:" are the problems themselves (file:line: ...).
        let stray = unprefixed.filter { !$0.contains(".yaml") }
        #expect(stray.isEmpty, "lines without a priority prefix under journald: \(stray)")

        let plain = try runOnce(journal: false)
        let plainLines = plain.split(separator: "\n")
        #expect(!plainLines.contains { $0.range(of: #"^<[0-7]>"#, options: .regularExpression) != nil },
                "priority prefixes without JOURNAL_STREAM:\n\(plain)")
        #expect(plainLines.contains { $0.contains("INFO") && $0.contains("first sample taken") }, "no INFO line:\n\(plain)")
    }

    /// The shipped unit's hardening, as systemd scores it.
    @Test(.enabled(if: Conditions.check(Locations.tool("systemd-analyze") != nil, "systemd-analyze not installed (Debian package systemd)")))
    func unitExposureLevel() throws {
        let analyze = try #require(Locations.tool("systemd-analyze"))
        let result = try run(analyze, ["security", "--offline=yes", "--no-pager", Locations.serviceUnit])
        let output = result.stdout + result.stderr
        let match = output.range(of: #"Overall exposure level for [^:]+: [0-9]+\.[0-9]+"#, options: .regularExpression)
        let line = try #require(match.map { String(output[$0]) }, "no exposure level in:\n\(output)")
        let level = try #require(line.split(separator: " ").last.flatMap { Double($0) })
        #expect(level <= 2.0, "exposure level \(level) > 2.0:\n\(output)")
    }
}
