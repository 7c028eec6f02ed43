import SampleModel

/// Finding the event ring in a history file being adopted: which records form it, each checked
/// in full. Read with pread, a chunk at a time, rather than through a mapping, so that looking at
/// every record does not make the whole event region resident.
///
/// The ring is the longest run of valid records with consecutive sequences that ends at the
/// valid record with the highest sequence, at most `capacity` of them. A record is valid when its
/// checksum matches, every field decodes, and it sits in the slot its sequence puts it in
/// (`sequence mod capacity`): a torn record (the daemon killed while writing it, a page half
/// written back before a crash) breaks the run there, and the events after it are kept.
struct EventScan: Equatable {
    /// Sequence of the newest event adopted (0: none).
    var newest: UInt64 = 0
    /// Events adopted: `newest - count + 1 ... newest`.
    var count = 0
    /// Records that held something but were not adopted: torn, misplaced, invalid, or not part
    /// of the run that ends at the newest.
    var rejected = 0

    var oldest: UInt64 { newest - UInt64(count) + 1 }

    /// Records read per pread.
    static let chunk = 64

    /// Scans the event region of `file`, described by `header` (whose records this build reads).
    /// nil when the file cannot be read.
    static func scan(_ file: HistoryFile, _ header: FileHeader) -> EventScan? {
        precondition(header.eventsAreReadable)
        let capacity = header.eventCapacity, size = EventRecordLayout.size
        // Per slot, the sequence of the valid record in it (0: none).
        var valid = [UInt64](repeating: 0, count: capacity)
        var written = 0
        var start = 0
        while start < capacity {
            let n = Swift.min(chunk, capacity - start)
            guard let bytes = file.read(n * size, at: header.eventsOffset + start * size), bytes.count == n * size else { return nil }
            bytes.withUnsafeBytes { all in
                for k in 0..<n {
                    let record = UnsafeRawBufferPointer(rebasing: all[(k * size)..<((k + 1) * size)])
                    switch Result(catching: { () throws(EventRecordLayout.DecodeError) in try EventRecordLayout.decode(record) }) {
                    case .success(let event):
                        written += 1
                        if event.sequence >= 1, event.sequence < EventRing.maximumSequence,
                           Int(event.sequence % UInt64(capacity)) == start + k {
                            valid[start + k] = event.sequence
                        }
                    case .failure(.empty): break
                    case .failure: written += 1
                    }
                }
            }
            start += n
        }
        var scan = EventScan()
        guard let newest = valid.max(), newest > 0 else {
            scan.rejected = written
            return scan
        }
        scan.newest = newest
        scan.count = 1
        while scan.count < capacity, newest > UInt64(scan.count) {
            let sequence = newest - UInt64(scan.count)
            guard valid[Int(sequence % UInt64(capacity))] == sequence else { break }
            scan.count += 1
        }
        scan.rejected = written - scan.count
        return scan
    }

    /// The newest `min(count, region.capacity)` of the events found in `file`, copied into
    /// `region` (a new file's, or memory): a ring holding them. nil when the file cannot be read.
    func copy(from file: HistoryFile, _ header: FileHeader, into region: EventRegion) -> EventRing? {
        let keep = Swift.min(count, region.capacity)
        guard keep > 0 else { return EventRing(region: region, firstSequence: newest + 1) }
        let size = EventRecordLayout.size
        for sequence in (newest - UInt64(keep) + 1)...newest {
            let from = header.eventsOffset + Int(sequence % UInt64(header.eventCapacity)) * size
            guard let bytes = file.read(size, at: from), bytes.count == size else { return nil }
            region.record(Int(sequence % UInt64(region.capacity))).copyBytes(from: bytes)
        }
        return EventRing(region: region, holding: keep, newest: newest)
    }
}
