// `drum-monitor top` in a real terminal: tmux runs it (new-session -d -x 100 -y 30), keys go in
// with send-keys, the screen comes out with capture-pane, against a daemon watching a
// DRUM-shaped tree (a master that replaces its workers). Every wait polls the screen for the
// condition (bounded, never a sleep standing in for it).
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A tmux server of its own (-L), so parallel runs and the user's tmux never meet.
final class Tmux {
    let tmux: String
    let server = "dmt-top-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let session = "top"

    init(tmux: String) { self.tmux = tmux }

    @discardableResult
    func run(_ args: [String]) throws -> RunResult {
        // The panes inherit the server's environment: a UTF-8 locale, a colour terminal, and
        // no NO_COLOR from whatever runs the tests (the test that wants it sets it).
        var env = cleanEnvironment(["TERM": "xterm-256color", "LANG": "C.UTF-8"])
        env["NO_COLOR"] = nil
        return try DaemonTests.run(tmux, ["-L", server, "-f", "/dev/null"] + args, environment: env, timeout: 30)
    }

    func start(width: Int, height: Int, _ command: String) throws {
        let r = try run(["new-session", "-d", "-s", session, "-x", "\(width)", "-y", "\(height)", command])
        try #require(r.status == 0, "tmux new-session: \(r.stderr)")
    }

    /// The pane's text (with `escapes`, its colours and attributes as SGR sequences).
    func screen(escapes: Bool = false) -> String {
        (try? run(["capture-pane", "-p", "-t", session] + (escapes ? ["-e"] : [])).stdout) ?? ""
    }

    func keys(_ keys: String...) throws { try run(["send-keys", "-t", session] + keys) }

    func display(_ format: String) -> String {
        ((try? run(["display-message", "-p", "-t", session, format]).stdout) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The screen once `condition` holds for it (nil if it never did within `timeout`).
    func waitFor(_ what: String, timeout: Double = 30, _ condition: (String) -> Bool) -> String? {
        var last = ""
        let found = poll(timeout: timeout, every: 0.05) { () -> String? in
            last = screen()
            return condition(last) ? last : nil
        }
        if found == nil { Issue.record("waited \(timeout)s for \(what); the screen:\n\(last)") }
        return found
    }

    func kill() { _ = try? run(["kill-server"]) }
}

@Suite("top in tmux", .serialized)
struct TopTmuxTests {
    static var tmux: String? { Locations.tool("tmux") }

    /// The daemon at 250ms watching a master with two workers (in a limited v1 memory cgroup
    /// when this is root, so the memory figure is the tree's).
    struct Scene {
        let bin: String
        let dir: TempDir
        let cgroup: TestCgroup?
        let tree: TestTree
        var daemon: Spawned
        var socket: String { dir.file("s.sock") }

        init() throws {
            bin = try Locations.requireBinary()
            dir = try TempDir("dmt-top")
            cgroup = RealSystem.v1CgroupUnavailableReason == nil ? try TestCgroup(limitBytes: 512 << 20) : nil
            tree = try TestTree(workers: 2, in: cgroup)
            daemon = try Self.serve(bin, dir, tree.master)
        }

        static func serve(_ bin: String, _ dir: TempDir, _ pid: Int32) throws -> Spawned {
            let d = try Spawned(bin, ["serve", "--config", try writeConfig(dir), "--socket", dir.file("s.sock"), "--pid", "\(pid)", "--interval", "250ms"])
            try #require(waitUntilServing(dir.file("s.sock")) != nil, "the daemon never served: \(d.description)")
            return d
        }

        mutating func stopDaemon() throws {
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit(timeout: 30) == 0, "the daemon did not stop: \(daemon.description)")
        }

        func tearDown() {
            daemon.stop()
            dir.remove()
        }
    }

    /// What is on screen: the root and worker pids and the snapshot's memory; `w` changes the
    /// window; a killed worker goes and its replacement comes (and the event says so); 60x20
    /// stays readable; the daemon
    /// stopped and started again is reconnected; `q` exits 0 and the terminal is as it was.
    @Test(.enabled(if: Conditions.check(TopTmuxTests.tmux != nil, "tmux is not installed (apt-get install tmux)")))
    func liveViewInATerminal() throws {
        var scene = try Scene()
        defer { scene.tearDown() }
        let tmux = Tmux(tmux: Self.tmux!)
        defer { tmux.kill() }
        let status = scene.dir.file("after")
        try tmux.start(width: 100, height: 30, """
            printf 'before-top\\n'; env LANG=C.UTF-8 \(scene.bin) top --socket \(scene.socket); echo "top-exit=$?"; stty -a > \(status); sleep 600
            """)
        let master = scene.tree.master
        let workers = scene.tree.workers

        // The root and the workers, each in the table.
        let first = try #require(tmux.waitFor("the tree on screen") { s in
            s.contains("pid \(master)") && workers.allSatisfy { w in s.split(separator: "\n").contains { $0.hasPrefix("  \(w) ") } }
        })
        #expect(first.contains("  \(master) "), "the root's row:\n\(first)")

        // The memory figure is the snapshot's: the sample the header names, as the daemon holds it.
        _ = tmux.waitFor("the memory of the sample on screen") { s in
            guard let seq = Self.sampleNumber(s), let bytes = Self.memory(of: seq, scene.socket) else { return false }
            return s.split(separator: "\n").contains { $0.hasPrefix("mem  ") && $0.contains("  \(Self.bytesText(bytes)) of ") }
        }
        // Colour on a terminal, once the sparklines are drawn (cyan, magenta).
        _ = tmux.waitFor("the sparklines") { Self.hasSparklines($0) }
        #expect(Self.hasColour(tmux.screen(escapes: true)), "no colour without NO_COLOR")

        // `w`: from 5m to 1h.
        #expect(first.contains("w window 5m"))
        try tmux.keys("w")
        _ = tmux.waitFor("the 1h window") { $0.contains("w window 1h") && $0.contains("\n 1h  ") }

        // A worker killed: marked gone, then gone; its replacement marked new, then listed.
        let victim = workers[0]
        kill(victim, SIGKILL)
        let replaced = try #require(scene.tree.nextLine(), "the master did not replace the worker")
        let parts = replaced.split(separator: " ")
        try #require(parts.count == 3 && parts[0] == "replaced" && Int32(parts[1]) == victim, "master said: \(replaced)")
        let replacement = String(parts[2])
        _ = tmux.waitFor("the replacement marked new") { Self.tableRows($0).contains { $0.hasPrefix("+ \(replacement) ") } }
        // (The events panel names both, with a daemon that has events: the table is what counts.)
        _ = tmux.waitFor("the killed worker gone and its replacement listed") { s in
            let rows = Self.tableRows(s)
            return !rows.contains { $0.dropFirst(2).hasPrefix("\(victim) ") } && rows.contains { $0.hasPrefix("  \(replacement) ") }
        }

        // The daemon's event for it, in the events panel.
        _ = tmux.waitFor("the replacement in the events panel") { $0.contains("worker_replaced") && $0.contains("replaced by \(replacement)") }

        // 60x20: every row within 60 columns, the essentials still there.
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "60", "-y", "20"])
        let small = try #require(tmux.waitFor("a 60x20 frame") { s in
            let rows = s.split(separator: "\n", omittingEmptySubsequences: false)
            return rows.allSatisfy { $0.count <= 60 } && s.contains("q quit") && s.contains("pid \(master)")
        })
        let rows = small.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(rows.contains { $0.hasPrefix("mem  [") }, "\(small)")
        #expect(rows.contains { $0.hasPrefix("cpu  tree ") }, "\(small)")
        #expect(rows.contains { $0.hasPrefix("  PID") }, "\(small)")
        #expect(rows.contains { $0.hasPrefix("  \(master) ") }, "\(small)")
        #expect(tmux.display("#{window_width}x#{window_height}") == "60x20")

        // The daemon stopped: said, and reconnected when it is back.
        try scene.stopDaemon()
        _ = tmux.waitFor("the daemon-down banner") { $0.contains("reconnecting (down") && $0.contains("not running") }
        scene.daemon = try Scene.serve(scene.bin, scene.dir, master)
        _ = tmux.waitFor("reconnected") { s in
            !s.contains("reconnecting") && s.contains("cgroup ") && !s.contains("(stale)") && s.contains("  \(replacement) ")
        }

        // `q`: exit 0, the main screen back with what was on it, the cursor shown, the terminal cooked.
        try tmux.keys("q")
        let after = try #require(tmux.waitFor("top to exit") { $0.contains("top-exit=") })
        #expect(after.contains("top-exit=0"), "\(after)")
        #expect(after.contains("before-top"), "the main screen was not restored:\n\(after)")
        #expect(!after.contains("q quit"), "the frame stayed on the main screen:\n\(after)")
        #expect(tmux.display("#{alternate_on}") == "0")
        #expect(tmux.display("#{cursor_flag}") == "1")
        let stty = try #require(poll(timeout: 10) { readWholeFile(status).flatMap { $0.isEmpty ? nil : $0 } })
        let words = stty.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" })
        for mode in ["icanon", "echo", "isig", "icrnl", "ixon"] {
            #expect(words.contains(Substring(mode)) && !words.contains(Substring("-" + mode)), "\(mode) not restored:\n\(stty)")
        }
    }

    /// NO_COLOR: attributes (the inverse header) but no colour.
    @Test(.enabled(if: Conditions.check(TopTmuxTests.tmux != nil, "tmux is not installed (apt-get install tmux)")))
    func noColor() throws {
        let scene = try Scene()
        defer { scene.tearDown() }
        let tmux = Tmux(tmux: Self.tmux!)
        defer { tmux.kill() }
        try tmux.start(width: 100, height: 30, "env LANG=C.UTF-8 NO_COLOR=1 \(scene.bin) top --socket \(scene.socket); sleep 600")
        _ = tmux.waitFor("the tree and the sparklines on screen") { $0.contains("pid \(scene.tree.master)") && Self.hasSparklines($0) }
        let styled = tmux.screen(escapes: true)
        #expect(styled.contains("\u{1b}[7m") || styled.contains(";7m"), "no inverse header:\n\(styled)")
        #expect(!Self.hasColour(styled), "colour with NO_COLOR:\n\(styled)")
        try tmux.keys("q")
    }

    /// The rows of the process table (after its heading).
    static func tableRows(_ screen: String) -> [Substring] {
        Array(screen.split(separator: "\n").drop { !$0.hasPrefix("  PID ") }.dropFirst())
    }

    /// Both sparkline rows hold block characters.
    static func hasSparklines(_ screen: String) -> Bool {
        screen.split(separator: "\n").filter { $0.hasPrefix(" 5m  ") && $0.contains { "▁▂▃▄▅▆▇█".contains($0) } }.count == 2
    }

    /// An SGR foreground colour (31–36), as tmux writes attributes.
    static func hasColour(_ styled: String) -> Bool {
        (31...36).contains { styled.contains("[\($0)m") || styled.contains(";\($0)m") }
    }

    /// Not a terminal: `--once` prints one plain frame (no escape sequences) and exits 0; without
    /// --once, a plain frame per new sample; the daemon down is exit 3, as for query.
    @Test func withoutATerminal() throws {
        let scene = try Scene()
        defer { scene.tearDown() }
        let once = try run(scene.bin, ["top", "--once", "--socket", scene.socket], environment: cleanEnvironment(["LANG": "C.UTF-8", "COLUMNS": "120"]))
        #expect(once.status == 0, "\(once.stderr)")
        #expect(!once.stdout.contains("\u{1b}"), "escape sequences in a pipe")
        #expect(once.stdout.contains("pid \(scene.tree.master)"))
        for w in scene.tree.workers { #expect(once.stdout.contains("\n  \(w) ")) }
        #expect(!once.stdout.contains("q quit"))
        #expect(once.stdout.split(separator: "\n").allSatisfy { $0.count <= 120 })

        let frames = try Spawned(scene.bin, ["top", "--socket", scene.socket], environment: cleanEnvironment(["LANG": "C.UTF-8"]))
        defer { frames.stop() }
        let two = poll(timeout: 30) { () -> String? in
            let out = frames.stdout
            return out.components(separatedBy: "sample #").count > 2 ? out : nil
        }
        #expect(two != nil, "no second frame: \(frames.description)")
        #expect(!(two ?? "").contains("\u{1b}"))

        let down = try run(scene.bin, ["top", "--once", "--socket", scene.dir.file("nobody.sock")], environment: cleanEnvironment())
        #expect(down.status == 3, "\(down.stderr)")
        #expect(down.stderr.contains("not running") && down.stderr.contains("systemctl status drum-monitor"), "\(down.stderr)")
        let bad = try run(scene.bin, ["top", "--window", "soon", "--socket", scene.socket], environment: cleanEnvironment())
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--window"), "\(bad.stderr)")
    }

    /// The number after "#" in the header.
    static func sampleNumber(_ screen: String) -> Int? {
        guard let first = screen.split(separator: "\n").first, let hash = first.lastIndex(of: "#") else { return nil }
        return Int(first[first.index(after: hash)...].prefix { $0.isNumber })
    }

    /// memory_current_bytes of sample `seq`, from the daemon's history.
    static func memory(of seq: Int, _ socket: String) -> Double? {
        guard let a = try? HTTP.get(unix: socket, "/v1/samples?since=\(seq - 1)&limit=1", timeout: 5), a.status == 200,
              let doc = a.json, let fields = doc["fields"] as? [String], let rows = doc["samples"] as? [[Any]],
              let row = rows.first, let i = fields.firstIndex(of: "memory_current_bytes"), i < row.count,
              (row[0] as? NSNumber)?.intValue == seq else { return nil }
        return (row[i] as? NSNumber)?.doubleValue
    }

    /// Bytes as top writes them: one decimal in the largest unit (B, KiB, MiB, GiB, TiB).
    static func bytesText(_ v: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var x = v
        var i = 0
        while x >= 1024, i < units.count - 1 { x /= 1024; i += 1 }
        let tenths = Int((x * 10).rounded())
        return i == 0 ? "\(Int(x.rounded())) B" : "\(tenths / 10).\(tenths % 10) \(units[i])"
    }
}
