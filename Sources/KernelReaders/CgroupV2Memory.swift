#if canImport(Glibc)
import Glibc
#endif

/// cgroup v2 memory controller.
final class CgroupV2Memory: CgroupMemoryReader {
    let location: CgroupLocation
    private let current: Reading<HeldFile>
    private let stat: Reading<HeldFile>
    private let events: Reading<HeldFile>
    private let pressure: Reading<HeldFile>
    private let limits: [(path: String, file: Reading<HeldFile>)]
    /// memory.peak as every reader sees it: the lifetime peak.
    private let peakFile: Reading<HeldFile>
    /// A second descriptor on memory.peak, reset after each read (6.12+: per-descriptor reset,
    /// invisible to other readers), so each read is the peak since the previous one.
    private let intervalPeakFile: Reading<HeldFile>
    private var peakResets: Bool
    private var resetsDone = 0
    private var fallback = IntervalPeakFromLifetime()

    init(location: CgroupLocation) {
        self.location = location
        let dir = location.directory
        current = hold(dir + "/memory.current")
        stat = hold(dir + "/memory.stat")
        events = hold(dir + "/memory.events")
        pressure = hold(dir + "/memory.pressure")
        limits = holdAtEachLevel(location, "memory.max")
        peakFile = hold(dir + "/memory.peak")
        intervalPeakFile = hold(dir + "/memory.peak", writable: true)
        if case .value = intervalPeakFile { peakResets = true } else { peakResets = false }
    }

    func read(hostTotalBytes: UInt64?) -> MemoryReading {
        let usage = current.unsigned()
        let peak = peakFile.unsigned()
        var intervalPeak = fallback.next(current: usage.value, lifetimePeak: peak.value)
        if peakResets, case .value(let file) = intervalPeakFile, let value = intervalPeakFile.unsigned().value {
            do {
                try file.write("reset\n")
                // The first value on a fresh descriptor is the lifetime peak; after a reset it is
                // the peak since that reset, i.e. over exactly one interval.
                if resetsDone > 0 { intervalPeak = .value(IntervalPeak(bytes: value, exact: true)) }
                resetsDone += 1
            } catch {
                // EINVAL before 6.12: not resettable. Detected once; the lifetime fallback stays.
                peakResets = false
            }
        }

        let statValues = stat.keyed(["inactive_file"])
        let eventValues = events.keyed(["max", "oom", "oom_kill"])
        let candidates = limits.map { LimitCandidate(path: $0.path, bytes: maxValue($0.file)) }
        let psi = pressureFigures()
        return MemoryReading(
            current: usage,
            peak: peak,
            intervalPeak: intervalPeak,
            limit: effectiveLimit(candidates, hostTotal: hostTotalBytes),
            workingSet: workingSet(usage, inactiveFile: statValues[0]),
            oomKills: eventValues[2],
            limitHits: eventValues[0],
            oomEvents: eventValues[1],
            pressureSomeAvg10: psi.someAvg10,
            pressureFullAvg10: psi.fullAvg10,
            pressureSomeTotalMicros: psi.someTotal,
            pressureFullTotalMicros: psi.fullTotal)
    }

    /// memory.max: a number of bytes, or `max`.
    private func maxValue(_ file: Reading<HeldFile>) -> Reading<UInt64> {
        guard case .value(let f) = file else { return file.map { _ in 0 } }
        do {
            return .value(try f.withContents { bytes throws(KernelFileError) -> UInt64 in
                if bytes.trimmingSpace().equals("max") { return .max }
                return try Parse.singleUnsigned(bytes, path: f.path)
            })
        } catch { return .unavailable("\(error)") }
    }

    /// memory.pressure's `some`/`full` avg10 and totals, from one read of the file.
    private func pressureFigures() -> PressureFigures {
        guard case .value(let file) = pressure else { return PressureFigures(pressure.reason ?? "no memory.pressure") }
        func field<T>(_ bytes: Bytes, _ parse: (Bytes) throws(KernelFileError) -> T) -> Reading<T> {
            do { return .value(try parse(bytes)) } catch { return .unavailable("\(error)") }
        }
        do {
            return try file.withContents { bytes throws(KernelFileError) in
                PressureFigures(
                    someAvg10: field(bytes) { b throws(KernelFileError) in try PressureFile.avg10(b, line: "some", path: file.path) },
                    fullAvg10: field(bytes) { b throws(KernelFileError) in try PressureFile.avg10(b, line: "full", path: file.path) },
                    someTotal: field(bytes) { b throws(KernelFileError) in try PressureFile.total(b, line: "some", path: file.path) },
                    fullTotal: field(bytes) { b throws(KernelFileError) in try PressureFile.total(b, line: "full", path: file.path) })
            }
        } catch { return PressureFigures("\(error)") }
    }

    private struct PressureFigures {
        var someAvg10: Reading<Double>
        var fullAvg10: Reading<Double>
        var someTotal: Reading<UInt64>
        var fullTotal: Reading<UInt64>

        init(someAvg10: Reading<Double>, fullAvg10: Reading<Double>, someTotal: Reading<UInt64>, fullTotal: Reading<UInt64>) {
            (self.someAvg10, self.fullAvg10, self.someTotal, self.fullTotal) = (someAvg10, fullAvg10, someTotal, fullTotal)
        }

        init(_ reason: String) {
            self.init(someAvg10: .unavailable(reason), fullAvg10: .unavailable(reason), someTotal: .unavailable(reason),
                      fullTotal: .unavailable(reason))
        }
    }
}

/// PSI files: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line.
public enum PressureFile {
    /// The `avg10=` of a line: the share of the last 10 s stalled, in percent.
    public static func avg10(_ bytes: Bytes, line prefix: StaticString, path: String) throws(KernelFileError) -> Double {
        try field(bytes, line: prefix, key: "avg10", path: path) { Parse.decimal($0) }
    }

    /// The `total=` of a line: microseconds stalled since the cgroup was made (a counter).
    public static func total(_ bytes: Bytes, line prefix: StaticString, path: String) throws(KernelFileError) -> UInt64 {
        try field(bytes, line: prefix, key: "total", path: path) { Parse.unsigned($0) }
    }

    /// The value of `key=` on the line starting with `prefix`, parsed by `parse` (nil: malformed).
    static func field<T>(_ bytes: Bytes, line prefix: StaticString, key: StaticString, path: String,
                         _ parse: (Slice<Bytes>) -> T?) throws(KernelFileError) -> T {
        for line in bytes.split(separator: ASCII.newline) {
            let words = line.split(separator: ASCII.space)
            guard let first = words.first, first.equals(prefix) else { continue }
            for word in words.dropFirst() {
                guard let eq = word.firstIndex(of: ASCII.equals) else {
                    throw KernelFileError.malformed(path, "expected key=value", line: line)
                }
                if word[word.startIndex..<eq].equals(key) {
                    guard let value = parse(word[(eq + 1)...]) else {
                        throw KernelFileError.malformed(path, "\(key) is not a number", line: line)
                    }
                    return value
                }
            }
            throw KernelFileError.malformed(path, "no \(key) on the '\(prefix)' line", line: line)
        }
        throw KernelFileError(path: path, kind: .missingKey("\(prefix)"))
    }
}
