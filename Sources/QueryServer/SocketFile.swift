#if canImport(Glibc)
import Glibc
#endif

/// The socket file's life: make its directory, refuse to start over a live daemon, replace a
/// stale file, then set mode and group once bound.
enum SocketFile {
    static func prepare(_ path: String) throws(ServerStartError) {
        guard path.utf8.count < 108 else {
            throw ServerStartError(description: "socket path \(path) is too long (\(path.utf8.count) bytes; Unix sockets allow 107)")
        }
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
            throw ServerStartError(description: "cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return rc == 0
    }

    static func makeDirectories(_ dir: String) throws(ServerStartError) {
        var built = dir.hasPrefix("/") ? "" : "."
        for part in dir.split(separator: "/") {
            built += "/" + part
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw ServerStartError(description: "cannot create directory \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func applyPermissions(_ path: String, mode: mode_t, group: String?) throws(ServerStartError) {
        if let group {
            guard let entry = getgrnam(group) else {
                throw ServerStartError(description: "socket group '\(group)' does not exist")
            }
            if chown(path, uid_t.max, entry.pointee.gr_gid) != 0 {
                throw ServerStartError(description: "cannot set group of \(path) to \(group): \(String(cString: strerror(errno)))")
            }
        }
        if chmod(path, mode) != 0 {
            throw ServerStartError(description: "cannot set mode of \(path): \(String(cString: strerror(errno)))")
        }
    }
}
