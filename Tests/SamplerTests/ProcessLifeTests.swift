import Foundation
import Testing
import TestSupport
import KernelReaders
import SampleModel
@testable import Sampler

/// What the events need from each sample's processes: when each started (its identity with the
/// pid, and its age) and whether it has exited but is not yet reaped.
@Suite struct ProcessLifeTests {
    /// A parent that forks a child which exits at once and is never reaped: a zombie.
    @Test func startTimesAndAZombieChild() throws {
        let parent = try TestProcess(shell: """
            exec \(TestPython.executable) -c 'import os, sys, time
            pid = os.fork()
            if pid == 0: os._exit(0)
            print(pid, flush=True)
            time.sleep(600)'
            """)
        let child = try #require(parent.readLine().flatMap { Int32($0) })
        let sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(parent.pid)))
        var detail = sampler.tick().1
        #expect(RealSystem.poll(seconds: 10) {
            detail = sampler.tick().1
            return detail.processes.first { $0.pid == child }?.exited == true
        }, "the unreaped child shows as exited")
        let root = try #require(detail.processes.first { $0.pid == parent.pid })
        #expect(!root.exited)
        let boot = try #require(detail.bootNanos)
        let started = try #require(root.startNanos)
        // The kernel's start time (clock ticks since boot) agrees with the boot clock: the root
        // started before this sample and less than a minute ago.
        #expect(started < boot)
        #expect(boot - started < 60_000_000_000)
        let statFields = RealSystem.read("/proc/\(parent.pid)/stat").split(separator: ")").last!.split(separator: " ")
        let ticks = try #require(UInt64(statFields[19]))
        #expect(started == ticks * (1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))))
    }
}
