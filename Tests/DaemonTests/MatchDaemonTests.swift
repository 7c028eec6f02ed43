// Several DRUM servers on one host (issue 16): DRUM-shaped process trees on the real kernel, each
// found by its own daemon through `match` (by command line, by environment, after the exec into
// gunicorn, across a reload), and an environment that cannot be read.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A DRUM-shaped tree: `python3 DIR/bin/drum server --code-dir 'DIR/my model' --address …` (what
/// discovery calls werkzeug), which on cue does what DRUM 1.18's gunicorn mode does: puts its
/// argv, shlex-joined, in DRUM_GUNICORN_DRUM_ARGS and execs in place into `python -m gunicorn -c
/// …/datarobot_drum/drum/gunicorn/gunicorn.conf.py app:app`, whose master forks two workers.
final class DrumShapedTree {
    static let drum = #"""
    import os, shlex, sys, time
    home = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    def into_gunicorn():
        os.environ["DRUM_GUNICORN_DRUM_ARGS"] = shlex.join(sys.argv)
        os.environ["PYTHONPATH"] = home
        conf = os.path.join(home, "datarobot_drum", "drum", "gunicorn", "gunicorn.conf.py")
        os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", conf, "app:app"])
    if os.environ.get("DMT_EXEC_NOW"): into_gunicorn()
    print("ready drum", flush=True)
    while not os.path.exists(os.path.join(home, "exec")): time.sleep(0.02)
    into_gunicorn()
    """#
    static let gunicorn = #"""
    import os, time
    master = os.getpid()
    for _ in range(2):
        if os.fork() == 0:
            while os.getppid() == master: time.sleep(0.1)
            os._exit(0)
    print("ready gunicorn", flush=True)
    while True: time.sleep(600)
    """#

    let home: TempDir
    let process: TestProcess
    let address: String
    var pid: Int32 { process.pid }

    /// `execNow`: gunicorn-shaped from the start (as a daemon started after DRUM's exec sees
    /// it). `prefix`: a command the tree runs under (e.g. setpriv to change its user).
    init(address: String, environment extra: [String: String] = [:], execNow: Bool, prefix: String = "") throws {
        home = try TempDir("dmt-drum")
        self.address = address
        chmod(home.path, 0o755)
        for dir in ["bin", "my model", "datarobot_drum/drum/gunicorn"] {
            try FileManager.default.createDirectory(atPath: home.file(dir), withIntermediateDirectories: true)
        }
        _ = try home.write("bin/drum", Self.drum)
        _ = try home.write("gunicorn.py", Self.gunicorn)
        _ = try home.write("datarobot_drum/drum/gunicorn/gunicorn.conf.py", "")
        var env = cleanEnvironment(extra)
        if execNow { env["DMT_EXEC_NOW"] = "1" }
        process = try TestProcess(shell: "exec \(prefix) \(TestPython.executable) \(home.path)/bin/drum server --code-dir '\(home.path)/my model' --address \(address)",
                                  environment: env)
        let expected = execNow ? "ready gunicorn" : "ready drum"
        let line = process.readLine()
        try #require(line == expected, "the DRUM-shaped tree did not start (said \(line ?? "nothing"))")
    }

    /// Execs into the gunicorn shape; returns once its workers are up.
    func execIntoGunicorn() throws {
        _ = try home.write("exec", "")
        let line = process.readLine()
        try #require(line == "ready gunicorn", "no gunicorn after the exec (said \(line ?? "nothing"))")
    }
}

@Suite("match", .serialized)
struct MatchDaemonTests {
    static func address() -> String { "127.0.0.1:\(UInt16.random(in: 20000...60000))" }

    func target(_ socket: String) -> [String: Any]? {
        (try? HTTP.get(unix: socket, "/v1/snapshot", timeout: 5))?.json?.object("target")
    }

    /// Polls until the daemon on `socket` watches `pid` as `mode` with `count` processes.
    func waitForTarget(_ socket: String, pid: Int32, mode: String, count: Int, _ daemon: Spawned) throws -> [String: Any] {
        let found = poll(timeout: 30) { () -> [String: Any]? in
            guard let t = target(socket), t.int("root_pid") == Int(pid), t.string("mode") == mode, t.int("process_count") == count else { return nil }
            return t
        }
        return try #require(found, "never watched \(mode) \(pid) with \(count) processes; last \(target(socket) ?? [:]): \(daemon.description)")
    }

    @Test func twoTreesTwoDaemonsEachItsOwn() throws {
        let bin = try Locations.requireBinary()
        let dir = try TempDir()
        let (addressA, addressB) = (Self.address(), Self.address())
        let instance = "b-\(UInt32.random(in: 0...UInt32.max))"
        // A: still `drum server`. B: already exec'd into gunicorn (its argv names no address).
        let a = try DrumShapedTree(address: addressA, execNow: false)
        let b = try DrumShapedTree(address: addressB, environment: ["DMT_INSTANCE": instance], execNow: true)
        let sleeper = try Spawned.sleeper()
        defer { sleeper.stop() }

        // Daemon A: --match on the command line replaces the file's pid.
        let socketA = dir.file("a.sock"), socketB = dir.file("b.sock")
        let fileA = try writeConfig(dir, "pid: \(sleeper.pid)\n", name: "a.yaml")
        let daemonA = try Spawned(bin, ["serve", "--config", fileA, "--socket", socketA, "--interval", "100ms", "--match", "--address \(addressA)"])
        defer { daemonA.stop() }
        // Daemon B: by environment, from its file.
        let fileB = try writeConfig(dir, "match: env:DMT_INSTANCE=\(instance)\n", name: "b.yaml")
        let daemonB = try Spawned(bin, ["serve", "--config", fileB, "--socket", socketB, "--interval", "100ms"])
        defer { daemonB.stop() }

        let firstA = try waitForTarget(socketA, pid: a.pid, mode: "werkzeug", count: 1, daemonA)
        _ = try waitForTarget(socketB, pid: b.pid, mode: "gunicorn", count: 3, daemonB)

        // B's address is only in DRUM's arguments in its environment, shell-quoted as DRUM writes
        // them: matched as the command line was, with single spaces.
        let sample = try run(bin, ["sample", "--match", "--code-dir \(b.home.path)/my model --address \(addressB)", "--over", "50ms", "--json"])
        #expect(sample.status == 0, "\(sample.stderr)")
        #expect((try? jsonObject(sample.stdout))?.object("target")?.int("root_pid") == Int(b.pid), "\(sample.stdout)")

        // A execs into gunicorn: daemon A follows the same process, in a new generation.
        try a.execIntoGunicorn()
        let afterExec = try waitForTarget(socketA, pid: a.pid, mode: "gunicorn", count: 3, daemonA)
        #expect((afterExec.int("generation") ?? 0) > (firstA.int("generation") ?? 0), "\(firstA) -> \(afterExec)")

        // A reload gives daemon B A's address: it leaves B for A.
        _ = try writeConfig(dir, "match: --address \(addressA)\n", name: "b.yaml")
        daemonB.signal(SIGHUP)
        _ = try waitForTarget(socketB, pid: a.pid, mode: "gunicorn", count: 3, daemonB)

        // An address no DRUM has: nothing is watched, and the message says what it waits for.
        let none = Self.address()
        let nothing = try run(bin, ["sample", "--match", "--address \(none)", "--over", "50ms", "--json"])
        #expect(nothing.status == 1)
        let message = (try? jsonObject(nothing.stdout))?.object("target")?.string("message") ?? ""
        #expect(message.hasPrefix("no DRUM process whose command line contains '--address \(none)' found; "), "\(message)")
        #expect(message.contains("other DRUM servers do not match"), "\(message)")

        for daemon in [daemonA, daemonB] {
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: 30) == 0, "\(daemon.description)")
        }
    }

    /// Issue 11 item 24 for `match`: another user's environment that cannot be read is shown,
    /// not taken for "does not match".
    @Test(.enabled(if: TargetDaemonTests.isRoot && Conditions.check(Locations.tool("setpriv") != nil, "setpriv not installed (util-linux)")))
    func anEnvironmentThatCannotBeReadIsShown() throws {
        let bin = try Locations.requireBinary()
        let setpriv = try #require(Locations.tool("setpriv"))
        let address = Self.address()
        let tree = try DrumShapedTree(address: address, execNow: true,
                                      prefix: "\(setpriv) --reuid=65534 --regid=65534 --clear-groups")
        let asRoot = try run(bin, ["sample", "--match", "--address \(address)", "--over", "50ms", "--json"])
        #expect((try? jsonObject(asRoot.stdout))?.object("target")?.int("root_pid") == Int(tree.pid), "as root: \(asRoot.stdout)")

        let asOther = try run(setpriv, ["--reuid=65533", "--regid=65533", "--clear-groups", bin, "sample", "--match", "--address \(address)",
                                        "--over", "50ms", "--json"])
        #expect(asOther.status == 1)
        let message = (try? jsonObject(asOther.stdout))?.object("target")?.string("message") ?? ""
        #expect(message.contains("could not be checked, e.g. pid "), "\(message)")
        #expect(message.contains("whether it matches cannot be told") && message.contains("Permission denied"), "\(message)")
    }
}
