import SystemPackage
import UnixSocket

#if canImport(Glibc)
import Glibc
#endif

/// The socket file's life: make its directory, refuse to start over a live daemon, replace a
/// stale file, bind with mode and group set, tell whether the path still leads to the socket we
/// bound, and remove it only if it does.
enum SocketFile {
    /// Which file a path leads to (device and inode).
    struct Identity: Equatable, Sendable {
        let device: UInt64
        let inode: UInt64
    }

    /// A listening socket bound at `path`, and the file bind(2) created there.
    struct Bound: Sendable {
        let path: String
        let descriptor: Int32
        let identity: Identity
    }

    /// Binds a new listening socket at `path` (after `prepare`), with `mode` and `group` set before
    /// anyone else can connect.
    static func bind(_ path: String, mode: mode_t, group: String?) throws(ServerStartError) -> Bound {
        let address: UnixSocketAddress
        do { address = try UnixSocketAddress(path: path) } catch { throw ServerStartError(description: error.description) }
        try prepare(path)
        let fd: Int32
        do { fd = try UnixSocketAddress.streamSocket() } catch {
            throw ServerStartError(description: "cannot create a socket for \(path): \(error)")
        }
        // Bind with no access for others until mode and group are set.
        let oldMask = umask(0o177)
        do {
            try address.bind(fd)
        } catch {
            umask(oldMask)
            close(fd)
            throw ServerStartError(description: "cannot listen on \(path): \(error)")
        }
        umask(oldMask)
        do throws(ServerStartError) {
            try applyPermissions(path, mode: mode, group: group)
            guard let identity = identity(of: path) else {
                throw ServerStartError(description: "\(path) is gone right after it was bound")
            }
            return Bound(path: path, descriptor: fd, identity: identity)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    static func prepare(_ path: String) throws(ServerStartError) {
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if !parent.isEmpty { try makeDirectories(parent) }
        var st = stat()
        guard lstat(path, &st) == 0 else { return } // nothing there
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw ServerStartError(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        if isListening(path) {
            throw ServerStartError(description: "another process is already listening on \(path); refusing to start (is drum-monitor already running?)")
        }
        // A socket file nobody listens on: left behind by a daemon that died.
        guard unlink(path) == 0 || errno == ENOENT else {
            throw ServerStartError(description: "cannot remove stale socket \(path): \(Errno(rawValue: errno))")
        }
    }

    static func isListening(_ path: String) -> Bool {
        guard let address = try? UnixSocketAddress(path: path), let fd = try? UnixSocketAddress.streamSocket() else { return false }
        defer { close(fd) }
        return (try? address.connect(fd)) != nil
    }

    /// The socket file at `path`, or nil when there is none (gone, or something else there).
    static func identity(of path: String) -> Identity? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Removes the socket file only if it is still the one this server bound: never another
    /// instance's socket that replaced it.
    static func removeIfOurs(_ bound: Bound) {
        if identity(of: bound.path) == bound.identity { unlink(bound.path) }
    }

    static func makeDirectories(_ dir: String) throws(ServerStartError) {
        var built = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw ServerStartError(description: "cannot create directory \(built): \(Errno(rawValue: errno))")
            }
        }
    }

    static func applyPermissions(_ path: String, mode: mode_t, group: String?) throws(ServerStartError) {
        if let group {
            guard let entry = getgrnam(group) else {
                throw ServerStartError(description: "socket group '\(group)' does not exist")
            }
            if chown(path, uid_t.max, entry.pointee.gr_gid) != 0 {
                throw ServerStartError(description: "cannot set group of \(path) to \(group): \(Errno(rawValue: errno))")
            }
        }
        if chmod(path, mode) != 0 {
            throw ServerStartError(description: "cannot set mode of \(path): \(Errno(rawValue: errno))")
        }
    }
}
