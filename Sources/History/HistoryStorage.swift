import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// How big a history is: samples held, their nominal interval, events held.
struct HistoryShape {
    var capacity: Int
    var intervalNanos: UInt64
    var eventCapacity: Int
}

/// Opening, adopting, migrating and replacing history files. Every outcome leaves a working
/// store and event log: a file that cannot be used means a history in memory and a note saying why.
///
/// | found at the path                                   | outcome                                          |
/// |-----------------------------------------------------|--------------------------------------------------|
/// | nothing, or an empty file                           | a new file                                       |
/// | a history of this layout, capacity, event capacity and interval | adopted in place                     |
/// | one of this format with another layout, capacity or event capacity, or one of format 1 | migrated: the newest samples and events that fit, new file |
/// |   (only the interval differs: adopted, header updated)                                                 |
/// | another format version, a foreign, truncated or corrupt file, one owned or writable by others | renamed to `<path>.bad`, a new file |
/// | a symlink, directory, FIFO, device; no permission   | memory only                                      |
/// | a file locked by another daemon                     | memory only                                      |
/// | no room to preallocate                              | memory only (adopted samples and events kept in memory) |
///
/// Events are adopted the way samples are (`EventScan`): their sequences continue. Event records
/// of a layout this build does not read (a downgrade) are not kept, with a warning.
enum HistoryStorage {
    /// A history file's events found at adoption, read from the file when they are kept.
    struct FoundEvents {
        let file: HistoryFile
        let header: FileHeader
        let scan: EventScan
        /// The file was written during another boot.
        let fromEarlierBoot: Bool

        /// A log of the events that fit in `region`, or an empty one when they cannot be read.
        func log(in region: EventRegion) -> EventLog {
            EventLog(ring: scan.copy(from: file, header, into: region) ?? EventRing(region: region))
        }
    }

    static func open(_ shape: HistoryShape, options: HistoryFileOptions) -> (SampleStore, EventLog, HistoryOpening) {
        var notes: [HistoryNote] = []
        let path = options.path
        for _ in 0..<3 {
            switch HistoryFile.openLocked(path) {
            case .busy:
                return memory(shape, notes, "\(path) is locked by another process (another drum-monitor using the same history_file?); keeping the history in memory only")
            case .unusable(let why):
                return memory(shape, notes, why + "; keeping the history in memory only")
            case .opened(let file, let st):
                if let why = HistoryFile.distrust(st) {
                    if let failed = aside(file, "it is " + why, &notes) { return memory(shape, notes, failed) }
                    continue
                }
                let size = Int(st.st_size)
                if size == 0 { return fresh(file, shape, options, notes) }
                guard let prefix = file.readPrefix(FileHeader.size) else {
                    return memory(shape, notes, "cannot read \(path): \(String(cString: strerror(errno)))")
                }
                let parsed = prefix.withUnsafeBytes { bytes in Result { () throws(FileHeader.Rejection) in try FileHeader.parse(bytes, fileSize: size) } }
                switch parsed {
                case .failure(let rejection):
                    if let failed = aside(file, "it is \(rejection)", &notes) { return memory(shape, notes, failed) }
                    continue
                case .success(let header):
                    return adopt(file, header, shape, options, notes)
                }
            }
        }
        return memory(shape, notes, "\(path) keeps changing; keeping the history in memory only")
    }

    private static func aside(_ file: HistoryFile, _ why: String, _ notes: inout [HistoryNote]) -> String? {
        if let failed = file.renameAside() { return failed + " (\(why)); keeping the history in memory only" }
        notes.append(HistoryNote(level: .warning, message: "history file \(file.path) not used: \(why); renamed it to \(file.path).bad and started a new history"))
        return nil
    }

    private static func memory(_ shape: HistoryShape, _ notes: [HistoryNote], _ reason: String,
                               keeping samples: [SampleStore.Copy] = [], timelineOffset: Int64 = 0,
                               adopted: AdoptedHistory? = nil, events found: FoundEvents? = nil) -> (SampleStore, EventLog, HistoryOpening) {
        let store = inMemory(shape.capacity, shape.intervalNanos)
        store.setTimelineOffset(timelineOffset)
        for sample in samples.suffix(shape.capacity) { store.append(sample) }
        store.restartPending = !store.isEmpty
        let events: EventLog
        if let found, let region = try? EventRegion(capacity: shape.eventCapacity) {
            events = found.log(in: region)
        } else {
            events = EventLog(capacity: shape.eventCapacity)
        }
        var notes = notes
        notes.append(HistoryNote(level: .warning, message: reason))
        return (store, events, HistoryOpening(persistence: .memory(reason: reason), adopted: adopted,
                                              adoptedEvents: adoptedEvents(events, found), notes: notes))
    }

    static func inMemory(_ capacity: Int, _ intervalNanos: UInt64) -> SampleStore {
        do { return try SampleStore.inMemory(capacity: capacity, intervalNanos: intervalNanos) } catch {
            fatalError("\(error)")
        }
    }

    static var currentMetrics: [FileHeader.FileMetric] {
        Metric.allCases.map { FileHeader.FileMetric(name: $0.name, scale: MetricCodec($0).scale) }
    }

    /// The events a log holds, as adopted from `found` (nil: none).
    private static func adoptedEvents(_ log: EventLog, _ found: FoundEvents?) -> AdoptedEvents? {
        guard let found, let oldest = log.oldestSequence else { return nil }
        let newest = log.newestSequence
        return AdoptedEvents(count: Int(newest - oldest + 1), firstSequence: oldest, lastSequence: newest, fromEarlierBoot: found.fromEarlierBoot)
    }

    /// A new, empty history in `file` (held, locked, and ours to size).
    private static func fresh(_ file: HistoryFile, _ shape: HistoryShape, _ options: HistoryFileOptions,
                              _ notes: [HistoryNote]) -> (SampleStore, EventLog, HistoryOpening) {
        switch create(file, shape, options, timelineOffset: 0) {
        case .success(let made):
            var notes = notes
            notes.append(HistoryNote(level: .info, message: "history file \(file.path): new, \(shape.capacity) samples and \(shape.eventCapacity) events, \(ByteCount.text(made.fileSize))"))
            return (made.store, EventLog(ring: EventRing(region: made.events)), HistoryOpening(persistence: .file(path: file.path), adopted: nil, notes: notes))
        case .failure(let error):
            file.unlinkPath()
            return memory(shape, notes, error.description + "; keeping the history in memory only")
        }
    }

    private struct Created {
        let store: SampleStore
        let events: EventRegion
        let fileSize: Int
    }

    private static func create(_ file: HistoryFile, _ shape: HistoryShape, _ options: HistoryFileOptions,
                               timelineOffset: Int64) -> Result<Created, HistoryStoreError> {
        let header = FileHeader(metrics: currentMetrics, capacity: shape.capacity, intervalNanos: shape.intervalNanos, bootID: options.bootID,
                                timelineOffset: timelineOffset, salt: UInt64.random(in: 0...UInt64.max), eventCapacity: shape.eventCapacity)
        if let failed = file.preallocate(header.fileSize) { return .failure(HistoryStoreError(failed)) }
        guard let mapping = file.map(header.slotsEnd, writable: true) else {
            return .failure(.system("cannot map \(file.path)", errno))
        }
        let region = SlotRegion(file: file, mapping: mapping, length: header.slotsEnd, layout: header.layout,
                                slotCount: header.slotCount, salt: header.salt)
        let events: EventRegion
        do { events = try EventRegion(file: file, offset: header.eventsOffset, capacity: shape.eventCapacity) } catch {
            return .failure(error)
        }
        header.write(to: region.headerBytes!)
        let store = SampleStore(region: region, capacity: shape.capacity, intervalNanos: shape.intervalNanos)
        store.fileHeader = header
        store.setTimelineOffset(timelineOffset)
        return .success(Created(store: store, events: events, fileSize: header.fileSize))
    }

    /// A valid header: adopt in place when the slots and event records are the ones this build
    /// writes, else migrate.
    private static func adopt(_ file: HistoryFile, _ header: FileHeader, _ shape: HistoryShape,
                              _ options: HistoryFileOptions, _ notes: [HistoryNote]) -> (SampleStore, EventLog, HistoryOpening) {
        var notes = notes
        let wanted = FileHeader(metrics: currentMetrics, capacity: shape.capacity, intervalNanos: shape.intervalNanos, bootID: options.bootID,
                                timelineOffset: 0, salt: header.salt, eventCapacity: shape.eventCapacity)
        let inPlace = header.version == FileHeader.currentVersion && header.sameSlots(as: wanted) && header.sameEvents(as: wanted)
        guard let mapping = file.map(header.slotsEnd, writable: inPlace) else {
            return memory(shape, notes, "cannot map \(file.path): \(String(cString: strerror(errno))); keeping the history in memory only")
        }
        let region = SlotRegion(file: file, mapping: mapping, length: header.slotsEnd, layout: header.layout,
                                slotCount: header.slotCount, salt: header.salt)
        let known = Dictionary(uniqueKeysWithValues: Metric.allCases.map { ($0.name, $0.rawValue) })
        let old = SampleStore(region: region, capacity: header.capacity, intervalNanos: header.intervalNanos,
                              codecs: header.metrics.map { MetricCodec(scale: $0.scale) }, metricIDs: header.metrics.map { known[$0.name] })
        let report = old.adopt()
        if report.rejected > 0 {
            notes.append(HistoryNote(level: .warning, message: "history file \(file.path): \(report.rejected) slots were torn, out of order or inconsistent and were not adopted"))
        }
        let found = findEvents(file, header, fromEarlierBoot: !(options.bootID.isKnown && options.bootID == header.bootID), &notes)
        // The timeline continues this boot's CLOCK_MONOTONIC; after a reboot it resumes where it
        // stopped, plus the wall-clock time that passed (at least nothing).
        let now = (mono: options.clock.monotonicNanos(), wall: options.clock.wallNanos())
        var offset = header.timelineOffset
        if !(options.bootID.isKnown && options.bootID == header.bootID), report.count > 0 {
            let gap = UInt64(Swift.max(0, now.wall &- report.lastWallNanos))
            offset = Int64(bitPattern: (report.lastTimeline &+ gap) &- now.mono)
        } else if !(options.bootID.isKnown && options.bootID == header.bootID) {
            offset = 0
        }
        var adopted = report.count == 0 ? nil : AdoptedHistory(count: report.count, firstSequence: report.firstSequence,
                                                               lastSequence: report.lastSequence, lastGeneration: report.lastGeneration,
                                                               lastWallNanos: report.lastWallNanos, migratedFrom: nil)
        if inPlace {
            let events: EventRegion
            do {
                if let failed = file.preallocate(header.fileSize) { throw HistoryStoreError(failed) }
                events = try EventRegion(file: file, offset: header.eventsOffset, capacity: header.eventCapacity)
            } catch {
                return memory(shape, notes, "\(error); keeping the history in memory only",
                              keeping: old.copies(after: 0, limit: old.count), timelineOffset: offset, adopted: adopted, events: found)
            }
            old.setInterval(shape.intervalNanos)
            old.setTimelineOffset(offset)
            old.restartPending = !old.isEmpty
            var written = header
            written.intervalNanos = shape.intervalNanos
            written.bootID = options.bootID
            written.timelineOffset = offset
            old.fileHeader = written
            rewriteHeader(old)
            let log = EventLog(ring: found.map { EventRing(region: events, holding: $0.scan.count, newest: $0.scan.newest) } ?? EventRing(region: events))
            if let adopted {
                notes.append(HistoryNote(level: .info, message: "history file \(file.path): adopted \(adopted.count) samples (sequences \(adopted.firstSequence)…\(adopted.lastSequence), the newest taken \(RFC3339.format(wallNanos: adopted.lastWallNanos)))"))
            } else {
                notes.append(HistoryNote(level: .info, message: "history file \(file.path): no samples to adopt; \(shape.capacity) samples, \(ByteCount.text(header.fileSize))"))
            }
            let adoptedEvents = adoptedEvents(log, found)
            if let adoptedEvents {
                notes.append(HistoryNote(level: .info, message: "history file \(file.path): adopted \(adoptedEvents.count) events (sequences \(adoptedEvents.firstSequence)…\(adoptedEvents.lastSequence))"))
            }
            return (old, log, HistoryOpening(persistence: .file(path: file.path), adopted: adopted, adoptedEvents: adoptedEvents, notes: notes))
        }
        // Migration: the newest samples and events that fit, into a new file that replaces this one.
        let from = (header.version == FileHeader.currentVersion ? "" : "format \(header.version), ")
            + "\(header.capacity) samples of \(header.metrics.count) metrics at \(DurationText.format(seconds: Double(header.intervalNanos) / 1e9))"
            + (header.hasEvents ? " and \(header.eventCapacity) events" : "")
        adopted?.migratedFrom = from
        if let adoptedCount = adopted?.count { adopted?.count = Swift.min(adoptedCount, shape.capacity) }
        let samples = Array(old.copies(after: 0, limit: old.count).suffix(shape.capacity))
        let target: Replacement
        switch replacementFile(file.path, shape, options, timelineOffset: offset) {
        case .success(let made): target = made
        case .failure(let error):
            return memory(shape, notes, error.description + "; keeping the history in memory only",
                          keeping: samples, timelineOffset: offset, adopted: adopted, events: found)
        }
        for sample in samples { target.store.append(sample) }
        target.store.restartPending = !target.store.isEmpty
        let log = found.map { $0.log(in: target.events!) } ?? EventLog(ring: EventRing(region: target.events!))
        if let failed = target.commit() {
            return memory(shape, notes, failed + "; keeping the history in memory only",
                          keeping: samples, timelineOffset: offset, adopted: adopted, events: found)
        }
        let adoptedEvents = adoptedEvents(log, found)
        let eventsKept = adoptedEvents.map { " and \($0.count) events (sequences \($0.firstSequence)…\($0.lastSequence))" } ?? ""
        notes.append(HistoryNote(level: .info, message: "history file \(file.path): migrated \(samples.count) samples\(eventsKept) from \(from) to \(shape.capacity) samples at \(DurationText.format(seconds: Double(shape.intervalNanos) / 1e9)) and \(shape.eventCapacity) events"))
        return (target.store, log, HistoryOpening(persistence: .file(path: file.path), adopted: adopted, adoptedEvents: adoptedEvents, notes: notes))
    }

    /// The events in a file being adopted, if its records are ones this build reads; notes what
    /// cannot be kept.
    private static func findEvents(_ file: HistoryFile, _ header: FileHeader, fromEarlierBoot: Bool, _ notes: inout [HistoryNote]) -> FoundEvents? {
        guard header.hasEvents else { return nil }
        guard header.eventsAreReadable else {
            notes.append(HistoryNote(level: .warning, message: "history file \(file.path): its \(header.eventCapacity) event records are of layout \(header.eventLayoutVersion) (\(header.eventRecordSize) bytes), which this drum-monitor does not read (layout \(EventRecordLayout.version), \(EventRecordLayout.size) bytes); its events are not kept, its samples are"))
            return nil
        }
        guard let scan = EventScan.scan(file, header) else {
            notes.append(HistoryNote(level: .warning, message: "history file \(file.path): cannot read its events (\(String(cString: strerror(errno)))); they are not kept"))
            return nil
        }
        if scan.rejected > 0 {
            notes.append(HistoryNote(level: .warning, message: "history file \(file.path): \(scan.rejected) event records were torn, misplaced, invalid or older than a gap and were not adopted"))
        }
        return scan.count > 0 ? FoundEvents(file: file, header: header, scan: scan, fromEarlierBoot: fromEarlierBoot) : nil
    }

    /// A store and event region in a new file next to `path` (`path.new`), renamed over `path`
    /// by `commit`; or in memory (`temporary` nil, `events` nil: the caller keeps its own).
    final class Replacement: @unchecked Sendable {
        let store: SampleStore
        let events: EventRegion?
        let temporary: HistoryFile?
        let path: String
        let persistence: HistoryPersistence
        var notes: [HistoryNote] = []

        init(store: SampleStore, events: EventRegion?, temporary: HistoryFile?, path: String, persistence: HistoryPersistence) {
            self.store = store
            self.events = events
            self.temporary = temporary
            self.path = path
            self.persistence = persistence
        }

        /// Puts the new file in place of the old one; nil when done.
        func commit() -> String? {
            guard let temporary else { return nil }
            if rename(temporary.path, path) != 0 {
                let why = "cannot rename \(temporary.path) to \(path): \(String(cString: strerror(errno)))"
                temporary.unlinkPath()
                return why
            }
            return nil
        }
    }

    private static func replacementFile(_ path: String, _ shape: HistoryShape, _ options: HistoryFileOptions,
                                        timelineOffset: Int64) -> Result<Replacement, HistoryStoreError> {
        let temporaryPath = path + ".new"
        // A leftover of a migration that was interrupted: only a daemon holding `path` gets here.
        unlink(temporaryPath)
        guard case .opened(let file, _) = HistoryFile.openLocked(temporaryPath, exclusiveCreate: true) else {
            return .failure(HistoryStoreError("cannot create \(temporaryPath)"))
        }
        switch create(file, shape, options, timelineOffset: timelineOffset) {
        case .success(let made):
            return .success(Replacement(store: made.store, events: made.events, temporary: file, path: path, persistence: .file(path: path)))
        case .failure(let error):
            file.unlinkPath()
            return .failure(error)
        }
    }

    /// The store a reconfiguration moves to: a new file replacing the current one when the
    /// history is in a file, else memory.
    static func replacement(_ shape: HistoryShape, current: SampleStore, options: HistoryFileOptions?) -> Replacement {
        if let options, let file = current.region.file {
            switch replacementFile(file.path, shape, options, timelineOffset: current.timelineOffset) {
            case .success(let r): return r
            case .failure(let error):
                let reason = error.description + "; keeping the history in memory only"
                let r = Replacement(store: inMemory(shape.capacity, shape.intervalNanos), events: nil, temporary: nil, path: file.path,
                                    persistence: .memory(reason: reason))
                r.store.setTimelineOffset(current.timelineOffset)
                r.notes.append(HistoryNote(level: .warning, message: reason))
                return r
            }
        }
        let r = Replacement(store: inMemory(shape.capacity, shape.intervalNanos), events: nil, temporary: nil, path: "", persistence: .memory(reason: nil))
        r.store.setTimelineOffset(current.timelineOffset)
        return r
    }

    /// Writes the store's header (interval, boot, timeline offset) into its file, if it has one.
    static func rewriteHeader(_ store: SampleStore) {
        guard var header = store.fileHeader, let bytes = store.region.headerBytes else { return }
        header.intervalNanos = store.intervalNanos
        header.timelineOffset = store.timelineOffset
        store.fileHeader = header
        header.write(to: bytes)
    }
}
