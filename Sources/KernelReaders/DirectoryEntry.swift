#if canImport(Glibc)
import Glibc
#endif

/// The name of an entry that readdir(3) returned, read where it is. A dirent in glibc's buffer is
/// only as long as its name (`d_reclen`): copying the struct, or its 256-byte `d_name`, reads past
/// the record, and past the end of the buffer when the entry is its last one — a segfault when the
/// next page is not mapped (seen on a /proc listing of 1,500 processes).
public enum DirectoryEntry {
    public static func name(_ entry: UnsafePointer<dirent>) -> UnsafeRawBufferPointer {
        let start = UnsafeRawPointer(entry) + nameOffset
        return UnsafeRawBufferPointer(start: start, count: strlen(start.assumingMemoryBound(to: CChar.self)))
    }

    /// A directory name of digits only as a pid (1 … Int32.max), else nil: /proc's processes.
    public static func pid(_ entry: UnsafePointer<dirent>) -> Int32? {
        let digits = name(entry)
        guard let first = digits.first, first >= 0x31, first <= 0x39, digits.count <= 10 else { return nil }
        var value: Int64 = 0
        for c in digits {
            guard c >= 0x30, c <= 0x39 else { return nil }
            value = value * 10 + Int64(c - 0x30)
        }
        return Int32(exactly: value)
    }

    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
}
