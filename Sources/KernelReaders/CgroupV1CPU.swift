/// cgroup v1 CPU: usage from the cpuacct controller, periods and quotas from the cpu controller
/// (often one hierarchy, `cpu,cpuacct`; separate ones on some hosts).
final class CgroupV1CPU: CgroupCPUReader {
    private let usage: Reading<HeldFile>
    private let stat: Reading<HeldFile>
    /// (cpu.cfs_quota_us, cpu.cfs_period_us) per level, leaf first.
    private let quotas: [(quota: Reading<HeldFile>, period: Reading<HeldFile>)]

    init(cpu: CgroupLocation, cpuacct: Reading<CgroupLocation>) {
        stat = hold(cpu.directory + "/cpu.stat")
        switch cpuacct {
        case .value(let acct): usage = hold(acct.directory + "/cpuacct.usage")
        case .unavailable(let why): usage = .unavailable(why)
        }
        let periods = holdAtEachLevel(cpu, "cpu.cfs_period_us")
        quotas = holdAtEachLevel(cpu, "cpu.cfs_quota_us").map { level in
            let period = periods.first { $0.path == level.path }?.file
            return (level.file, period ?? .unavailable("cgroup \(level.path) has cpu.cfs_quota_us but no cpu.cfs_period_us"))
        }
    }

    func read() -> CPUReading {
        let values = stat.keyed(["nr_periods", "nr_throttled", "throttled_time"])
        return CPUReading(usageNanos: usage.unsigned(), periods: values[0], throttledPeriods: values[1],
                          throttledNanos: values[2], limitCores: smallestQuota(quotas, Self.cores))
    }

    /// cpu.cfs_quota_us (-1: none) / cpu.cfs_period_us.
    static func cores(_ level: (quota: Reading<HeldFile>, period: Reading<HeldFile>)) throws -> Double? {
        let quota = try level.quota.file()
        let quotaUs = try quota.withContents { b throws(KernelFileError) in try Parse.singleSigned(b, path: quota.path) }
        guard quotaUs > 0 else { return nil }
        let period = try level.period.file()
        let periodUs = try period.withContents { b throws(KernelFileError) in try Parse.singleUnsigned(b, path: period.path) }
        guard periodUs > 0 else { throw KernelFileError(path: period.path, kind: .malformed("period is 0")) }
        return Double(quotaUs) / Double(periodUs)
    }
}
