import SampleModel

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

/// The events a daemon adopted from the history file: their sequences continue.
public struct AdoptedEvents: Sendable, Equatable {
    public var count: Int
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Written during another boot (the file's boot id is not this one's): their monotonic
    /// times are that boot's.
    public var fromEarlierBoot: Bool
}

public struct HistoryOpening: Sendable {
    public var persistence: HistoryPersistence
    public var adopted: AdoptedHistory?
    /// The events kept from the file (nil: none).
    public var adoptedEvents: AdoptedEvents?
    /// What the log should say: renamed aside, migrated, torn slots, no room, locked.
    public var notes: [HistoryNote]

    init(persistence: HistoryPersistence, adopted: AdoptedHistory?, adoptedEvents: AdoptedEvents? = nil, notes: [HistoryNote]) {
        self.persistence = persistence
        self.adopted = adopted
        self.adoptedEvents = adoptedEvents
        self.notes = notes
    }
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
