/// cgroup v2 CPU: cpu.stat for usage and throttling, cpu.max per level for the quota.
final class CgroupV2CPU: CgroupCPUReader {
    private let stat: Reading<HeldFile>
    /// cpu.max per level, leaf first (the root cgroup has none).
    private let quotas: [Reading<HeldFile>]

    init(location: CgroupLocation) {
        stat = hold(location.directory + "/cpu.stat")
        quotas = holdAtEachLevel(location, "cpu.max").map(\.file)
    }

    func read() -> CPUReading {
        let values = stat.keyed(["usage_usec", "nr_periods", "nr_throttled", "throttled_usec"])
        return CPUReading(usageNanos: values[0].map { $0 &* 1000 }, periods: values[1],
                          throttledPeriods: values[2], throttledNanos: values[3].map { $0 &* 1000 },
                          limitCores: smallestQuota(quotas, Self.cores))
    }

    /// cpu.max: `QUOTA PERIOD` or `max PERIOD`.
    static func cores(_ level: Reading<HeldFile>) throws -> Double? {
        let f = try level.file()
        return try f.withContents { bytes throws(KernelFileError) -> Double? in
            let words = bytes.trimmingSpace().split(separator: ASCII.space)
            guard words.count == 2, let period = Parse.unsigned(words[1]), period > 0 else {
                throw KernelFileError.malformed(f.path, "expected 'QUOTA PERIOD'", line: bytes)
            }
            if words[0].equals("max") { return nil }
            guard let quota = Parse.unsigned(words[0]) else {
                throw KernelFileError.malformed(f.path, "quota is neither a number nor 'max'", line: bytes)
            }
            return Double(quota) / Double(period)
        }
    }
}
