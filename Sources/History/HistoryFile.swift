import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// An open history file, exclusively locked (flock) for as long as this object lives: two
/// daemons never write one file. Closing the descriptor releases the lock.
final class HistoryFile {
    let path: String
    let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    enum Opening {
        case opened(HistoryFile, stat)
        /// Another process holds the lock.
        case busy
        case unusable(String)
    }

    /// Opens (creating if absent) and locks the regular file at `path` without following a
    /// symbolic link or blocking on a FIFO or device; checks that the path still names the
    /// locked file (another daemon may have renamed it aside meanwhile: then open again).
    static func openLocked(_ path: String, exclusiveCreate: Bool = false) -> Opening {
        for _ in 0..<3 {
            let flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (exclusiveCreate ? O_EXCL : 0)
            let fd = open(path, flags, 0o600)
            guard fd >= 0 else {
                let e = errno
                if e == ELOOP { return .unusable("\(path) is a symbolic link; not following it") }
                return .unusable("cannot open \(path): \(Errno(rawValue: e))")
            }
            let file = HistoryFile(path: path, fd: fd)
            var st = stat()
            guard fstat(fd, &st) == 0 else { return .unusable("cannot stat \(path): \(Errno(rawValue: errno))") }
            guard st.st_mode & S_IFMT == S_IFREG else { return .unusable("\(path) is not a regular file (\(kind(st.st_mode)))") }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno
                return e == EWOULDBLOCK ? .busy : .unusable("cannot lock \(path): \(Errno(rawValue: e))")
            }
            var now = stat()
            if lstat(path, &now) == 0, now.st_dev == st.st_dev, now.st_ino == st.st_ino { return .opened(file, st) }
            if exclusiveCreate { return .unusable("\(path) was replaced while it was being created") }
        }
        return .unusable("\(path) keeps being replaced by another process")
    }

    /// Why a file that is ours to read cannot be trusted: someone else owns it or may write it.
    static func distrust(_ st: stat) -> String? {
        if st.st_uid != geteuid() { return "owned by uid \(st.st_uid), not this daemon's (\(geteuid()))" }
        if st.st_mode & 0o022 != 0 { return "writable by group or others (mode 0\(String(st.st_mode & 0o777, radix: 8)))" }
        if st.st_nlink != 1 { return "it has \(st.st_nlink) hard links" }
        return nil
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "mode 0\(String(mode, radix: 8))"
        }
    }

    /// The first `count` bytes (fewer if the file is shorter), read with pread: bounded.
    func readPrefix(_ count: Int) -> [UInt8]? { read(count, at: 0) }

    /// `count` bytes from `offset` (fewer if the file ends first), read with pread: bounded, and
    /// nothing mapped (pages read this way do not become part of the daemon's resident memory).
    func read(_ count: Int, at offset: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    /// Sets the size and allocates every block, so that no later store into the mapping can
    /// fail for want of space (on tmpfs a sparse page that cannot be allocated is a SIGBUS).
    func preallocate(_ size: Int) -> String? {
        if ftruncate(fd, off_t(size)) != 0 { return "cannot size \(path) to \(ByteCount.text(size)): \(Errno(rawValue: errno))" }
        let e = posix_fallocate(fd, 0, off_t(size))
        return e == 0 ? nil : "no room for \(ByteCount.text(size)) at \(path): \(Errno(rawValue: e))"
    }

    /// The file's first `size` bytes, shared (writes go to the file), pages populated now.
    func map(_ size: Int, writable: Bool) -> UnsafeMutableRawPointer? {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let m = mmap(nil, size, protection, MAP_SHARED | MAP_POPULATE, fd, 0), m != MAP_FAILED else { return nil }
        return m
    }

    /// `length` bytes from `offset` (a multiple of the page size), shared and writable, pages
    /// left to be faulted in when first touched.
    func map(_ length: Int, at offset: Int) -> UnsafeMutableRawPointer? {
        guard let m = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t(offset)), m != MAP_FAILED else { return nil }
        return m
    }

    /// Moves the file at `path` (the one this object holds) to `path.bad`, replacing an older one.
    func renameAside() -> String? {
        rename(path, path + ".bad") == 0 ? nil : "cannot rename \(path) aside: \(Errno(rawValue: errno))"
    }

    func unlinkPath() { unlink(path) }
}

public struct HistoryStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }

    static func system(_ what: String, _ code: Int32) -> HistoryStoreError {
        HistoryStoreError("\(what): \(Errno(rawValue: code))")
    }
}
