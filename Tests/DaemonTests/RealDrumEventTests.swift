// Issue 14 with real DataRobot DRUM 1.18.1 (gunicorn, 2 workers) in a limited v1 memory cgroup:
// a prediction allocates past the limit, the kernel OOM-kills the worker serving it, gunicorn
// boots another; /v1/events says which worker died, with its last RSS, and that it was replaced.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("real DRUM events", .serialized,
       .enabled(if: Conditions.check(Locations.drumVenv != nil, "DRUM_VENV is not set (make test sets it from Tests/Drum/venv.sh)")
                && RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "RealDrumEventTests")))
struct RealDrumEventTests {
    @Test func aPredictionAllocatingPastTheLimitKillsAWorkerThatGunicornReplaces() throws {
        let venv = try #require(Locations.drumVenv)
        let dir = try TempDir()
        defer { dir.remove() }
        let drum = try DrumServer(mode: "gunicorn", workers: 2, port: RealDrumTests.port(7), venv: venv, logDir: dir.path)
        defer { drum.stop() }
        let workers = try #require(poll(timeout: 60) { drum.workers.count == 2 ? drum.workers : nil }, "gunicorn never had 2 workers: \(drum.log)")

        // Into a cgroup of its own, then a limit 300 MiB above what is charged there. (Memory the
        // processes already had stays charged where it was: moving charges is deprecated and
        // refused by recent kernels. New allocations count here.)
        let cgroup = try TestCgroup(limitBytes: nil)
        for pid in [drum.pid] + workers { try cgroup.write("cgroup.procs", "\(pid)") }
        let usage = try #require(RealSystem.readNumber(cgroup.memoryDir + "/memory.usage_in_bytes"))
        let limit = usage + (300 << 20)
        try cgroup.write("memory.limit_in_bytes", "\(limit)")
        try? cgroup.write("memory.memsw.limit_in_bytes", "\(limit)")

        // gunicorn's arbiter boots the new worker once it has reaped the old one; on a loaded
        // machine that can take a few hundred milliseconds, so a replacement "within one
        // interval" is asked at half a second.
        let (daemon, socket) = try RealEventTests.startDaemon(dir, pid: drum.pid, interval: "500ms")
        defer { daemon.stop() }
        #expect(pollHTTP(socket, "/v1/snapshot", timeout: 60) { a in
            a.json?.object("target")?.int("process_count") == 3 && a.json?.object("cgroup")?.string("path") == cgroup.cgroupPath
        } != nil, "the daemon never saw DRUM in its cgroup: \(daemon.description)")

        // The worker serving this dies before it can answer.
        let answer = try? HTTP.request(port: drum.port, "POST", "/predictUnstructured/", body: Array("alloc:600".utf8), timeout: 60)
        #expect(answer?.status != 200, "the prediction should not have survived: \(answer.map { "\($0.status) \($0.text)" } ?? "no answer")")

        let found = poll(timeout: 60) { () -> ([String: Any], [String: Any])? in
            let all = RealEventTests.events(socket)
            guard let oom = all.first(where: { $0.string("kind") == "oom_kill" }),
                  let victim = oom.array("processes")?.first?.int("pid"),
                  let swap = all.first(where: { $0.string("kind") == "worker_replaced" && $0.int("previous_pid") == victim }) else { return nil }
            return (oom, swap)
        }
        let (oom, swap) = try #require(found, "no oom_kill and worker_replaced: \(RealEventTests.events(socket))\n\(daemon.description)\n\(drum.log)")
        let victim = try #require(oom.array("processes")?.first)
        let victimPid = try #require(victim.int("pid"))
        #expect(workers.map(Int.init).contains(victimPid), "the victim \(victimPid) is one of gunicorn's workers \(workers)")
        #expect(victim.string("role") == "worker")
        #expect(victim.string("cmdline")?.contains("gunicorn") == true, "\(victim)")
        #expect((victim.int("rss_bytes") ?? 0) > 50 << 20, "a DRUM worker's last RSS: \(victim)")
        #expect(oom.int("memory_limit_bytes") == Int(limit))
        let newWorker = try #require(swap.int("pid"))
        #expect(!workers.map(Int.init).contains(newWorker) && drum.workers.map(Int.init).contains(newWorker),
                "the new worker \(newWorker) is gunicorn's (now \(drum.workers))")
        let k = try #require(try RealEventTests.firstSampleWithKills(socket, above: 0))
        #expect((oom.int("sample_sequence") ?? 0) <= k + 1 && (swap.int("sample_sequence") ?? .max) <= k + 2,
                "oom_kill at \(oom.int("sample_sequence") ?? -1), worker_replaced at \(swap.int("sample_sequence") ?? -1), counter rose at \(k)")
    }
}
