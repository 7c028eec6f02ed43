import SampleModel
#if canImport(Glibc)
import Glibc
#endif

/// Where the history lives and what was found there at start.
public enum HistoryPersistence: Sendable, Equatable {
    /// In the history file at `path` (memory-mapped; survives restarts).
    case file(path: String)
    /// In memory only; `reason` says why when a file was wanted.
    case memory(reason: String?)
}

public struct HistoryNote: Sendable, Equatable, CustomStringConvertible {
    public enum Level: Sendable { case info, warning }
    public var level: Level
    public var message: String
    public var description: String { message }
}

/// What a daemon adopted from the history file: the hook for a `daemon_restarted` event and for
/// continuing sequence numbers and generations.
public struct AdoptedHistory: Sendable, Equatable {
    public var count: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var lastGeneration: UInt32
    /// When the newest adopted sample was taken (wall clock, ns since the epoch).
    public var lastWallNanos: Int64
    /// Set when the file had another layout, capacity or interval and was converted.
    public var migratedFrom: String?
}

public struct HistoryOpening: Sendable {
    public var persistence: HistoryPersistence
    public var adopted: AdoptedHistory?
    /// What the log should say: renamed aside, migrated, torn slots, no room, locked.
    public var notes: [HistoryNote]
}

/// The clocks adoption reads "now" from (injectable for tests).
public protocol HistoryClock: Sendable {
    func monotonicNanos() -> UInt64
    func wallNanos() -> Int64
}

public struct SystemHistoryClock: HistoryClock {
    public init() {}
    public func monotonicNanos() -> UInt64 { Clock.monotonicNanos() }
    public func wallNanos() -> Int64 { Clock.wallNanos() }
}

public struct HistoryFileOptions: Sendable {
    public var path: String
    /// This boot's id (see `BootID`); `.unknown` treats every file as from another boot.
    public var bootID: BootID
    public var clock: any HistoryClock

    public init(path: String, bootID: BootID, clock: any HistoryClock = SystemHistoryClock()) {
        self.path = path
        self.bootID = bootID
        self.clock = clock
    }
}

/// Opening, adopting, migrating and replacing history files. Every outcome leaves a working
/// store: a file that cannot be used means a history in memory and a note saying why.
///
/// | found at the path                                   | outcome                                          |
/// |-----------------------------------------------------|--------------------------------------------------|
/// | nothing, or an empty file                           | a new file                                       |
/// | a history of this layout, capacity and interval     | adopted in place                                 |
/// | one of this format with another layout or capacity  | migrated: the newest samples that fit, new file  |
/// |   (only the interval differs: adopted, header updated)                                                 |
/// | another format version, a foreign, truncated or corrupt file, one owned or writable by others | renamed to `<path>.bad`, a new file |
/// | a symlink, directory, FIFO, device; no permission   | memory only                                      |
/// | a file locked by another daemon                     | memory only                                      |
/// | no room to preallocate                              | memory only (adopted samples kept in memory)     |
enum HistoryStorage {
    static func open(capacity: Int, intervalNanos: UInt64, options: HistoryFileOptions) -> (SampleStore, HistoryOpening) {
        var notes: [HistoryNote] = []
        let path = options.path
        for _ in 0..<3 {
            switch HistoryFile.openLocked(path) {
            case .busy:
                return memory(capacity, intervalNanos, notes, "\(path) is locked by another process (another drum-monitor using the same history_file?); keeping the history in memory only")
            case .unusable(let why):
                return memory(capacity, intervalNanos, notes, why + "; keeping the history in memory only")
            case .opened(let file, let st):
                if let why = HistoryFile.distrust(st) {
                    if let failed = aside(file, "it is " + why, &notes) { return memory(capacity, intervalNanos, notes, failed) }
                    continue
                }
                let size = Int(st.st_size)
                if size == 0 { return fresh(file, capacity, intervalNanos, options, notes) }
                guard let prefix = file.readPrefix(FileHeader.size) else {
                    return memory(capacity, intervalNanos, notes, "cannot read \(path): \(String(cString: strerror(errno)))")
                }
                let parsed = prefix.withUnsafeBytes { bytes in Result { () throws(FileHeader.Rejection) in try FileHeader.parse(bytes, fileSize: size) } }
                switch parsed {
                case .failure(let rejection):
                    if let failed = aside(file, "it is \(rejection)", &notes) { return memory(capacity, intervalNanos, notes, failed) }
                    continue
                case .success(let header):
                    return adopt(file, header, capacity, intervalNanos, options, notes)
                }
            }
        }
        return memory(capacity, intervalNanos, notes, "\(path) keeps changing; keeping the history in memory only")
    }

    private static func aside(_ file: HistoryFile, _ why: String, _ notes: inout [HistoryNote]) -> String? {
        if let failed = file.renameAside() { return failed + " (\(why)); keeping the history in memory only" }
        notes.append(HistoryNote(level: .warning, message: "history file \(file.path) not used: \(why); renamed it to \(file.path).bad and started a new history"))
        return nil
    }

    private static func memory(_ capacity: Int, _ intervalNanos: UInt64, _ notes: [HistoryNote], _ reason: String,
                               keeping samples: [SampleStore.Copy] = [], timelineOffset: Int64 = 0,
                               adopted: AdoptedHistory? = nil) -> (SampleStore, HistoryOpening) {
        let store = inMemory(capacity, intervalNanos)
        store.setTimelineOffset(timelineOffset)
        for sample in samples.suffix(capacity) { store.append(sample) }
        store.restartPending = !store.isEmpty
        var notes = notes
        notes.append(HistoryNote(level: .warning, message: reason))
        return (store, HistoryOpening(persistence: .memory(reason: reason), adopted: adopted, notes: notes))
    }

    static func inMemory(_ capacity: Int, _ intervalNanos: UInt64) -> SampleStore {
        do { return try SampleStore.inMemory(capacity: capacity, intervalNanos: intervalNanos) } catch {
            fatalError("\(error)")
        }
    }

    static var currentMetrics: [FileHeader.FileMetric] {
        Metric.allCases.map { FileHeader.FileMetric(name: $0.name, scale: MetricCodec($0).scale) }
    }

    /// A new, empty history in `file` (held, locked, and ours to size).
    private static func fresh(_ file: HistoryFile, _ capacity: Int, _ intervalNanos: UInt64, _ options: HistoryFileOptions,
                              _ notes: [HistoryNote], timelineOffset: Int64 = 0) -> (SampleStore, HistoryOpening) {
        switch create(file, capacity, intervalNanos, options, timelineOffset: timelineOffset) {
        case .success(let store):
            var notes = notes
            notes.append(HistoryNote(level: .info, message: "history file \(file.path): new, \(capacity) samples, \(ByteCount.text(store.fileSize))"))
            return (store.store, HistoryOpening(persistence: .file(path: file.path), adopted: nil, notes: notes))
        case .failure(let error):
            file.unlinkPath()
            return memory(capacity, intervalNanos, notes, error.description + "; keeping the history in memory only")
        }
    }

    private static func create(_ file: HistoryFile, _ capacity: Int, _ intervalNanos: UInt64, _ options: HistoryFileOptions,
                               timelineOffset: Int64) -> Result<(store: SampleStore, fileSize: Int), HistoryStoreError> {
        let header = FileHeader(metrics: currentMetrics, capacity: capacity, intervalNanos: intervalNanos, bootID: options.bootID,
                                timelineOffset: timelineOffset, salt: UInt64.random(in: 0...UInt64.max))
        if let failed = file.preallocate(header.fileSize) { return .failure(HistoryStoreError(failed)) }
        guard let mapping = file.map(header.fileSize, writable: true) else {
            return .failure(.system("cannot map \(file.path)", errno))
        }
        let region = SlotRegion(file: file, mapping: mapping, length: header.fileSize, layout: header.layout,
                                slotCount: header.slotCount, salt: header.salt)
        header.write(to: region.headerBytes!)
        let store = SampleStore(region: region, capacity: capacity, intervalNanos: intervalNanos)
        store.fileHeader = header
        store.setTimelineOffset(timelineOffset)
        return .success((store, header.fileSize))
    }

    /// A valid header: adopt in place when the slots are the ones this build writes, else migrate.
    private static func adopt(_ file: HistoryFile, _ header: FileHeader, _ capacity: Int, _ intervalNanos: UInt64,
                              _ options: HistoryFileOptions, _ notes: [HistoryNote]) -> (SampleStore, HistoryOpening) {
        var notes = notes
        let wanted = FileHeader(metrics: currentMetrics, capacity: capacity, intervalNanos: intervalNanos, bootID: options.bootID,
                                timelineOffset: 0, salt: header.salt)
        guard let mapping = file.map(header.fileSize, writable: header.sameSlots(as: wanted)) else {
            return memory(capacity, intervalNanos, notes, "cannot map \(file.path): \(String(cString: strerror(errno))); keeping the history in memory only")
        }
        let region = SlotRegion(file: file, mapping: mapping, length: header.fileSize, layout: header.layout,
                                slotCount: header.slotCount, salt: header.salt)
        let known = Dictionary(uniqueKeysWithValues: Metric.allCases.map { ($0.name, $0.rawValue) })
        let old = SampleStore(region: region, capacity: header.capacity, intervalNanos: header.intervalNanos,
                              codecs: header.metrics.map { MetricCodec(scale: $0.scale) }, metricIDs: header.metrics.map { known[$0.name] })
        let report = old.adopt()
        if report.rejected > 0 {
            notes.append(HistoryNote(level: .warning, message: "history file \(file.path): \(report.rejected) slots were torn, out of order or inconsistent and were not adopted"))
        }
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
        if header.sameSlots(as: wanted) {
            if let failed = file.preallocate(header.fileSize) {
                return memory(capacity, intervalNanos, notes, failed + "; keeping the history in memory only",
                              keeping: old.copies(after: 0, limit: old.count), timelineOffset: offset, adopted: adopted)
            }
            old.setInterval(intervalNanos)
            old.setTimelineOffset(offset)
            old.restartPending = !old.isEmpty
            var written = header
            written.intervalNanos = intervalNanos
            written.bootID = options.bootID
            written.timelineOffset = offset
            old.fileHeader = written
            rewriteHeader(old)
            if let adopted {
                notes.append(HistoryNote(level: .info, message: "history file \(file.path): adopted \(adopted.count) samples (sequences \(adopted.firstSequence)…\(adopted.lastSequence), the newest taken \(RFC3339.format(wallNanos: adopted.lastWallNanos)))"))
            } else {
                notes.append(HistoryNote(level: .info, message: "history file \(file.path): no samples to adopt; \(capacity) samples, \(ByteCount.text(header.fileSize))"))
            }
            return (old, HistoryOpening(persistence: .file(path: file.path), adopted: adopted, notes: notes))
        }
        // Migration: the newest samples that fit, into a new file that replaces this one.
        let from = "\(header.capacity) samples of \(header.metrics.count) metrics at \(DurationText.format(seconds: Double(header.intervalNanos) / 1e9))"
        adopted?.migratedFrom = from
        if let adoptedCount = adopted?.count { adopted?.count = Swift.min(adoptedCount, capacity) }
        let samples = Array(old.copies(after: 0, limit: old.count).suffix(capacity))
        let target: Replacement
        switch replacementFile(file.path, capacity, intervalNanos, options, timelineOffset: offset) {
        case .success(let made): target = made
        case .failure(let error):
            return memory(capacity, intervalNanos, notes, error.description + "; keeping the history in memory only",
                          keeping: samples, timelineOffset: offset, adopted: adopted)
        }
        for sample in samples { target.store.append(sample) }
        target.store.restartPending = !target.store.isEmpty
        if let failed = target.commit() {
            return memory(capacity, intervalNanos, notes, failed + "; keeping the history in memory only",
                          keeping: samples, timelineOffset: offset, adopted: adopted)
        }
        notes.append(HistoryNote(level: .info, message: "history file \(file.path): migrated \(samples.count) samples from \(from) to \(capacity) samples at \(DurationText.format(seconds: Double(intervalNanos) / 1e9))"))
        return (target.store, HistoryOpening(persistence: .file(path: file.path), adopted: adopted, notes: notes))
    }

    /// A store in a new file next to `path` (`path.new`), renamed over `path` by `commit`.
    final class Replacement: @unchecked Sendable {
        let store: SampleStore
        let temporary: HistoryFile?
        let path: String
        let persistence: HistoryPersistence
        var notes: [HistoryNote] = []

        init(store: SampleStore, temporary: HistoryFile?, path: String, persistence: HistoryPersistence) {
            self.store = store
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

    private static func replacementFile(_ path: String, _ capacity: Int, _ intervalNanos: UInt64, _ options: HistoryFileOptions,
                                        timelineOffset: Int64) -> Result<Replacement, HistoryStoreError> {
        let temporaryPath = path + ".new"
        // A leftover of a migration that was interrupted: only a daemon holding `path` gets here.
        unlink(temporaryPath)
        guard case .opened(let file, _) = HistoryFile.openLocked(temporaryPath, exclusiveCreate: true) else {
            return .failure(HistoryStoreError("cannot create \(temporaryPath)"))
        }
        switch create(file, capacity, intervalNanos, options, timelineOffset: timelineOffset) {
        case .success(let made):
            return .success(Replacement(store: made.store, temporary: file, path: path, persistence: .file(path: path)))
        case .failure(let error):
            file.unlinkPath()
            return .failure(error)
        }
    }

    /// The store a reconfiguration moves to: a new file replacing the current one when the
    /// history is in a file, else memory.
    static func replacement(capacity: Int, intervalNanos: UInt64, current: SampleStore, options: HistoryFileOptions?) -> Replacement {
        if let options, let file = current.region.file {
            switch replacementFile(file.path, capacity, intervalNanos, options, timelineOffset: current.timelineOffset) {
            case .success(let r): return r
            case .failure(let error):
                let reason = error.description + "; keeping the history in memory only"
                let r = Replacement(store: inMemory(capacity, intervalNanos), temporary: nil, path: file.path, persistence: .memory(reason: reason))
                r.store.setTimelineOffset(current.timelineOffset)
                r.notes.append(HistoryNote(level: .warning, message: reason))
                return r
            }
        }
        let r = Replacement(store: inMemory(capacity, intervalNanos), temporary: nil, path: "", persistence: .memory(reason: nil))
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
