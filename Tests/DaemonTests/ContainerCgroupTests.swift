// drum-monitor inside a container as a runtime sets one up (issue 16, "Inside a container"): a
// cgroup namespace, a pid namespace, and a fresh v1 memory cgroup mounted over the inherited one.
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct ContainerCgroupTests {
    static let canRun = Conditions.check(
        RealSystem.v1CgroupUnavailableReason == nil && Locations.tool("unshare") != nil,
        "ContainerCgroupTests: \(RealSystem.v1CgroupUnavailableReason ?? "no unshare (util-linux)")")

    /// mountinfo lists the inherited memory mount (root `/..`, above the namespace) and then the
    /// container's own (root `/`) at the same point: the last is the one a path resolves to, and
    /// its root is the container's cgroup, whose limit is the limit.
    @Test(.enabled(if: canRun))
    func sampleInsideACgroupNamespaceSeesTheContainersMemory() throws {
        let binary = try Locations.requireBinary()
        let container = try TestCgroup(limitBytes: 300 << 20)
        let dir = try TempDir("dmt-container")
        defer { dir.remove() }
        let python = TestPython.executable
        let inside = """
        set -e
        mount -t tmpfs tmpfs /sys/fs/cgroup
        mkdir /sys/fs/cgroup/memory
        mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory
        mkfifo \(dir.file("ready"))
        \(python) -c 'import sys, time
        a = bytearray(58 << 20)
        for i in range(0, len(a), 4096): a[i] = 1
        open(sys.argv[1], "w").write("ready\\n")
        time.sleep(600)' \(dir.file("ready")) &
        read line < \(dir.file("ready"))
        cat /sys/fs/cgroup/memory/memory.usage_in_bytes > \(dir.file("before"))
        \(binary) sample --pid $! --json > \(dir.file("snapshot"))
        cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes > \(dir.file("peak"))
        grep ' /sys/fs/cgroup' /proc/self/mountinfo > \(dir.file("mountinfo"))
        """
        let result = try run("/bin/sh", ["-c", "\(container.enterCommand) && exec unshare --cgroup --pid --mount --fork --mount-proc /bin/sh -c \"$0\"", inside],
                             environment: cleanEnvironment())
        try #require(result.status == 0, "status \(result.status): \(result.stderr)")

        let mountinfo = readWholeFile(dir.file("mountinfo")) ?? ""
        #expect(mountinfo.contains(" /.. /sys/fs/cgroup/memory "), "the inherited mount is still listed:\n\(mountinfo)")
        let snapshot = try jsonObject(readWholeFile(dir.file("snapshot")) ?? "")
        let memory = try #require(snapshot["memory"] as? [String: Any], "\(snapshot)")
        let unavailable = snapshot["unavailable"] as? [String: Any] ?? [:]
        #expect((snapshot["cgroup"] as? [String: Any])?["path"] as? String == "/")
        #expect(memory["limit_bytes"] as? Double == Double(300 << 20), "limit: \(memory["limit_bytes"] ?? "-"), \(unavailable["memory_limit_bytes"] ?? "-")")
        #expect(memory["limit_source"] as? String == "/")
        // The kernel's usage before the sample started (the 58 MiB tree) and its lifetime peak
        // after it (which includes drum-monitor itself) bound what the sample can have read.
        let before = try #require(UInt64((readWholeFile(dir.file("before")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        let peak = try #require(UInt64((readWholeFile(dir.file("peak")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        let current = try #require(memory["current_bytes"] as? Double, "current: \(unavailable["memory_current_bytes"] ?? "-")")
        #expect(before >= 58 << 20)
        #expect(Double(before) <= current + Double(4 << 20) && current <= Double(peak), "kernel \(before)…\(peak), sample \(current)")
        #expect((memory["peak_bytes"] as? Double).map { $0 <= Double(peak) } == true)
    }
}
