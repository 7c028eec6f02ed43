import Foundation
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
        #expect(try PidFile.read(t.path("run/ok.pid")) == 500)
        for bad in ["run/bad.pid", "run/zero.pid", "run/missing.pid"] {
            #expect { try PidFile.read(t.path(bad)) } throws: { "\($0)".contains(bad) }
        }
    }
}
