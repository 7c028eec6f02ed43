import SystemPackage

/// Reads of files whose size a less privileged user decides (another user's command line and
/// environment, a pidfile): never more than a fixed number of bytes in memory.
public enum BoundedRead {
    /// At most `limit` bytes from the start of `path` (open, pread, close), and whether the file
    /// holds more.
    public static func prefix(_ path: String, limit: Int) throws(KernelFileError) -> (bytes: [UInt8], truncated: Bool) {
        let fd = try open(path, options: [.closeOnExec])
        defer { try? fd.close() }
        return try prefix(of: fd, path: path, limit: limit)
    }

    static func prefix(of fd: FileDescriptor, path: String, limit: Int) throws(KernelFileError) -> (bytes: [UInt8], truncated: Bool) {
        // One byte more than allowed tells "exactly limit" from "more than limit".
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total < bytes.count {
            let n: Int
            do {
                n = try bytes.withUnsafeMutableBytes { raw in
                    try fd.read(fromAbsoluteOffset: Int64(total), into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]),
                                retryOnInterrupt: true)
                }
            } catch {
                throw KernelFileError(path: path, kind: .read(errno: (error as? Errno)?.rawValue ?? 0))
            }
            if n == 0 { break }
            total += n
        }
        let truncated = total > limit
        bytes.removeLast(bytes.count - min(total, limit))
        return (bytes, truncated)
    }

    /// Feeds `path` to `body` in chunks of at most `chunk` bytes, from offset 0, until the end of
    /// the file or until `body` returns false.
    public static func chunks(_ path: String, chunk: Int = 16384,
                              _ body: (UnsafeBufferPointer<UInt8>) -> Bool) throws(KernelFileError) {
        let fd = try open(path, options: [.closeOnExec])
        defer { try? fd.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let n: Int
            do { n = try fd.read(fromAbsoluteOffset: offset, into: buffer, retryOnInterrupt: true) } catch {
                throw KernelFileError(path: path, kind: .read(errno: (error as? Errno)?.rawValue ?? 0))
            }
            if n == 0 { return }
            offset += Int64(n)
            let bytes = UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: n)
            if !body(bytes) { return }
        }
    }

    static func open(_ path: String, options: FileDescriptor.OpenOptions) throws(KernelFileError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(FilePath(path), .readOnly, options: options)
        } catch {
            throw KernelFileError(path: path, kind: .open(errno: (error as? Errno)?.rawValue ?? 0))
        }
    }
}
