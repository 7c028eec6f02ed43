import Dispatch
import Logging
import SystemPackage
import SampleModel

#if canImport(Glibc)
import Glibc
#endif

/// Writes the exposition to a file for node_exporter's textfile collector, every `interval`:
/// whole or not at all (written beside it as `.NAME.tmp`, which the collector does not read, then
/// renamed over it), world-readable whatever the service's UMask (node_exporter runs as another
/// user). A failure is logged once until the file can be written again; the daemon goes on.
///
/// When the daemon stops the file stays: its `drum_monitor_last_sample_timestamp_seconds` then
/// ages, which is what the "sampler stale" alert sees. A reload that changes the path removes the
/// file at the old one.
final class TextfileWriter: Sendable {
    struct Settings: Equatable, Sendable {
        var path: String
        var intervalSeconds: Double
    }

    private let render: @Sendable () -> [UInt8]
    private let logger: Logger
    private let queue = DispatchQueue(label: "drum-monitor.textfile")
    /// Touched only on `queue`.
    private final class Confined: @unchecked Sendable {
        var settings: Settings?
        var timer: (any DispatchSourceTimer)?
        var lastFailure: String?
    }
    private let confined = Confined()

    init(render: @escaping @Sendable () -> [UInt8], logger: Logger) {
        self.render = render
        self.logger = logger
    }

    /// Starts, moves or stops the writing (nil: none). The first write happens at once.
    func apply(_ settings: Settings?) {
        queue.sync {
            let old = confined.settings
            guard old != settings else { return }
            confined.settings = settings
            confined.timer?.cancel()
            confined.timer = nil
            if let old, old.path != settings?.path, unlink(old.path) == 0 {
                logger.info("removed the textfile \(old.path) (no longer configured)")
            }
            guard let settings else { return }
            logger.info("writing the metrics to \(settings.path) every \(DurationText.format(seconds: settings.intervalSeconds))")
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let period = Int(settings.intervalSeconds * 1e9)
            timer.schedule(deadline: .now(), repeating: .nanoseconds(period), leeway: .nanoseconds(Swift.max(period / 20, 1_000_000)))
            timer.setEventHandler { [self] in writeNow(to: settings.path) }
            confined.timer = timer
            timer.resume()
        }
    }

    /// Stops the timer; returns once no write is in progress.
    func stop() {
        queue.sync {
            confined.timer?.cancel()
            confined.timer = nil
        }
    }

    /// On `queue`.
    private func writeNow(to path: String) {
        let failure: String?
        do {
            try Self.write(render(), to: path)
            failure = nil
        } catch {
            failure = error.description
        }
        let previous = confined.lastFailure
        confined.lastFailure = failure
        if let failure, failure != previous {
            logger.warning("cannot write the textfile: \(failure); trying again every interval")
        } else if failure == nil, previous != nil {
            logger.notice("the textfile \(path) is written again")
        }
    }

    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    /// `bytes` to `path`, atomically: a temporary file in the same directory (never following a
    /// link someone put there), then rename(2).
    static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (directory.isEmpty ? "" : directory) + "/." + name + ".tmp"
        let fd: FileDescriptor
        do {
            fd = try openExclusive(temporary)
        } catch let error as Errno where error == .fileExists {
            // Left behind by a daemon that died mid-write.
            unlink(temporary)
            do { fd = try openExclusive(temporary) } catch { throw WriteError(description: "\(temporary): \(error)") }
        } catch {
            throw WriteError(description: "\(temporary): \(error)")
        }
        do {
            // The service's UMask=0077 would leave it unreadable to node_exporter.
            if fchmod(fd.rawValue, 0o644) != 0 { throw Errno(rawValue: errno) }
            _ = try fd.writeAll(bytes)
            try fd.close()
        } catch {
            try? fd.close()
            unlink(temporary)
            throw WriteError(description: "\(temporary): \(error)")
        }
        guard rename(temporary, path) == 0 else {
            let e = Errno(rawValue: errno)
            unlink(temporary)
            throw WriteError(description: "rename \(temporary) to \(path): \(e)")
        }
    }

    private static func openExclusive(_ path: String) throws -> FileDescriptor {
        try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec],
                                permissions: [.ownerReadWrite, .groupRead, .otherRead])
    }
}
