import Foundation
import Testing
import TestSupport
import KernelReaders
import SampleModel
@testable import Sampler

/// Issue 17 with real processes in a real v1 cgroup: the tree's CPU counter never goes back as
/// gunicorn-like workers burn, exit and are replaced, and it accounts for what the cgroup's own
/// counter (cpuacct.usage) saw; DRUM's MLOPS ids are read from its environment.
@Suite(.serialized) struct RealCountersTests {
    static let canRun = RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "RealCountersTests")

    @Test(.enabled(if: canRun))
    func theTreeCPUCounterKeepsWhatReplacedWorkersUsed() throws {
        let cgroup = try TestCgroup(limitBytes: 1 << 30)
        let tree = try TestTree(workers: 2, in: cgroup)
        let recorder = try Recorder(target: .pid(tree.master))
        #expect(recorder.waitFor { _, d in d.processes.count == 3 && d.counters.treeCPUTicks != nil })
        let cgroupUsage = { RealSystem.readNumber("/sys/fs/cgroup/cpuacct/\(cgroup.name)/cpuacct.usage") }
        let startTicks = try #require(recorder.detail?.counters.treeCPUTicks)
        let startUsage = try #require(cgroupUsage())

        var seen: [UInt64] = []
        for round in 0..<3 {
            try tree.command("w0", "burn")
            try tree.command("w1", "burn")
            // Burn for 20 samples of the worker, then exit it; the master reaps and replaces it.
            let base = recorder.sample?.sequence ?? 0
            #expect(recorder.waitFor { s, _ in s.sequence >= base + 20 })
            try tree.command("w0", "exit")
            let replaced = tree.nextLine()
            #expect(replaced?.hasPrefix("replaced ") == true, "round \(round): \(replaced ?? "no line")")
            let after = recorder.sample?.sequence ?? 0
            #expect(recorder.waitFor { s, d in s.sequence >= after + 3 && d.processes.count == 3 })
            seen.append(recorder.detail?.counters.treeCPUTicks ?? 0)
        }
        try tree.command("w0", "")
        try tree.command("w1", "")
        let end = recorder.sample?.sequence ?? 0
        #expect(recorder.waitFor { s, _ in s.sequence >= end + 3 })
        let endTicks = try #require(recorder.detail?.counters.treeCPUTicks)
        let endUsage = try #require(cgroupUsage())

        // Every sample's counter is at least the one before (the recorder keeps each detail's counter).
        let series = recorder.treeCPUSeries
        #expect(zip(series, series.dropFirst()).allSatisfy { $0 <= $1 }, "the counter went back: \(series)")
        #expect(seen == seen.sorted())
        // What the tree's counter added is what the kernel's cgroup counter added, within the
        // clock-tick rounding of each process and one interval at the ends.
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let treeSeconds = Double(endTicks - startTicks) / hz
        let cgroupSeconds = Double(endUsage - startUsage) / 1e9
        #expect(treeSeconds > 0.5, "the workers burned \(cgroupSeconds) s of CPU; the counter added \(treeSeconds) s")
        #expect(abs(treeSeconds - cgroupSeconds) <= 0.15 * cgroupSeconds + 0.3,
                "tree counter +\(treeSeconds) s, cgroup cpuacct +\(cgroupSeconds) s")
    }

    /// MLOPS_DEPLOYMENT_ID / MLOPS_MODEL_ID in DRUM's environment become the target's ids; with
    /// read_environment off they are not read.
    @Test(arguments: [true, false])
    func mlopsIdsComeFromTheTargetsEnvironment(readEnvironment: Bool) throws {
        let process = try TestProcess(shell: "exec sleep 600",
                                      environment: ["MLOPS_DEPLOYMENT_ID": "5f0c0de", "MLOPS_MODEL_ID": "model\nwith newline",
                                                    "PATH": "/usr/bin:/bin"])
        let sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(process.pid), readEnvironment: readEnvironment))
        _ = sampler.tick()
        let (_, detail) = sampler.tick()
        #expect(detail.target.found)
        #expect(detail.target.mlopsDeploymentID == (readEnvironment ? "5f0c0de" : nil))
        // Escaped like every other string read from another process.
        #expect(detail.target.mlopsModelID == (readEnvironment ? "model\\nwith newline" : nil))
    }
}

extension Recorder {
    /// The tree CPU counter of every sample so far.
    var treeCPUSeries: [UInt64] { store.treeCPU.withLock { $0 } }
}
