#if canImport(Glibc)
import Glibc
#endif
import SampleModel

/// The records of an event ring: `capacity` fixed-size slots (`EventRecordLayout`) in one block,
/// either an anonymous private mapping (no history file) or a shared mapping of the history
/// file's event region.
///
/// Neither is populated up front, unlike the samples' slots: an event is rare and off the hot
/// path, so a page fault when one is written costs nothing that matters, and a page no event was
/// written to is not resident — memory grows with the events that happened. (The file's blocks
/// are allocated, so a store into a page never written cannot fail: see `HistoryFile.preallocate`.)
final class EventRegion: @unchecked Sendable {
    let capacity: Int
    let records: UnsafeMutableRawPointer
    /// The history file the records live in (held so that its lock lasts as long as they do).
    let file: HistoryFile?
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int

    static func bytes(capacity: Int) -> Int { capacity * EventRecordLayout.size }

    /// Zero-filled anonymous memory.
    init(capacity: Int) throws(HistoryStoreError) {
        let length = Swift.max(Self.bytes(capacity: capacity), 1)
        guard let m = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), m != MAP_FAILED else {
            throw .system("cannot map \(ByteCount.text(length)) for the event ring", errno)
        }
        self.capacity = capacity
        file = nil
        mapping = m
        mappingLength = length
        records = m
    }

    /// The event region of an open history file: `capacity` records from byte `offset`.
    init(file: HistoryFile, offset: Int, capacity: Int) throws(HistoryStoreError) {
        // mmap wants an offset that is a multiple of the page size; the format only promises 4096.
        let page = Swift.max(Int(sysconf(Int32(_SC_PAGESIZE))), 1)
        let start = offset / page * page
        let length = offset - start + Swift.max(Self.bytes(capacity: capacity), 1)
        guard let m = file.map(length, at: start), m != MAP_FAILED else {
            throw .system("cannot map the event region of \(file.path)", errno)
        }
        self.capacity = capacity
        self.file = file
        mapping = m
        mappingLength = length
        records = m + (offset - start)
    }

    deinit { munmap(mapping, mappingLength) }

    /// The bytes of slot `index` (0 ..< capacity).
    @inline(__always) func record(_ index: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: records + index * EventRecordLayout.size, count: EventRecordLayout.size)
    }
}
