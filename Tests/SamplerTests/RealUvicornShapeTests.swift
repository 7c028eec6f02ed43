import Foundation
import Testing
import TestSupport
import KernelReaders
import SampleModel
@testable import Sampler

/// The process shapes of `python -m uvicorn app:app --workers N` (issue 13 item 5), made for
/// real by Python's own multiprocessing: a master run as `-m uvicorn`, workers started with the
/// spawn method (`python -c "from multiprocessing.spawn import spawn_main; …"
/// --multiprocessing-fork`) and the resource tracker that spawning starts. Runs as any user.
@Suite(.serialized) struct RealUvicornShapeTests {
    static let module = #"""
    import multiprocessing, sys, time
    def work():
        time.sleep(600)
    if __name__ == "__main__":
        n = int(sys.argv[sys.argv.index("--workers") + 1])
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=work) for _ in range(n)]
        for p in procs: p.start()
        print("ready " + " ".join(str(p.pid) for p in procs), flush=True)
        time.sleep(600)
    """#

    /// Starts the master (DRUM's variable set or not) and waits for its workers.
    func start(drumVariable: Bool) throws -> (TestProcess, [Int32], URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dm-uvicorn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.module.write(to: dir.appendingPathComponent("uvicorn.py"), atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["PYTHONPATH"] = dir.path
        if drumVariable { env["DRUM_UVICORN_DRUM_ARGS"] = "drum server --code-dir /m --address 0.0.0.0:8080" }
        let master = try TestProcess(shell: "exec \(TestPython.executable) -m uvicorn app:app --port 0 --workers 2", environment: env)
        guard let line = master.readLine(), line.hasPrefix("ready") else { throw RealSystem.PollError(message: "no ready line") }
        return (master, line.split(separator: " ").dropFirst().compactMap { Int32($0) }, dir)
    }

    func sample(_ target: TargetSpec, until condition: (SampleDetail) -> Bool) throws -> SampleDetail? {
        let sampler = try Sampler(configuration: SamplerConfiguration(target: target))
        var last: SampleDetail?
        _ = RealSystem.poll(seconds: 15, every: 0.1) {
            last = sampler.tick().1
            return last.map(condition) ?? false
        }
        return last
    }

    @Test func drumsUvicornModeWithSpawnedWorkersAndItsHelper() throws {
        let (master, workers, dir) = try start(drumVariable: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try #require(try sample(.pid(master.pid)) { $0.processes.count == 4 })
        #expect(d.target.mode == .uvicorn)
        let roles = Dictionary(uniqueKeysWithValues: d.processes.map { ($0.pid, $0.role) })
        #expect(roles[master.pid] == .master)
        for w in workers { #expect(roles[w] == .worker, "spawned worker \(w): \(String(describing: roles[w]))") }
        let helpers = d.processes.filter { $0.role == .helper }
        #expect(helpers.count == 1)
        #expect(helpers.first?.cmdline.joined(separator: " ").contains("multiprocessing.resource_tracker") == true)

        // From a worker, the root is the master.
        let fromWorker = try #require(try sample(.rootOf(workers[0])) { $0.target.found })
        #expect(fromWorker.target.rootPid == master.pid && fromWorker.target.mode == .uvicorn)
    }

    @Test func aPlainUvicornAppIsWatchedByPid() throws {
        let (master, workers, dir) = try start(drumVariable: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try #require(try sample(.pid(master.pid)) { $0.processes.count == 4 })
        #expect(d.target.mode == .pid, "not DRUM: watched as a pid")
        for w in workers { #expect(d.processes.first { $0.pid == w }?.role == .worker) }
        #expect(DrumDiscovery(proc: ProcFiles()).root(from: workers[0]) == nil)
    }
}

extension RealSystem {
    struct PollError: Error { var message: String }
}
