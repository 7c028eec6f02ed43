import Foundation
import Testing
import TestSupport
import KernelReaders
import SampleModel
@testable import Sampler

/// The probe reads the OOM-kill count of the cgroup a target left, on a real v1 cgroup where
/// the kernel has just killed a process.
@Suite struct DepartedCgroupProbeTests {
    static let canRun = RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "DepartedCgroupProbeTests")

    static func detail(found: Bool, cgroup: String?) -> SampleDetail {
        var d = SampleDetail(target: .init(found: found, rootPid: found ? 1 : nil, generation: 1, processCount: found ? 1 : 0))
        d.cgroup = cgroup.map { SampleDetail.Cgroup(path: $0, version: 1) }
        return d
    }

    @Test(.enabled(if: canRun))
    func readsTheLeftCgroupsCountOnceTheTargetIsGone() throws {
        let cgroup = try TestCgroup(limitBytes: 64 << 20)
        try? cgroup.write("memory.memsw.limit_in_bytes", "\(64 << 20)")
        let probe = DepartedCgroupProbe()
        #expect(probe.look(Self.detail(found: true, cgroup: cgroup.cgroupPath)) == nil)
        #expect(probe.look(Self.detail(found: true, cgroup: cgroup.cgroupPath)) == nil, "the same cgroup: nothing read")
        // A process in it allocates past the limit and is killed.
        let hog = try TestProcess(shell: "\(cgroup.enterCommand) && exec \(TestPython.executable) -c 'b = bytearray(200 << 20)'")
        hog.process.waitUntilExit()
        #expect(hog.process.terminationReason == .uncaughtSignal)
        let departed = probe.look(Self.detail(found: false, cgroup: nil))
        #expect(departed == DepartedCgroup(path: cgroup.cgroupPath, oomKills: 1))
        #expect(probe.look(Self.detail(found: false, cgroup: nil)) == nil, "read once")
    }
}
