import Foundation
import Testing
import TestSupport
@testable import KernelReaders

/// Real kernel, real cgroup: a child v1 memory cgroup with a limit and a process tree in it.
@Suite(.serialized) struct RealCgroupTests {
    static let canRun = RealSystem.skipNote(RealSystem.v1CgroupUnavailableReason, "RealCgroupTests")

    @Test(.enabled(if: canRun))
    func memoryOfATreeInALimitedCgroup() throws {
        let cgroup = try TestCgroup(limitBytes: 512 << 20)
        // The shell joins the cgroup, then becomes python: a master allocating 64 MiB with a
        // forked child allocating 32 MiB more. Both touch every page.
        let script = """
        import os, sys, time
        a = bytearray(64 << 20)
        for i in range(0, len(a), 4096): a[i] = 1
        pid = os.fork()
        if pid == 0:
            b = bytearray(32 << 20)
            for i in range(0, len(b), 4096): b[i] = 1
            os.write(3, b"child\\n") if False else None
            sys.stdout.write("child %d\\n" % os.getpid()); sys.stdout.flush()
            time.sleep(600)
        else:
            time.sleep(600)
        """
        let child = try TestProcess(shell: "\(cgroup.enterCommand) && exec \(TestPython.executable) -c '\(script)'")
        let line = try #require(child.readLine(), "the tree did not start")
        let childPid = try #require(Int32(line.split(separator: " ").last ?? ""))

        let locator = try CgroupLocator()
        let set = try locator.locate(pid: child.pid)
        let location = try #require(set.memory.value)
        #expect(location.version == .v1)
        #expect(location.path == cgroup.cgroupPath)

        let reader = CgroupMemory.reader(for: location)
        let reading = reader.read(hostTotalBytes: 64 << 30)
        let kernelUsage = try #require(RealSystem.readNumber(cgroup.memoryDir + "/memory.usage_in_bytes"))
        let current = try #require(reading.current.value)
        #expect(current >= 96 << 20, "the tree allocated 96 MiB")
        #expect(current <= 512 << 20)
        // Read at slightly different moments: the same order of magnitude, within 8 MiB.
        #expect(abs(Int64(current) - Int64(kernelUsage)) < 8 << 20)
        #expect((reading.peak.value ?? 0) >= current)
        #expect(reading.limit.value == EffectiveLimit(bytes: 512 << 20, source: .cgroup(cgroup.cgroupPath)))
        let workingSet = try #require(reading.workingSet.value)
        #expect(workingSet <= current && workingSet >= 90 << 20, "anonymous memory is all working set")
        #expect(reading.oomKills == .value(0))

        // Per process: our /proc/PID/stat RSS against the kernel's VmRSS.
        let proc = ProcFiles()
        for pid in [child.pid, childPid] {
            let stat = try proc.stat(pid)
            let rss = stat.rssPages * SystemConstants.fromSysconf().pageSize
            let vm = try #require(RealSystem.vmRSS(pid))
            #expect(abs(Int64(rss) - Int64(vm)) < 1 << 20, "pid \(pid): stat rss \(rss) vs VmRSS \(vm)")
        }
        #expect(try proc.children(child.pid) == [childPid])
        #expect(Set(try ProcFiles.cgroupProcs(cgroup.memoryDir)) == Set([child.pid, childPid]))
    }

    @Test(.enabled(if: canRun))
    func oomKillIsCounted() throws {
        let cgroup = try TestCgroup(limitBytes: 64 << 20)
        try? cgroup.write("memory.memsw.limit_in_bytes", "\(64 << 20)")
        let child = try TestProcess(shell: "\(cgroup.enterCommand) && exec \(TestPython.executable) -c 'import sys; sys.stdout.write(\"go\\n\"); sys.stdout.flush(); a = bytearray(256 << 20)'")
        _ = child.readLine()
        child.process.waitUntilExit()
        let location = CgroupLocation(version: .v1, path: cgroup.cgroupPath, directory: cgroup.memoryDir, mountPoint: RealSystem.v1Memory)
        let reading = CgroupMemory.reader(for: location).read(hostTotalBytes: nil)
        #expect((reading.oomKills.value ?? 0) >= 1)
    }

    /// Issue 11 item 19: after `rmdir` every held file answers ENODEV; the limit is unavailable
    /// with that reason, not the host's RAM with limit_source "host".
    @Test(.enabled(if: canRun))
    func aRemovedCgroupHasNoLimitNotTheHostsRAM() throws {
        let cgroup = try TestCgroup(limitBytes: 200 << 20)
        let location = CgroupLocation(version: .v1, path: cgroup.cgroupPath, directory: cgroup.memoryDir, mountPoint: RealSystem.v1Memory)
        let reader = CgroupMemory.reader(for: location)
        #expect(reader.read(hostTotalBytes: 24 << 30).limit.value?.bytes == 200 << 20)
        try cgroup.remove()
        let reading = reader.read(hostTotalBytes: 24 << 30)
        #expect(reading.limit.value == nil, "got \(reading.limit)")
        #expect(reading.limit.reason?.contains("memory.limit_in_bytes: cannot read: No such device") == true, "\(reading.limit)")
        #expect(reading.current.reason?.contains("No such device") == true)

        let cpu = try #require(try CgroupLocator().locate(configuredPath: cgroup.cgroupPath).cpu.value)
        let cpuReading = try #require(CgroupCPU.reader(for: CgroupSet(memory: .unavailable("-"), cpu: .value(cpu), cpuacct: .value(cpu))).value).read()
        #expect(cpuReading.limitCores.value == nil, "a removed cgroup has no known CPU limit either: \(cpuReading.limitCores)")
    }

    @Test(.enabled(if: canRun))
    func heldFileSeesNewValuesAndGoneProcessFails() throws {
        let child = try TestProcess(shell: "exec sleep 600")
        let held = try HeldProcess(pid: child.pid, paths: .host)
        let first = try held.stat()
        #expect(first.pid == child.pid)
        kill(child.pid, SIGKILL)
        child.process.waitUntilExit()
        #expect(throws: KernelFileError.self) { _ = try held.stat() }
    }
}
