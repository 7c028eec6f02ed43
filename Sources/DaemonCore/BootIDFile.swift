import History

/// This boot's id, which tells the history file whether its CLOCK_MONOTONIC times are still
/// this boot's (a restart) or another's (a reboot).
enum BootIDFile {
    static let path = "/proc/sys/kernel/random/boot_id"

    /// `.unknown` when it cannot be read (every history file is then taken as another boot's).
    static func current() -> BootID {
        (try? readText(path)).flatMap { BootID(text: $0) } ?? .unknown
    }
}
