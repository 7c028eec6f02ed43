import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A pidfile: one decimal pid, optionally surrounded by white space.
///
/// Whoever can write the pidfile's directory (usually the watched service's own, less privileged
/// user) decides what is at that path, and the daemon may run as root. So, in the spirit of
/// systemd's `PIDFile=`: the last path component must not be a symlink (O_NOFOLLOW), opening
/// never blocks (O_NONBLOCK: a FIFO), only a regular file is read (not a FIFO, a device such as
/// /dev/zero, a directory), at most `maxBytes` of it, and an invalid content is quoted only as a
/// short escaped excerpt. Who owns the file is returned for the caller to weigh (`trusts`).
public enum PidFile {
    /// A pid has at most 7 digits (pid_max ≤ 4194304); room for white space around it.
    public static let maxBytes = 32
    /// How much of an invalid pidfile an error message quotes.
    public static let excerptBytes = 12

    /// Identity of the file at the path (lstat: a symlink is itself, not its target). When it is
    /// unchanged, so is the content: a new pidfile is a new inode (rename) or a new mtime/size.
    public struct Identity: Sendable, Equatable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var mtimeSeconds: Int
        public var mtimeNanos: Int
        public var ctimeSeconds: Int
        public var ctimeNanos: Int
    }

    public struct Contents: Sendable, Equatable {
        public var pid: Int32
        /// The file's owner.
        public var ownerUID: UInt32
        public var identity: Identity
    }

    /// lstat of the path: one syscall, to notice whether the pidfile changed since it was read.
    public static func identity(_ path: String) throws(KernelFileError) -> Identity {
        do {
            return Identity(try FilePath(path).stat(followTargetSymlink: false))
        } catch {
            throw KernelFileError(path: path, kind: .open(errno: error.rawValue))
        }
    }

    public static func read(_ path: String) throws(KernelFileError) -> Contents {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.noFollow, .nonBlocking, .closeOnExec])
        } catch {
            let code = (error as? Errno)?.rawValue ?? 0
            if code == ELOOP {
                throw KernelFileError(path: path, kind: .malformed("is a symbolic link; a pidfile must be a regular file (not followed)"))
            }
            throw KernelFileError(path: path, kind: .open(errno: code))
        }
        defer { try? fd.close() }
        let st: Stat
        do { st = try fd.stat() } catch {
            throw KernelFileError(path: path, kind: .read(errno: error.rawValue))
        }
        guard st.type == .regular else {
            throw KernelFileError(path: path, kind: .malformed("is \(describe(st.type)); a pidfile must be a regular file (not read)"))
        }
        guard st.size <= Int64(maxBytes) else {
            throw KernelFileError(path: path, kind: .malformed("is \(st.size) bytes; a pidfile holds one pid (at most \(maxBytes) bytes, not read)"))
        }
        let (bytes, truncated) = try BoundedRead.prefix(of: fd, path: path, limit: maxBytes)
        guard !truncated else {
            throw KernelFileError(path: path, kind: .malformed("holds more than \(maxBytes) bytes; a pidfile holds one pid"))
        }
        let text = bytes.trimmingSpace()
        guard !text.isEmpty else {
            throw KernelFileError(path: path, kind: .malformed("is empty; expected a pid"))
        }
        guard let v = Parse.unsigned(text), let pid = Int32(exactly: v), pid > 0 else {
            throw KernelFileError(path: path, kind: .malformed("expected a positive pid"),
                                  content: Printable.excerpt(text, limit: excerptBytes))
        }
        return Contents(pid: pid, ownerUID: st.userID.rawValue, identity: Identity(st))
    }

    /// systemd's rule, adapted: a pidfile owned by root (or by the daemon's own user) may name any
    /// process; one owned by another user only that user's own processes. Otherwise whoever can
    /// write the file could point the daemon at, and publish the command lines of, anyone's.
    public static func trusts(fileOwner: UInt32, processOwner: UInt32, daemonUID: UInt32) -> Bool {
        fileOwner == 0 || fileOwner == daemonUID || fileOwner == processOwner
    }

    private static func describe(_ type: FileType) -> String {
        switch type {
        case .fifo: "a FIFO"
        case .characterSpecial: "a character device"
        case .blockSpecial: "a block device"
        case .directory: "a directory"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        default: "not a regular file"
        }
    }
}

extension PidFile.Identity {
    init(_ st: Stat) {
        device = UInt64(st.deviceID.rawValue)
        inode = UInt64(st.inode.rawValue)
        size = st.size
        mtimeSeconds = Int(st.st_mtim.tv_sec)
        mtimeNanos = Int(st.st_mtim.tv_nsec)
        ctimeSeconds = Int(st.st_ctim.tv_sec)
        ctimeNanos = Int(st.st_ctim.tv_nsec)
    }
}
