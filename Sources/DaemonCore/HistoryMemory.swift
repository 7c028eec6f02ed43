import History
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// What the history takes from the daemon's memory, counted by where its bytes are (the start-up
/// and reload checks weigh this against `MemoryRoom`):
/// - the window tables are private memory, always; without a history file, so are the slots and
///   the event ring (the ring's pages only as events are written, counted in full);
/// - the history file's slots and event records are memory too when the file is on tmpfs or
///   ramfs (the default, /run, on a systemd host): its pages cannot be reclaimed and are charged
///   to the cgroup that wrote them, the daemon's;
/// - on a disk they are page cache that the kernel writes back and reclaims: not counted.
struct HistoryMemory {
    var bytes: Int
    /// How it was counted, for the log and the refusal.
    var description: String

    /// For `config`'s history kept in the file at `path`, or in memory (nil).
    static func of(_ config: DaemonConfig, file path: String?) -> HistoryMemory {
        guard let path else {
            let f = config.historyFootprint(inFile: false)
            return HistoryMemory(bytes: f.privateBytes, description: "\(text(f.privateBytes)) private (no history file)")
        }
        let f = config.historyFootprint(inFile: true)
        let split = "\(text(f.privateBytes)) private and \(text(f.fileBytes)) in the history file"
        switch FileSystemKind.of(directoryOf: path) {
        case .memory(let name):
            return HistoryMemory(bytes: f.total, description: "\(split) on \(name), which is memory")
        case .disk(let name):
            return HistoryMemory(bytes: f.privateBytes, description: "\(split) on \(name) (page cache the kernel can reclaim: not counted)")
        case .unknown(let why):
            return HistoryMemory(bytes: f.total, description: "\(split) (its file system is unknown, \(why): counted as memory)")
        }
    }

    private static func text(_ bytes: Int) -> String { ByteText.format(Double(bytes)) }
}

/// Whether files in a directory live in memory (tmpfs, ramfs) or on a disk: the type of the file
/// system whose device is the directory's, from /proc/self/mountinfo (Swift's Glibc has no statfs).
enum FileSystemKind: Equatable {
    case memory(String)
    case disk(String)
    case unknown(String)

    static func of(directoryOf path: String, mountinfo: String = "/proc/self/mountinfo") -> FileSystemKind {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var st = stat()
        guard stat(directory, &st) == 0 else { return .unknown("cannot stat \(directory): \(String(cString: strerror(errno)))") }
        // glibc's major() and minor().
        let dev = UInt64(st.st_dev)
        let major = UInt32(truncatingIfNeeded: (dev >> 8) & 0xFFF) | UInt32(truncatingIfNeeded: dev >> 32) & ~0xFFF
        let minor = UInt32(truncatingIfNeeded: dev & 0xFF) | UInt32(truncatingIfNeeded: dev >> 12) & ~0xFF
        let device = "\(major):\(minor)"
        guard let text = readBounded(mountinfo, limit: 4 << 20) else { return .unknown("cannot read \(mountinfo)") }
        guard let type = fileSystemType(device: device, mountinfo: text) else { return .unknown("device \(device) is not in \(mountinfo)") }
        return type == "tmpfs" || type == "ramfs" ? .memory(type) : .disk(type)
    }

    /// The type of the first mount of `device` ("MAJ:MIN"): mountinfo lines are
    /// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPEROPTIONS`.
    static func fileSystemType(device: String, mountinfo: String) -> String? {
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[2] == device, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
            return String(fields[dash + 1])
        }
        return nil
    }

    private static func readBounded(_ path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes.prefix(limit), as: UTF8.self)
    }
}
