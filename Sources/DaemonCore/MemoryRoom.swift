import Logging
import SampleModel
import Sampler

#if canImport(Glibc)
import Glibc
#endif

/// The memory the daemon may still take before its cgroup's limit (or, with no cgroup limit,
/// the host's available memory) — read from the daemon's own cgroup by one tick of a sampler
/// watching the daemon itself. The history is checked against it before it is allocated, at
/// start and at a reload that changes its size, so a history that cannot fit is refused with
/// its figures instead of the daemon being OOM-killed without a word.
struct MemoryRoom {
    /// Bytes left.
    var bytes: Double
    /// Where the figure comes from, for the message: "its cgroup /x leaves 36.2 MiB (…)".
    var description: String

    /// What the rest of the daemon takes after the check: its threads, the query server's
    /// buffers, the process tree's state. Measured: the release build's cgroup grows ~2.5 MiB
    /// beyond the history after the check (1s, 100ms and 10ms intervals); a debug build ~12 MiB.
    static let othersBytes = 8 << 20

    /// nil when the daemon's own memory figures cannot be read (the check is then skipped).
    static func measure(logger: Logger) -> MemoryRoom? {
        var quiet = logger
        quiet.logLevel = .critical
        let own = SamplerConfiguration(target: .pid(getpid()), readEnvironment: false)
        guard let sampler = try? Sampler(configuration: own, logger: quiet) else { return nil }
        let (sample, detail) = sampler.tick()
        let cgroup = detail.cgroup?.path ?? "?"
        if let source = detail.limitSource, source != "host",
           let limit = sample.values[.memoryLimit], let used = sample.values[.memoryCurrent] {
            let from = source == cgroup ? "" : " set on \(source)"
            return MemoryRoom(bytes: limit - used, description: "its cgroup \(cgroup) leaves \(ByteText.format(max(0, limit - used))) "
                              + "(limit \(ByteText.format(limit))\(from), \(ByteText.format(used)) in use)")
        }
        guard let available = sample.values[.hostAvailable] else { return nil }
        return MemoryRoom(bytes: available, description: "the host has \(ByteText.format(available)) available (no cgroup limit on \(cgroup))")
    }

    /// Why `config`'s history, taking `need` of memory, cannot be allocated now, or nil when it fits.
    func refusal(_ need: HistoryMemory, _ config: DaemonConfig) -> String? {
        guard Double(need.bytes + Self.othersBytes) > bytes else { return nil }
        return "the history (\(config.historyDescription)) needs \(ByteText.format(Double(need.bytes))) of memory: \(need.description); "
            + "the rest of the daemon about \(ByteText.format(Double(Self.othersBytes))), "
            + "but \(description): lengthen 'interval', shorten 'retention', or give the daemon more memory (e.g. MemoryMax= of its unit)"
    }
}

/// The history does not fit the memory the daemon may take (serve exits 2: the configuration
/// must change, or the daemon's limit).
public struct HistoryDoesNotFit: Error, CustomStringConvertible {
    public let description: String
}
