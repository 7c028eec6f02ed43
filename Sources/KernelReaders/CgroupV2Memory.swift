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
        let candidates = limits.map { (path: $0.path, bytes: maxValue($0.file)) }
        return MemoryReading(
            current: usage,
            peak: peak,
            intervalPeak: intervalPeak,
            limit: effectiveLimit(candidates, hostTotal: hostTotalBytes),
            workingSet: workingSet(usage, inactiveFile: statValues[0]),
            oomKills: eventValues[2],
            limitHits: eventValues[0],
            oomEvents: eventValues[1],
            pressureSomeAvg10: pressureAvg10(line: "some"),
            pressureFullAvg10: pressureAvg10(line: "full"))
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

    private func pressureAvg10(line prefix: StaticString) -> Reading<Double> {
        guard case .value(let file) = pressure else { return pressure.map { _ in 0 } }
        do {
            return .value(try file.withContents { bytes throws(KernelFileError) in
                try PressureFile.avg10(bytes, line: prefix, path: file.path)
            })
        } catch { return .unavailable("\(error)") }
    }
}

/// PSI files: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and a `full` line.
public enum PressureFile {
    public static func avg10(_ bytes: Bytes, line prefix: StaticString, path: String) throws(KernelFileError) -> Double {
        for line in bytes.split(separator: ASCII.newline) {
            let words = line.split(separator: ASCII.space)
            guard let first = words.first, first.equals(prefix) else { continue }
            for word in words.dropFirst() {
                guard let eq = word.firstIndex(of: ASCII.equals) else {
                    throw KernelFileError.malformed(path, "expected key=value", line: line)
                }
                if word[word.startIndex..<eq].equals("avg10") {
                    guard let v = Parse.decimal(word[(eq + 1)...]) else {
                        throw KernelFileError.malformed(path, "avg10 is not a number", line: line)
                    }
                    return v
                }
            }
            throw KernelFileError.malformed(path, "no avg10 on the '\(prefix)' line", line: line)
        }
        throw KernelFileError(path: path, kind: .missingKey("\(prefix)"))
    }
}
