#if canImport(Glibc)
import Glibc
#endif

/// The slots of a store: a ring of `slotCount` fixed-size slots in one block, either private
/// memory (no persistence) or a shared mapping of the history file after its header page.
///
/// The mapping is made once, populated up front (MAP_POPULATE), and never resized, so an
/// append is a few stores into memory that is already there: no system call, no page fault,
/// no msync. The kernel writes a file's dirty pages back in its own time; what a crash loses
/// shows up as torn slots, which adoption recognises by their checksums.
final class SlotRegion {
    let layout: SlotLayout
    let slotCount: Int
    /// Mixed into every slot's checksum; stored in the file's header.
    let salt: UInt64
    let file: HistoryFile?
    let slots: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappingLength: Int

    /// Private memory from the allocator, zeroed now (every page touched up front, like the
    /// file's MAP_POPULATE: no page faults on the hot path later).
    init(layout: SlotLayout, slotCount: Int) throws(HistoryStoreError) {
        self.layout = layout
        self.slotCount = slotCount
        salt = UInt64.random(in: 0...UInt64.max)
        file = nil
        mappingLength = Swift.max(layout.size * slotCount, 1)
        guard let m = calloc(mappingLength, 1) else {
            throw .system("cannot allocate \(ByteCount.text(mappingLength)) for the history", errno)
        }
        memset(m, 0, mappingLength)
        mapping = m
        slots = m
    }

    /// The slots of an open, validated history file (`HistoryFile.map` checked its size).
    init(file: HistoryFile, mapping: UnsafeMutableRawPointer, length: Int, layout: SlotLayout, slotCount: Int, salt: UInt64) {
        self.layout = layout
        self.slotCount = slotCount
        self.salt = salt
        self.file = file
        self.mapping = mapping
        mappingLength = length
        slots = mapping + FileHeader.size
    }

    deinit {
        if file == nil { free(mapping) } else { munmap(mapping, mappingLength) }
    }

    /// The header page of a file-backed region.
    var headerBytes: UnsafeMutableRawBufferPointer? {
        file == nil ? nil : UnsafeMutableRawBufferPointer(start: mapping, count: FileHeader.size)
    }

    @inline(__always) func slot(_ index: Int) -> SlotPointer {
        SlotPointer(raw: slots + index &* layout.size)
    }
}

/// Byte counts for people.
enum ByteCount {
    static func text(_ bytes: Int) -> String {
        let mib = Double(bytes) / 1_048_576
        if mib >= 1024 { return "\(rounded(mib / 1024)) GiB" }
        return mib >= 1 ? "\(rounded(mib)) MiB" : "\(bytes) bytes"
    }

    private static func rounded(_ v: Double) -> String {
        let tenths = (v * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))" : "\(tenths / 10)"
    }
}
