import SystemPackage

/// A kernel file kept open and re-read from offset 0 with pread on every sample.
///
/// Opening a /proc or cgroup file costs ~5 µs; re-reading a held descriptor 0.5–2 µs, which is
/// most of the sampler's budget. Not Sendable: it belongs to whoever samples (one queue).
public final class HeldFile {
    public let path: String
    private let fd: FileDescriptor

    public init(path: String, writable: Bool = false) throws(KernelFileError) {
        self.path = path
        do {
            fd = try FileDescriptor.open(FilePath(path), writable ? .readWrite : .readOnly, options: [.closeOnExec])
        } catch {
            throw KernelFileError(path: path, kind: .open(errno: (error as? Errno)?.rawValue ?? 0))
        }
    }

    deinit {
        try? fd.close()
    }

    /// Reads the whole file from offset 0 and hands its bytes to `body`, without copying.
    /// The bytes are valid only inside `body`: they are in this thread's `ReadScratch`.
    public func withContents<R>(_ body: (UnsafeBufferPointer<UInt8>) throws(KernelFileError) -> R) throws(KernelFileError) -> R {
        try ReadScratch.withBuffer { scratch throws(KernelFileError) in
            let count = try read(into: scratch)
            return try body(UnsafeBufferPointer(start: scratch.bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    /// Reads the whole file into `scratch` (growing it as needed); returns the byte count. Not
    /// generic, so that every caller's `withContents` shares this one copy of the loop.
    private func read(into scratch: ReadScratch) throws(KernelFileError) -> Int {
        var total = 0
        while true {
            let free = UnsafeMutableRawBufferPointer(rebasing: scratch.bytes[total...])
            let n: Int
            do {
                n = try fd.read(fromAbsoluteOffset: Int64(total), into: free, retryOnInterrupt: true)
            } catch {
                throw KernelFileError(path: path, kind: .read(errno: (error as? Errno)?.rawValue ?? 0))
            }
            total += n
            if n == 0 || total < scratch.bytes.count { return total }
            // Full buffer: the file is larger than we thought; grow and keep reading.
            scratch.grow(keeping: total)
        }
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
