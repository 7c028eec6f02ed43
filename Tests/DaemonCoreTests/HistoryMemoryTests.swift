// What the memory check counts of the history (issue 11 items 7, 16; the event ring in the
// history file): private memory always, the file's pages when the file is in memory.
import Foundation
import Testing
@testable import DaemonCore
import History
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HistoryMemoryTests {
    static let mountinfo = """
        24 1 254:0 / / rw,relatime - ext4 /dev/vda rw
        25 24 0:23 / /dev/shm rw,relatime shared:4 - tmpfs tmpfs rw,size=24684084k
        30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw
        31 24 0:31 / /run/ram rw - ramfs ramfs rw
        """

    @Test(arguments: [("254:0", "ext4"), ("0:23", "tmpfs"), ("0:27", "tmpfs"), ("0:31", "ramfs"), ("8:1", nil)] as [(String, String?)])
    func theFileSystemOfADevice(_ device: String, _ type: String?) {
        #expect(FileSystemKind.fileSystemType(device: device, mountinfo: Self.mountinfo) == type)
    }

    /// The real thing: a tmpfs mounted for the test is memory; this test's own directory is what
    /// `stat -f` says it is.
    @Test func aMountedTmpfsIsMemory() throws {
        guard getuid() == 0 else {
            print("SKIP aMountedTmpfsIsMemory: needs root to mount a tmpfs")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dmc-fs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0, "\(String(cString: strerror(errno)))")
        defer { umount2(dir, Int32(MNT_DETACH)) }
        #expect(FileSystemKind.of(directoryOf: dir + "/h.history") == .memory("tmpfs"))
        #expect(FileSystemKind.of(directoryOf: "/nonexistent-\(getpid())/h.history").isUnknown)
    }

    static func config(_ text: String) throws -> DaemonConfig {
        try ConfigLoaderTests.ConfigFile(text).load().get()
    }

    /// No file: everything private. A file on tmpfs: everything (its pages are memory). A file
    /// on a disk: only the private tables. The samples' slots and the event ring are the file's.
    @Test func theCheckCountsWhatIsMemory() throws {
        let c = try Self.config("interval: 10ms\nretention: 1h\nevent_ring_size: 1000\n")
        let inFile = c.historyFootprint(inFile: true), inMemory = c.historyFootprint(inFile: false)
        #expect(inFile.total == inMemory.total && inFile.total == c.historyBytes)
        #expect(inFile.fileBytes >= 360_001 * 132 + 1000 * EventRecordLayout.size)
        #expect(inFile.privateBytes < inFile.fileBytes / 4, "the tables: \(inFile.privateBytes) bytes")
        let none = HistoryMemory.of(c, file: nil)
        #expect(none.bytes == inMemory.privateBytes && none.description.contains("no history file"))
        let disk = HistoryMemory.of(c, file: FileManager.default.currentDirectoryPath + "/h.history")
        if case .disk = FileSystemKind.of(directoryOf: FileManager.default.currentDirectoryPath + "/h.history") {
            #expect(disk.bytes == inFile.privateBytes && disk.description.contains("not counted"), "\(disk.description)")
        } else {
            print("SKIP theCheckCountsWhatIsMemory (disk part): the working directory is not on a disk")
        }
    }

    /// STATUS='s "last OOM kill … ago": by the monotonic clock within a boot; by the wall clock
    /// for an event kept from an earlier boot (its monotonic time is that boot's).
    @Test func lastOOMKillAcrossBoots() {
        var kill = EventRecord(kind: .oomKill, wallNanos: 1_000_000_000_000, monoNanos: 50_000_000_000, sampleSequence: 1, generation: 1)
        kill.setProcesses([EventProcess(pid: 42, ppid: 1, role: .worker, rssBytes: 1 << 30, cmdline: "w")])
        // This boot is 20 s old; the wall clock is 200 s after the kill.
        let now = (mono: UInt64(20_000_000_000), wall: Int64(1_200_000_000_000))
        #expect(Daemon.lastOOMKill(kill, earlierBoot: true, now: now) == "last OOM kill 3m20s ago: worker 42, 1.0 GiB")
        let sameBoot = (mono: UInt64(62_000_000_000), wall: Int64(0))
        #expect(Daemon.lastOOMKill(kill, earlierBoot: false, now: sameBoot) == "last OOM kill 12.0s ago: worker 42, 1.0 GiB")
    }
}

extension FileSystemKind {
    var isUnknown: Bool { if case .unknown = self { true } else { false } }
}
