#if canImport(Glibc)
import Glibc
#endif

/// The buffer `HeldFile` reads into: one per thread, shared by every file read on it.
///
/// A tick reads ~20 files one after the other and parses each before reading the next. With a
/// buffer per file, the kernel's copy and the parse touched ~100 cache lines on ~20 pages, all
/// cold again at the next tick; read into one buffer they share the lines of the largest file
/// (~25) on one page. A read started inside another's body (nested) gets a buffer of its own,
/// so the outer bytes stay valid.
final class ReadScratch {
    // Unchecked: a scratch belongs to one thread and `withBuffer` never lets two uses of it
    // overlap; the runtime's exclusivity checks on these two, ~4 per read, cost ~2,600
    // instructions a tick (callgrind).
    @exclusivity(unchecked) private(set) var bytes: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) private var inUse = false

    /// Larger than any file a tick reads (the largest, /proc/meminfo and memory.stat, are ~1.5 KB).
    static let initialBytes = 4096

    init() {
        bytes = .allocate(byteCount: Self.initialBytes, alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// Twice the size, keeping the first `keeping` bytes.
    func grow(keeping: Int) {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count * 2, alignment: 64)
        bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<keeping]))
        bytes.deallocate()
        bytes = bigger
    }

    /// What a thread's buffer keeps between reads. A rare large file (the cgroup.procs of a busy
    /// cgroup, /proc/self/mountinfo) grows it beyond; it is given back after that read.
    static let keptBytes = 16 * 1024

    /// Runs `body` with this thread's buffer, or with a fresh one if this thread's is in use.
    static func withBuffer<R>(_ body: (ReadScratch) throws(KernelFileError) -> R) throws(KernelFileError) -> R {
        let scratch = forThisThread()
        if scratch.inUse { return try body(ReadScratch()) }
        scratch.inUse = true
        defer {
            scratch.inUse = false
            if scratch.bytes.count > keptBytes { scratch.shrink() }
        }
        return try body(scratch)
    }

    /// This thread's buffer size (for tests).
    static var bytesOnThisThread: Int { forThisThread().bytes.count }

    private func shrink() {
        bytes.deallocate()
        bytes = .allocate(byteCount: Self.initialBytes, alignment: 64)
    }

    private static func forThisThread() -> ReadScratch {
        if let existing = pthread_getspecific(threadKey) {
            return Unmanaged<ReadScratch>.fromOpaque(existing).takeUnretainedValue()
        }
        let scratch = ReadScratch()
        // Owned by the thread: released by the key's destructor when the thread exits.
        pthread_setspecific(threadKey, Unmanaged.passRetained(scratch).toOpaque())
        return scratch
    }
}

private let threadKey: pthread_key_t = {
    var key = pthread_key_t()
    let status = pthread_key_create(&key) { pointer in
        guard let pointer else { return }
        Unmanaged<ReadScratch>.fromOpaque(pointer).release()
    }
    precondition(status == 0, "pthread_key_create failed: \(status)")
    return key
}()
