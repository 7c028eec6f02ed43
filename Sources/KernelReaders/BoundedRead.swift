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
        var buffer: [UInt8] = []
        let (count, truncated) = try read(fd, path: path, limit: limit, into: &buffer)
        buffer.removeLast(buffer.count - count)
        return (buffer, truncated)
    }

    /// Reads up to `limit` bytes from offset 0 into `buffer` (grown as needed, from 4 KiB, up to
    /// one byte more than `limit`: that byte tells "exactly limit" from "more").
    static func read(_ fd: FileDescriptor, path: String, limit: Int, into buffer: inout [UInt8]) throws(KernelFileError) -> (count: Int, truncated: Bool) {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: min(limit + 1, 4096)) }
        var total = 0
        while true {
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { raw in
                    try fd.read(fromAbsoluteOffset: Int64(total), into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]),
                                retryOnInterrupt: true)
                }
            } catch {
                throw KernelFileError(path: path, kind: .read(errno: (error as? Errno)?.rawValue ?? 0))
            }
            total += n
            if n == 0 || total > limit { break }
            if total == buffer.count { buffer += [UInt8](repeating: 0, count: min(buffer.count, limit + 1 - buffer.count)) }
        }
        return (min(total, limit), total > limit)
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

    /// A file held open and re-read from offset 0, at most `limit` bytes of it, into a buffer
    /// reused between reads (a watched root's cmdline, compared once a second or on exec signs).
    public final class Held {
        public let path: String
        private let fd: FileDescriptor
        private let limit: Int
        private var buffer: [UInt8]

        public init(path: String, limit: Int) throws(KernelFileError) {
            self.path = path
            self.limit = limit
            fd = try BoundedRead.open(path, options: [.closeOnExec])
            buffer = []
        }

        deinit { try? fd.close() }

        /// The file's first `limit` bytes, and whether it holds more; valid only inside `body`.
        public func withPrefix<R>(_ body: (ArraySlice<UInt8>, Bool) -> R) throws(KernelFileError) -> R {
            let (count, truncated) = try BoundedRead.read(fd, path: path, limit: limit, into: &buffer)
            return body(buffer[0..<count], truncated)
        }
    }
}
