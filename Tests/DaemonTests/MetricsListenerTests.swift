// Issue 17: the opt-in TCP listener for Prometheus (metrics_listen outside systemd, the socket
// named `metrics` that drum-monitor-metrics.socket passes under systemd) and the textfile for
// node_exporter, with the real binary.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("metrics listener and textfile")
struct MetricsListenerTests {
    static let openMetricsAccept = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// Polls GET `target` on the TCP port until it answers.
    static func pollTCP(_ port: UInt16, _ target: String, headers: [String] = [], timeout: Double = 60) -> HTTPAnswer? {
        poll(timeout: timeout) { try? HTTP.request(port: port, "GET", target, headers: headers, timeout: 5) }
    }

    /// metrics_listen: /metrics (text, or OpenMetrics when Prometheus asks) and /healthz on TCP;
    /// nothing else of the API there.
    @Test func theTCPListenerServesOnlyMetricsAndHealthz() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let port = try HTTP.freePort()
        let daemon = try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", scene.socket,
                                             "--interval", "100ms", "--pid", "\(scene.sleeper.pid)",
                                             "--metrics-listen", "127.0.0.1:\(port)", "--labels", "team=ml"],
                                 environment: cleanEnvironment())
        defer { daemon.stop() }
        let metrics = try #require(Self.pollTCP(port, "/metrics"), "no answer on 127.0.0.1:\(port): \(daemon.description)")
        #expect(metrics.status == 200)
        #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(metrics.text.contains("drum_monitor_target_found{team=\"ml\"} 1\n"), "\(metrics.text)")
        #expect(metrics.text.contains("\nprocess_resident_memory_bytes{team=\"ml\"} "))
        #expect(!metrics.text.lowercased().contains(" nan\n"))

        let om = try HTTP.request(port: port, "GET", "/metrics", headers: [Self.openMetricsAccept])
        #expect(om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(om.text.hasSuffix("\n# EOF\n"))
        #expect(om.text.contains("# TYPE drum_monitor_sampler_ticks counter\n"))

        let health = try HTTP.request(port: port, "GET", "/healthz")
        let healthBody = try health.requireJSON()
        #expect(health.status == 200 && healthBody.string("status") == "ok")
        for target in ["/v1/snapshot", "/stats/", "/v1/samples"] {
            let answer = try HTTP.request(port: port, "GET", target)
            #expect(answer.status == 404, "\(target) on the metrics listener: \(answer.status) \(answer.text)")
        }
        #expect(try HTTP.request(port: port, "POST", "/metrics").status == 405)
        // The Unix socket still has the whole API.
        #expect(pollHTTP(scene.socket, "/v1/snapshot")?.status == 200)
        #expect(daemon.stderr.contains("serving /metrics and /healthz on 127.0.0.1:\(port)"), "\(daemon.stderr)")
    }

    /// A port that is taken ends the daemon at start with status 1 and a line saying so.
    @Test func aTakenPortEndsTheDaemonWithAReason() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let port = try HTTP.freePort()
        let holder = try Spawned("/usr/bin/python3", ["-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", \(port))); s.listen(1); print("ok", flush=True); time.sleep(600)
            """])
        defer { holder.stop() }
        try #require(pollUntil(timeout: 30) { holder.stdout.contains("ok") }, "\(holder.description)")
        let result = try run(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", scene.socket,
                                         "--pid", "\(scene.sleeper.pid)", "--metrics-listen", "127.0.0.1:\(port)"],
                             environment: cleanEnvironment())
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(port) for /metrics and /healthz"), "\(result.stderr)")
        #expect(access(scene.socket, F_OK) != 0, "the query socket file was left behind")
    }

    /// Under systemd the metrics socket comes from drum-monitor-metrics.socket, told apart from the
    /// query socket by its name (LISTEN_FDNAMES); it works in a network namespace of the daemon's
    /// own (the unit's PrivateNetwork=yes), where metrics_listen could not be reached from outside:
    /// that setting is then ignored with a warning.
    @Test(.enabled(if: Conditions.check(Locations.tool("systemd-socket-activate") != nil && Locations.tool("unshare") != nil
                                        && RealSystem.isRoot,
                                        "needs systemd-socket-activate (systemd), unshare (util-linux) and root for a network namespace")))
    func theMetricsSocketSystemdPassesWorksInAPrivateNetwork() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let activate = try #require(Locations.tool("systemd-socket-activate"))
        let unshare = try #require(Locations.tool("unshare"))
        let port = try HTTP.freePort()
        let query = scene.dir.file("act.sock")
        // unshare execs the daemon in place (same pid), as LISTEN_PID requires.
        let daemon = try Spawned(activate, ["-l", query, "-l", "127.0.0.1:\(port)", "--fdname=drum-monitor.socket:metrics",
                                            unshare, "--net", scene.bin, "serve", "--config", try writeConfig(scene.dir),
                                            "--socket", scene.socket, "--interval", "100ms", "--pid", "\(scene.sleeper.pid)",
                                            "--metrics-listen", "127.0.0.1:1"],
                                 environment: cleanEnvironment())
        defer { daemon.stop() }
        // The first connection, on the metrics port, starts the daemon.
        let metrics = try #require(Self.pollTCP(port, "/metrics"), "no /metrics on the passed socket: \(daemon.description)")
        #expect(metrics.status == 200 && metrics.text.contains("drum_monitor_target_found 1\n"), "\(metrics.text)")
        #expect(try HTTP.request(port: port, "GET", "/v1/snapshot").status == 404)
        #expect(pollHTTP(query, "/v1/snapshot")?.status == 200, "the query socket systemd passed does not answer: \(daemon.description)")
        #expect(access(scene.socket, F_OK) != 0, "the daemon bound its own --socket despite the passed one")
        #expect(daemon.stderr.contains("ignoring metrics_listen 127.0.0.1:1: systemd passed the metrics socket"), "\(daemon.stderr)")
        let ns = { (pid: Int32) in (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")) ?? "?" }
        #expect(ns(daemon.pid) != ns(getpid()), "the daemon is not in a network namespace of its own")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }

    /// Two sockets that are both meant for queries is a configuration mistake, said at start.
    @Test(.enabled(if: Conditions.check(Locations.tool("systemd-socket-activate") != nil,
                                        "systemd-socket-activate not installed (Debian package systemd)")))
    func twoQuerySocketsAreRefused() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let activate = try #require(Locations.tool("systemd-socket-activate"))
        let (a, b) = (scene.dir.file("a.sock"), scene.dir.file("b.sock"))
        let daemon = try Spawned(activate, ["-l", a, "-l", b, "--fdname=one:two", scene.bin, "serve", "--config",
                                            try writeConfig(scene.dir), "--socket", scene.socket, "--pid", "\(scene.sleeper.pid)"],
                                 environment: cleanEnvironment())
        defer { daemon.stop() }
        try #require(pollUntil(timeout: 30) { access(a, F_OK) == 0 })
        _ = try? HTTP.get(unix: a, "/healthz", timeout: 2) // starts it
        #expect(daemon.waitForExit(timeout: 60) == 1, "\(daemon.description)")
        #expect(daemon.stderr.contains("systemd passed 2 sockets ('one', 'two'); drum-monitor serves one query socket, and one named 'metrics'"),
                "\(daemon.stderr)")
    }

    /// drum-monitor-metrics.socket: the port the documentation gives, named `metrics`, for the
    /// service; systemd-analyze verify accepts it with the service and the query socket.
    @Test func theMetricsSocketUnitNamesItsSocketForTheService() throws {
        let bin = try Locations.requireBinary()
        let unit = try #require(readWholeFile(Locations.repoRoot + "/systemd/drum-monitor-metrics.socket"))
        let lines = unit.split(separator: "\n").map(String.init)
        #expect(lines.contains("FileDescriptorName=metrics"))
        #expect(lines.contains("Service=drum-monitor.service"))
        let listen = try #require(lines.first { $0.hasPrefix("ListenStream=") }).dropFirst("ListenStream=".count)
        #expect(listen.hasPrefix("127.0.0.1:"), "not loopback: \(listen)")
        let help = try run(bin, ["serve", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("e.g. \(listen)"), "serve --help does not give the unit's address \(listen): \(help)")
        guard let analyze = Locations.tool("systemd-analyze") else {
            _ = Conditions.check(false, "systemd-analyze not installed (Debian package systemd)")
            return
        }
        let dir = try TempDir()
        defer { dir.remove() }
        for name in ["drum-monitor-metrics.socket", "drum-monitor.socket", "drum-monitor.service"] {
            let text = try #require(readWholeFile(Locations.repoRoot + "/systemd/" + name))
            _ = try dir.write(name, text.replacingOccurrences(of: "/usr/local/bin/drum-monitor", with: bin))
        }
        let verify = try run(analyze, ["verify", "--man=no", dir.file("drum-monitor-metrics.socket"), dir.file("drum-monitor.service"),
                                       dir.file("drum-monitor.socket")])
        #expect(verify.status == 0 && verify.stderr.isEmpty, "systemd-analyze verify: \(verify.stderr)\(verify.stdout)")
    }

    /// textfile: written whole (rename), world-readable under UMask=0077, without process_*,
    /// rewritten every interval; promtool reads it clean. A directory it cannot write to is
    /// logged once and the daemon keeps serving.
    @Test func theTextfileIsWrittenAtomicallyAndReadableByOthers() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let textfile = scene.dir.file("drum-monitor.prom")
        let blocked = scene.dir.file("missing/dir/drum-monitor.prom")
        // The service's UMask=0077, as systemd sets it. In the file: a reload moves it below.
        let config = try writeConfig(scene.dir, "textfile: \(textfile)\ntextfile_interval: 1s\n")
        let daemon = try Spawned("/bin/sh", ["-c", "umask 077; exec \"$0\" \"$@\"", scene.bin, "serve", "--config", config,
                                             "--socket", scene.socket, "--interval", "100ms", "--pid", "\(scene.sleeper.pid)"],
                                 environment: cleanEnvironment())
        defer { daemon.stop() }
        try #require(pollUntil(timeout: 60) { access(textfile, F_OK) == 0 }, "no textfile: \(daemon.description)")
        var st = stat()
        #expect(stat(textfile, &st) == 0 && st.st_mode & 0o777 == 0o644, "mode \(String(st.st_mode & 0o777, radix: 8))")
        let first = try #require(readWholeFile(textfile))
        #expect(first.contains("drum_monitor_memory_current_bytes "))
        #expect(!first.split(separator: "\n").contains { $0.hasPrefix("process_") || $0.hasPrefix("# HELP process_") },
                "node_exporter has its own process_*")
        let stamp = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("drum_monitor_last_sample_timestamp_seconds ") } }
        let rewritten = poll(timeout: 30) { () -> String? in
            guard let text = readWholeFile(textfile), stamp(text) != stamp(first), !text.isEmpty else { return nil }
            return text
        }
        #expect(rewritten != nil, "the textfile was not rewritten")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scene.dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
        if let promtool = Locations.tool("promtool") {
            let check = try run("/bin/sh", ["-c", "\"$0\" check metrics < \"$1\"", promtool, textfile])
            #expect(check.status == 0 && check.stdout.isEmpty && check.stderr.isEmpty, "promtool: \(check.stdout)\(check.stderr)")
        }

        // A reload that moves it to a directory that does not exist: one warning, still serving.
        _ = try writeConfig(scene.dir, "textfile: \(blocked)\ntextfile_interval: 1s\n")
        daemon.signal(SIGHUP)
        let warned = pollUntil(timeout: 30) { daemon.stderr.contains("cannot write the textfile: \(scene.dir.path)/missing/dir/.drum-monitor.prom.tmp") }
        #expect(warned, "\(daemon.stderr)")
        #expect(pollUntil(timeout: 30) { access(textfile, F_OK) != 0 }, "the old textfile was not removed when the path changed")
        pause(2.5)
        #expect(daemon.stderr.components(separatedBy: "cannot write the textfile").count == 2, "logged more than once: \(daemon.stderr)")
        #expect(waitUntilServing(scene.socket) != nil)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }
}
