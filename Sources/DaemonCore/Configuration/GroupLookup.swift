#if canImport(Glibc)
import Glibc
#endif

/// Whether a group name exists on this host (getgrnam_r: NSS, thread-safe). The socket's group
/// is checked with the configuration, not when serve is about to chown the socket.
enum GroupLookup {
    static func exists(_ name: String) -> Bool {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var size = 1024
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let rc = getgrnam_r(name, &entry, &buffer, size, &result)
            if rc == ERANGE { size *= 4; continue }
            return rc == 0 && result != nil
        }
        return false
    }
}
