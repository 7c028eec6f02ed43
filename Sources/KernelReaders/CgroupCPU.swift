/// A cgroup's CPU counters at one instant. Rates come from differences of two readings.
public struct CPUReading: Sendable, Equatable {
    /// Total CPU time used by the cgroup and its descendants, including exited processes.
    public var usageNanos: Reading<UInt64>
    public var periods: Reading<UInt64>
    public var throttledPeriods: Reading<UInt64>
    public var throttledNanos: Reading<UInt64>
    /// The smallest quota on the way to the root, in cores; `nil` when there is none.
    public var limitCores: Reading<Double?>
}

/// Reads a cgroup's CPU accounting and quota. v1 and v2 differ only in the files.
public final class CgroupCPUReader {
    public let usageLocation: Reading<CgroupLocation>
    public let quotaLocation: Reading<CgroupLocation>
    private let version: CgroupLocation.Version?
    private let usage: Reading<HeldFile>
    private let stat: Reading<HeldFile>
    /// v1: (cfs_quota_us, cfs_period_us) per level; v2: cpu.max per level.
    private let quotas: [(quota: Reading<HeldFile>, period: Reading<HeldFile>?)]

    public init(cgroups: CgroupSet) {
        usageLocation = cgroups.cpuacct
        quotaLocation = cgroups.cpu
        switch cgroups.cpu {
        case .value(let cpu) where cpu.version == .v2:
            version = .v2
            stat = hold(cpu.directory + "/cpu.stat")
            usage = stat
            quotas = cpu.selfAndAncestors.filter { $0 != cpu.mountPoint }.map { (hold($0 + "/cpu.max"), nil) }
        case .value(let cpu):
            version = .v1
            stat = hold(cpu.directory + "/cpu.stat")
            if case .value(let acct) = cgroups.cpuacct {
                usage = hold(acct.directory + "/cpuacct.usage")
            } else {
                usage = .unavailable(cgroups.cpuacct.reason ?? "no cpuacct cgroup")
            }
            quotas = cpu.selfAndAncestors.map { (hold($0 + "/cpu.cfs_quota_us"), hold($0 + "/cpu.cfs_period_us")) }
        case .unavailable(let why):
            version = nil
            stat = .unavailable(why)
            usage = .unavailable(why)
            quotas = []
        }
    }

    public func read() -> CPUReading {
        switch version {
        case .v2:
            let values = stat.keyed(["usage_usec", "nr_periods", "nr_throttled", "throttled_usec"])
            return CPUReading(usageNanos: values[0].map { $0 &* 1000 }, periods: values[1],
                              throttledPeriods: values[2], throttledNanos: values[3].map { $0 &* 1000 },
                              limitCores: limit())
        case .v1:
            let values = stat.keyed(["nr_periods", "nr_throttled", "throttled_time"])
            return CPUReading(usageNanos: usage.unsigned(), periods: values[0], throttledPeriods: values[1],
                              throttledNanos: values[2], limitCores: limit())
        case nil:
            let why = stat.reason ?? "no cpu cgroup"
            return CPUReading(usageNanos: .unavailable(why), periods: .unavailable(why),
                              throttledPeriods: .unavailable(why), throttledNanos: .unavailable(why),
                              limitCores: .unavailable(why))
        }
    }

    private func limit() -> Reading<Double?> {
        var smallest: Double?
        for (quotaFile, periodFile) in quotas {
            let cores: Double?
            do {
                if let periodFile {
                    cores = try v1Cores(quotaFile, periodFile)
                } else {
                    cores = try v2Cores(quotaFile)
                }
            } catch {
                return .unavailable("\(error)")
            }
            if let cores, cores < (smallest ?? .infinity) { smallest = cores }
        }
        return .value(smallest)
    }

    /// cpu.cfs_quota_us (-1 = none) / cpu.cfs_period_us.
    private func v1Cores(_ quota: Reading<HeldFile>, _ period: Reading<HeldFile>) throws(KernelFileError) -> Double? {
        guard case .value(let q) = quota, case .value(let p) = period else { return nil }
        let quotaUs = try q.withContents { b throws(KernelFileError) in try Parse.singleSigned(b, path: q.path) }
        guard quotaUs > 0 else { return nil }
        let periodUs = try p.withContents { b throws(KernelFileError) in try Parse.singleUnsigned(b, path: p.path) }
        guard periodUs > 0 else { throw KernelFileError(path: p.path, kind: .malformed("period is 0")) }
        return Double(quotaUs) / Double(periodUs)
    }

    /// cpu.max: `QUOTA PERIOD` or `max PERIOD`.
    private func v2Cores(_ file: Reading<HeldFile>) throws(KernelFileError) -> Double? {
        guard case .value(let f) = file else { return nil }
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
