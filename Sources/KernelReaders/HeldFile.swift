import SystemPackage

/// A kernel file kept open and re-read from offset 0 with pread on every sample.
///
/// Opening a /proc or cgroup file costs ~5 µs; re-reading a held descriptor 0.5–2 µs, which is
/// most of the sampler's budget. Not Sendable: it belongs to whoever samples (one queue).
public final class HeldFile {
    public let path: String
    private let fd: FileDescriptor
    private var buffer: UnsafeMutableRawBufferPointer

    public init(path: String, writable: Bool = false) throws(KernelFileError) {
        self.path = path
        do {
            fd = try FileDescriptor.open(FilePath(path), writable ? .readWrite : .readOnly, options: [.closeOnExec])
        } catch {
            throw KernelFileError(path: path, kind: .open(errno: (error as? Errno)?.rawValue ?? 0))
        }
        buffer = .allocate(byteCount: 4096, alignment: 8)
    }

    deinit {
        buffer.deallocate()
        try? fd.close()
    }

    /// Reads the whole file from offset 0 and hands its bytes to `body`, without copying.
    /// The bytes are valid only inside `body`.
    public func withContents<R>(_ body: (UnsafeBufferPointer<UInt8>) throws(KernelFileError) -> R) throws(KernelFileError) -> R {
        var total = 0
        while true {
            let free = UnsafeMutableRawBufferPointer(rebasing: buffer[total...])
            let n: Int
            do {
                n = try fd.read(fromAbsoluteOffset: Int64(total), into: free, retryOnInterrupt: true)
            } catch {
                throw KernelFileError(path: path, kind: .read(errno: (error as? Errno)?.rawValue ?? 0))
            }
            total += n
            if n == 0 || total < buffer.count { break }
            // Full buffer: the file is larger than we thought; grow and keep reading.
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 8)
            bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
            buffer.deallocate()
            buffer = bigger
        }
        let bytes = UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: total)
        return try body(bytes)
    }

    /// Copies the whole file.
    public func readAll() throws(KernelFileError) -> [UInt8] {
        try withContents { bytes throws(KernelFileError) in Array(bytes) }
    }

    /// Writes `text` at offset 0 (cgroup control files take one write per command).
    public func write(_ text: String) throws(KernelFileError) {
        var text = text
        do {
            _ = try text.withUTF8 { try fd.write(toAbsoluteOffset: 0, UnsafeRawBufferPointer($0), retryOnInterrupt: true) }
        } catch let error as Errno {
            throw KernelFileError(path: path, kind: .write(errno: error.rawValue))
        } catch {
            throw KernelFileError(path: path, kind: .write(errno: 0))
        }
    }

    /// Reads a file once (open, read, close): for files read rarely.
    public static func read(_ path: String) throws(KernelFileError) -> [UInt8] {
        try HeldFile(path: path).readAll()
    }
}
