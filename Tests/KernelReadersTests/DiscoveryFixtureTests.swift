import Foundation
import Synchronization
import Testing
@testable import KernelReaders

/// DRUM discovery on a fake /proc: stat (for ppid and start time) and cmdline per process.
@Suite struct DiscoveryFixtureTests {
    func process(_ t: FixtureTree, pid: Int32, ppid: Int32, start: UInt64, argv: [String], comm: String = "python") throws {
        try t.write("proc/\(pid)/stat", "\(pid) (\(comm)) S \(ppid) 1 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 \(start) 100 10 0\n")
        try t.write("proc/\(pid)/cmdline", argv.joined(separator: "\0") + "\0")
    }

    let gunicorn = ["/venv/bin/python", "-m", "gunicorn", "-c", "/venv/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py", "app:app"]

    func tree() throws -> FixtureTree {
        let t = try FixtureTree()
        try process(t, pid: 1, ppid: 0, start: 1, argv: ["/sbin/init"], comm: "init")
        try process(t, pid: 100, ppid: 1, start: 10, argv: ["bash"], comm: "bash")
        // werkzeug DRUM 200 with a uvicorn-style worker 400 under a non-DRUM intermediate 300.
        try process(t, pid: 200, ppid: 100, start: 20, argv: ["/venv/bin/python", "/venv/bin/drum", "server", "--address", "0.0.0.0:8080"], comm: "drum")
        try process(t, pid: 300, ppid: 200, start: 30, argv: ["/venv/bin/python", "-c", "from multiprocessing.spawn import spawn_main"])
        try process(t, pid: 400, ppid: 300, start: 40, argv: ["/venv/bin/python", "-m", "uvicorn", "datarobot_drum.drum.fastapi.app:app"])
        // gunicorn DRUM 500 (after its exec) with two workers of the same argv.
        try process(t, pid: 500, ppid: 1, start: 50, argv: gunicorn)
        try process(t, pid: 501, ppid: 500, start: 51, argv: gunicorn)
        try process(t, pid: 502, ppid: 500, start: 52, argv: gunicorn)
        try process(t, pid: 600, ppid: 1, start: 60, argv: ["/usr/bin/python3", "unrelated.py"])
        return t
    }

    @Test func climbingFromAnyWorkerFindsTheRoot() throws {
        let t = try tree()
        let d = DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: false)
        #expect(d.root(from: 400)?.pid == 200, "uvicorn worker under an intermediate")
        #expect(d.root(from: 300)?.pid == 200, "the intermediate itself climbs to DRUM")
        #expect(d.root(from: 501)?.pid == 500)
        #expect(d.root(from: 501)?.mode == .gunicorn)
        #expect(d.root(from: 200)?.mode == .werkzeug)
        #expect(d.root(from: 600) == nil)
    }

    @Test func findRootsOldestFirst() throws {
        let t = try tree()
        let roots = DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: false).findRoots()
        #expect(roots.map(\.pid) == [200, 500])
        #expect(roots.first?.startTimeTicks == 20)
    }

    @Test func explicitPidThatIsNotDrum() throws {
        let t = try tree()
        let target = try DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: false).target(pid: 600)
        #expect(target.mode == .pid)
        #expect(target.argv == ["/usr/bin/python3", "unrelated.py"])
    }

    @Test func environmentIdentifiesGunicornWithACustomConfig() throws {
        let t = try tree()
        try process(t, pid: 700, ppid: 1, start: 70, argv: ["python", "-m", "gunicorn", "-c", "/etc/custom.py", "app:app"])
        try t.write("proc/700/environ", "PATH=/bin\0DRUM_GUNICORN_DRUM_ARGS=drum server --code-dir /m\0")
        #expect(DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: false).root(from: 700) == nil)
        #expect(DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: true).root(from: 700)?.mode == .gunicorn)
    }

    @Test func pidfiles() throws {
        let t = try tree()
        try t.write("run/ok.pid", "500\n")
        try t.write("run/bad.pid", "five hundred\n")
        try t.write("run/zero.pid", "0")
        try t.write("run/empty.pid", "")
        let ok = try PidFile.read(t.path("run/ok.pid"))
        #expect(ok.pid == 500)
        #expect(ok.ownerUID == geteuid())
        for bad in ["run/bad.pid", "run/zero.pid", "run/empty.pid", "run/missing.pid"] {
            #expect { try PidFile.read(t.path(bad)) } throws: { "\($0)".contains(bad) }
        }
    }

    @Test func environmentThatCannotBeReadIsNotNotDrum() throws {
        let t = try tree()
        try process(t, pid: 700, ppid: 1, start: 70, argv: ["python", "-m", "gunicorn", "-c", "/etc/custom.py", "app:app"])
        // A directory where environ should be: reading it fails (EISDIR), as EACCES would.
        try FileManager.default.createDirectory(atPath: t.path("proc/700/environ"), withIntermediateDirectories: true)
        let d = DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: true)
        guard case .unknown(let why) = d.classify(700)?.verdict else {
            Issue.record("expected an unknown verdict, got \(String(describing: d.classify(700)))")
            return
        }
        #expect(why.contains("/proc/700/environ") && why.contains("pid 700"), "\(why)")
        let climbed = d.climb(from: 700)
        #expect(climbed.root == nil)
        #expect(climbed.unknown == why)
        let target = try d.target(pid: 700)
        #expect(target.mode == .pid)
        #expect(target.note == why, "an explicit pid that cannot be classified says why")
    }

    @Test func uvicornMasterRecognisedByItsEnvironment() throws {
        let t = try tree()
        let master = ["/venv/bin/python", "-m", "uvicorn", "app:app", "--workers", "2"]
        try process(t, pid: 800, ppid: 1, start: 80, argv: master)
        try t.write("proc/800/environ", "PATH=/bin\0DRUM_UVICORN_DRUM_ARGS=drum server --code-dir /m\0")
        try process(t, pid: 801, ppid: 800, start: 81, argv: ["/venv/bin/python", "-c", "from multiprocessing.resource_tracker import main;main(4)"])
        try process(t, pid: 802, ppid: 800, start: 82, argv: ["/venv/bin/python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)", "--multiprocessing-fork"])
        let d = DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: true)
        #expect(d.root(from: 802)?.pid == 800, "climbing from a spawned worker finds the uvicorn master")
        #expect(d.root(from: 802)?.mode == .uvicorn)
        #expect(d.findRoots().map(\.pid) == [200, 500, 800])
        #expect(DrumDiscovery(proc: ProcFiles(paths: t.paths), readEnvironment: false).root(from: 802) == nil)
    }

    @Test func longCommandLinesAreCut() throws {
        let t = try tree()
        let long = String(repeating: "x", count: 100_000)
        try process(t, pid: 900, ppid: 1, start: 90, argv: ["python", long, "tail"])
        let argv = try ProcFiles(paths: t.paths).cmdline(900)
        #expect(argv.count == 2)
        #expect(argv.last?.hasSuffix("…") == true)
        #expect(argv.joined().utf8.count <= ProcFiles.maxCmdlineBytes + 3)
    }

    @Test func boundedReads() throws {
        let t = try FixtureTree()
        for (size, limit) in [(0, 10), (10, 10), (11, 10), (5000, 10_000), (10_000, 10_000), (10_001, 10_000), (70_000, 10_000)] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 % 251) }
            try t.write("f", bytes)
            let (read, truncated) = try BoundedRead.prefix(t.path("f"), limit: limit)
            #expect(read == Array(bytes.prefix(limit)), "size \(size), limit \(limit)")
            #expect(truncated == (size > limit), "size \(size), limit \(limit)")
            let held = try BoundedRead.Held(path: t.path("f"), limit: limit)
            for _ in 0..<2 { // again from offset 0, into the reused buffer
                #expect(try held.withPrefix { Array($0) == read && $1 == truncated })
            }
        }
    }

    @Test func environmentSearchInChunks() throws {
        let env = Array("A=1\0XDRUM_ARGS=no\0DRUM_ARGS=drum server\0B=2\0".utf8)
        for chunk in [1, 3, 7, env.count] {
            var search = EnvironmentSearch(name: "DRUM_ARGS")
            var i = 0
            while i < env.count {
                let part = Array(env[i..<min(i + chunk, env.count)])
                let more = part.withUnsafeBufferPointer { search.feed($0) }
                i += chunk
                if !more { break }
            }
            #expect(search.value.map { String(decoding: $0, as: UTF8.self) } == "drum server", "chunk \(chunk)")
        }
        var missing = EnvironmentSearch(name: "NOPE")
        _ = env.withUnsafeBufferPointer { missing.feed($0) }
        #expect(missing.value == nil)
        var capped = EnvironmentSearch(name: "BIG")
        let big = Array("BIG=".utf8) + [UInt8](repeating: 0x61, count: 10_000)
        _ = big.withUnsafeBufferPointer { capped.feed($0) }
        #expect(capped.value?.count == EnvironmentSearch.maxValueBytes)
    }
}

/// The pidfile is written by whoever owns its directory, often a less privileged user than the
/// daemon (issue 11 item 3): each attack of the issue, on real files of each kind.
@Suite struct HostilePidfileTests {
    @Test func aSymlinkIsNotFollowedNorItsTargetQuoted() throws {
        let t = try FixtureTree()
        try t.write("secret", "topsecret-42\n")
        try FileManager.default.createSymbolicLink(atPath: t.path("drum.pid"), withDestinationPath: t.path("secret"))
        #expect { try PidFile.read(t.path("drum.pid")) } throws: { error in
            let text = "\(error)"
            return text.contains("symbolic link") && !text.contains("topsecret")
        }
        try FileManager.default.createSymbolicLink(atPath: t.path("zero.pid"), withDestinationPath: "/dev/zero")
        #expect { try PidFile.read(t.path("zero.pid")) } throws: { "\($0)".contains("symbolic link") }
    }

    @Test func aDeviceIsNotRead() throws {
        #expect { try PidFile.read("/dev/zero") } throws: { "\($0)".contains("a character device") }
    }

    @Test func aFIFODoesNotBlock() throws {
        let t = try FixtureTree()
        let fifo = t.path("drum.pid")
        try #require(mkfifo(fifo, 0o644) == 0)
        let outcome = Mutex<String?>(nil)
        Thread.detachNewThread {
            let text: String
            do { text = "read \(try PidFile.read(fifo).pid)" } catch { text = "\(error)" }
            outcome.withLock { $0 = text }
        }
        let deadline = Date().addingTimeInterval(10)
        while outcome.withLock({ $0 }) == nil, Date() < deadline { usleep(10_000) }
        let text = outcome.withLock { $0 }
        if text == nil {
            // Unblock the reader stuck in open() so it does not outlive the test.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        #expect(text?.contains("a FIFO") == true, "reading a FIFO pidfile: \(text ?? "blocked in open()")")
    }

    @Test func aLargeFileIsNotRead() throws {
        let t = try FixtureTree()
        let path = t.path("drum.pid")
        try t.write("drum.pid", "")
        try #require(truncate(path, 1 << 30) == 0) // sparse: 1 GiB of zeros
        #expect { try PidFile.read(path) } throws: { "\($0)".contains("1073741824 bytes") }
        try t.write("dir.pid/x", "1")
        #expect { try PidFile.read(t.path("dir.pid")) } throws: { "\($0)".contains("a directory") }
    }

    @Test func anInvalidContentIsQuotedShortAndEscaped() throws {
        let t = try FixtureTree()
        try t.write("drum.pid", "12ab\u{1b}[31mred and more\n")
        #expect { try PidFile.read(t.path("drum.pid")) } throws: { error in
            let text = "\(error)"
            return text.contains("12ab\\x1b[31mred") && !text.contains("more") && !text.contains("\u{1b}")
        }
    }

    @Test func ownershipRule() {
        #expect(PidFile.trusts(fileOwner: 0, processOwner: 1000, daemonUID: 0))
        #expect(PidFile.trusts(fileOwner: 1000, processOwner: 1000, daemonUID: 0))
        #expect(!PidFile.trusts(fileOwner: 1000, processOwner: 0, daemonUID: 0), "a user's pidfile cannot point at root's processes")
        #expect(!PidFile.trusts(fileOwner: 1000, processOwner: 1001, daemonUID: 0))
        #expect(PidFile.trusts(fileOwner: 998, processOwner: 0, daemonUID: 998), "the daemon's own files are trusted")
    }
}
