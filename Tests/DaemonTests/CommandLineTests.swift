// The command line's rough edges (issue 18), tried as a new user would: exit codes and what each
// failure says, arguments that were misread or silently ignored, the help text.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("command line")
struct CommandLineTests {
    /// Every exit status the commands use is listed in --help (the man page is made from the same text).
    @Test(arguments: [["--help"], ["query", "--help"], ["top", "--help"], ["serve", "--help"], ["sample", "--help"], ["check-config", "--help"]])
    func helpListsTheExitStatuses(_ args: [String]) throws {
        let bin = try Locations.requireBinary()
        let r = try run(bin, args, environment: cleanEnvironment())
        #expect(r.status == 0, "\(args): exit \(r.status): \(r.stderr)")
        let text = r.stdout
        #expect(text.contains("EXIT STATUS"), "\(args) does not list exit statuses:\n\(text)")
        for code in ["0", "1", "2", "3", "4", "5", "64"] {
            #expect(text.range(of: "\n  \(code) ") != nil, "\(args): exit status \(code) not described:\n\(text)")
        }
    }

    /// The daemon is not running: exit 3, and the message says what to try.
    @Test func notRunningSuggestsWhatToCheck() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let r = try run(bin, ["query", "snapshot", "--socket", dir.file("nobody.sock")], environment: cleanEnvironment())
        #expect(r.status == 3, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("not running"), "\(r.stderr)")
        #expect(r.stderr.contains("systemctl status drum-monitor"), "no hint to systemctl status: \(r.stderr)")
        #expect(r.stderr.contains("--socket"), "no hint to --socket: \(r.stderr)")
    }

    /// A socket the user may not connect to is not "not running": exit 4 and the group to join.
    @Test(.enabled(if: Conditions.check(RealSystem.isRoot, "needs root to run the client as another user")))
    func permissionDeniedHasItsOwnStatusAndAHint() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let setpriv = try #require(Locations.tool("setpriv"), "setpriv (util-linux) not found")
        // The directory must be searchable by the other user; the socket itself is root's, mode 0600.
        chmod(scene.dir.path, 0o755)
        let daemon = try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", scene.socket,
                                             "--socket-mode", "0600", "--pid", "\(scene.sleeper.pid)"])
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        let r = try run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", scene.bin, "query", "health", "--socket", scene.socket],
                        environment: cleanEnvironment())
        #expect(r.status == 4, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("permission denied"), "\(r.stderr)")
        #expect(r.stderr.contains("drum-monitor") && r.stderr.contains("group"), "no hint to join the group: \(r.stderr)")
        #expect(!r.stderr.contains("not running"), "reported as not running: \(r.stderr)")
    }

    /// A full server answers 503 with an error starting "busy" (then closes): the client says busy
    /// and exits 5, neither "not running" nor a plain error answer.
    @Test func busyServerHasItsOwnStatus() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let body = #"{"error":"busy: all 256 connections are in use (max_connections); try again"}"#
        let server = try OneAnswerServer(path: dir.file("busy.sock"),
                                         response: "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)")
        defer { server.close() }
        let r = try run(bin, ["query", "snapshot", "--socket", server.path], environment: cleanEnvironment())
        #expect(r.status == 5, "exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("busy"), "\(r.stderr)")
        #expect(!r.stderr.contains("not running"), "\(r.stderr)")
    }

    /// `--pid -5` was read as a missing value; it is a pid that is not positive.
    @Test(arguments: [["serve", "--pid", "-5"], ["sample", "--pid", "-5"], ["sample", "--root-of", "-5"], ["serve", "--pid=-5"]])
    func negativePidSaysItMustBePositive(_ args: [String]) throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let r = try run(bin, args + (args[0] == "serve" ? ["--socket", dir.file("s.sock"), "--config", try writeConfig(dir)] : []),
                        environment: cleanEnvironment())
        #expect(r.status == (args[0] == "serve" ? 2 : 64), "\(args): exit \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("positive"), "\(args): \(r.stderr)")
        #expect(!r.stderr.contains("Missing value"), "\(args): \(r.stderr)")
        #expect(access(dir.file("s.sock"), F_OK) != 0, "\(args) started serving")
    }

    /// `sample --pid N` for a pid nobody has: says so, instead of measuring the monitor's own cgroup.
    @Test(arguments: ["--pid", "--root-of"])
    func sampleOfAMissingPidSaysItDoesNotExist(_ option: String) throws {
        let bin = try Locations.requireBinary()
        let pid = try unusedPid()
        let r = try run(bin, ["sample", option, "\(pid)", "--over", "10ms"], environment: cleanEnvironment())
        #expect(r.status == 1, "exit \(r.status): \(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("no process with pid \(pid)"), "\(r.stderr)")
        #expect(r.stdout.isEmpty, "printed a measurement of something else:\n\(r.stdout)")
    }

    /// Options that do not apply to the query asked are usage errors, not silently ignored.
    @Test(arguments: [["snapshot", "--since", "3"], ["health", "--limit", "5"], ["snapshot", "--samples"], ["window", "5m", "--since", "1"]])
    func queryOptionsThatDoNotApplyAreRejected(_ args: [String]) throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let r = try run(bin, ["query"] + args + ["--socket", dir.file("nobody.sock")], environment: cleanEnvironment())
        #expect(r.status == 64, "\(args): exit \(r.status): \(r.stderr)")
        #expect(!r.stderr.contains("not running"), "\(args): connected before checking its arguments: \(r.stderr)")
    }

    /// Every option of `serve --help` shows its default, the value check-config prints for it.
    @Test func serveHelpShowsEachDefault() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let help = try run(bin, ["serve", "--help"], environment: cleanEnvironment())
        #expect(help.status == 0, "\(help.stderr)")
        let defaults = try run(bin, ["check-config", try writeConfig(dir, "")], environment: cleanEnvironment())
        #expect(defaults.status == 0, "\(defaults.stderr)")
        let settings = defaults.stdout.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(settings.count >= 14, "\(defaults.stdout)")
        // ArgumentParser wraps help text: compare with whitespace runs folded into one space.
        let folded = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for setting in settings {
            guard let colon = setting.firstIndex(of: ":") else { continue }
            let key = String(setting[..<colon])
            let value = setting[setting.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let flag = "--" + key.replacingOccurrences(of: "_", with: "-")
            guard let at = folded.range(of: flag + " <") else {
                Issue.record("serve --help has no \(flag):\n\(help.stdout)")
                continue
            }
            // The option's own help runs up to the next option.
            let rest = folded[at.upperBound...]
            let entry = rest.range(of: " --").map { rest[..<$0.lowerBound] } ?? rest
            #expect(entry.contains("(default: \(value.isEmpty ? "none" : value))"), "\(flag): \(entry)")
        }
    }

    /// A socket everybody may write to is allowed, with a warning (check-config and serve's log).
    @Test func worldWritableSocketModeIsWarnedAbout() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let open = try run(bin, ["check-config", try writeConfig(dir, "socket_mode: \"0666\"\n")], environment: cleanEnvironment())
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stderr.contains("warning") && open.stderr.contains("0666") && open.stderr.contains("every local user"), "\(open.stderr)")
        let closed = try run(bin, ["check-config", try writeConfig(dir, "socket_mode: \"0660\"\n", name: "closed.yaml")], environment: cleanEnvironment())
        #expect(closed.status == 0 && closed.stderr.isEmpty, "\(closed.stderr)")
    }

    /// `--log-format json` (and `log_format: json`): every log line is one JSON object with the
    /// time, the level and the message.
    @Test(arguments: [true, false])
    func jsonLogLines(_ viaFile: Bool) throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let config = try writeConfig(scene.dir, viaFile ? "log_format: json\n" : "log_level: info\n")
        let daemon = try Spawned(scene.bin, ["serve", "--config", config, "--socket", scene.socket, "--pid", "\(scene.sleeper.pid)"]
                                 + (viaFile ? [] : ["--log-format", "json"]))
        defer { daemon.stop() }
        try #require(waitUntilServing(scene.socket) != nil, "daemon never served: \(daemon.description)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
        let lines = daemon.stderr.split(separator: "\n")
        #expect(lines.count >= 3, "\(daemon.stderr)")
        for line in lines {
            let object = try? jsonObject(String(line))
            #expect(object?.string("level") != nil && object?.string("message") != nil && object?.string("time") != nil,
                    "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains("\"stopped\"") }, "\(daemon.stderr)")
    }

    /// A bad configuration in JSON mode is reported as JSON lines too.
    @Test func invalidConfigurationInJSONMode() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let config = try writeConfig(dir, "log_format: json\nbogus: 1\n")
        let r = try run(bin, ["serve", "--config", config, "--socket", dir.file("s.sock")], environment: cleanEnvironment())
        #expect(r.status == 2, "exit \(r.status): \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try? jsonObject(String(line))
            #expect(object?.string("level") == "critical", "not a JSON log line: \(line)")
        }
        #expect(r.stderr.contains("bogus"), "\(r.stderr)")
    }

    /// `query --instance NAME` asks the daemon serving /run/drum-monitor/NAME.sock.
    @Test(.enabled(if: Conditions.check(RealSystem.isRoot, "needs root to serve under /run/drum-monitor")))
    func queryByInstanceName() throws {
        let scene = try DaemonScene()
        defer { scene.tearDown() }
        let name = "test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let socket = "/run/drum-monitor/\(name).sock"
        let daemon = try Spawned(scene.bin, ["serve", "--config", try writeConfig(scene.dir), "--socket", socket, "--pid", "\(scene.sleeper.pid)"])
        defer {
            daemon.stop()
            unlink(socket)
        }
        try #require(waitUntilServing(socket) != nil, "daemon never served: \(daemon.description)")
        let r = try run(scene.bin, ["query", "snapshot", "--instance", name, "--json"], environment: cleanEnvironment())
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)")
        #expect((try? jsonObject(r.stdout))?.object("target")?.int("root_pid") == Int(scene.sleeper.pid), "\(r.stdout)")

        let missing = try run(scene.bin, ["query", "health", "--instance", name + "-none"], environment: cleanEnvironment())
        #expect(missing.status == 3 && missing.stderr.contains("/run/drum-monitor/\(name)-none.sock"), "\(missing.stderr)")
        for bad in ["", "a/b", "..", "x\u{1}"] {
            let r = try run(scene.bin, ["query", "health", "--instance", bad], environment: cleanEnvironment())
            #expect(r.status == 64, "--instance '\(bad)': exit \(r.status): \(r.stderr)")
        }
        let both = try run(scene.bin, ["query", "health", "--instance", name, "--socket", socket], environment: cleanEnvironment())
        #expect(both.status == 64, "--instance with --socket: exit \(both.status): \(both.stderr)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
    }
}

/// A pid no process has: one above pid_max, else a child that has been reaped.
func unusedPid() throws -> Int32 {
    if let max = Int32(readWholeFile("/proc/sys/kernel/pid_max")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""), max < 999_999 {
        return 999_999
    }
    let child = try Spawned("/bin/true", [])
    _ = child.waitForExit(timeout: 30)
    child.stop()
    return child.pid
}

/// A Unix socket that answers its first connection with fixed bytes and closes it.
final class OneAnswerServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)

    init(path: String, response: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(fd, 4) == 0, "bind/listen \(path): \(String(cString: strerror(errno)))")
        let listener = fd
        let bytes = Array(response.utf8)
        Thread { [done] in
            defer { done.signal() }
            let conn = accept(listener, nil, nil)
            guard conn >= 0 else { return }
            defer { Glibc.close(conn) }
            // Read the request head, then answer.
            var head: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while !head.reversed().starts(with: [10, 13, 10, 13]) {
                let n = chunk.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                head += chunk[0..<n]
            }
            _ = bytes.withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }.start()
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        _ = done.wait(timeout: .now() + 10)
    }
}
