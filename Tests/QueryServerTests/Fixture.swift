import History
import SampleModel

/// Samples whose every figure is known, so that answers can be compared byte for byte.
enum Fixture {
    static let firstWallNanos: Int64 = 1_700_000_000_000_000_000

    /// `count` samples one second apart, sequence 1...count, memory 100 MiB + i MiB.
    static func history(samples count: Int = 5, capacity: Int = 64) -> History {
        let history = History(capacity: capacity, intervalNanos: 1_000_000_000)
        for i in 1...max(count, 1) where count > 0 {
            var values = MetricValues()
            values[.memoryCurrent] = Double((100 + i) << 20)
            values[.memoryLimit] = Double(512 << 20)
            values[.treeRSS] = Double(64 << 20)
            values[.processCount] = 1
            var detail = SampleDetail(target: .init(found: true, rootPid: 4242, mode: .gunicorn, generation: 1, processCount: 1))
            detail.processes = [.init(pid: 4242, ppid: 1, role: .master, cmdline: ["python", "-m", "gunicorn"],
                                      rssBytes: 64 << 20, cpuCores: 0.25)]
            detail.hostTotalBytes = 1 << 34
            history.append(Sample(sequence: UInt64(i), wallNanos: firstWallNanos + Int64(i) * 1_000_000_000,
                                  monoNanos: UInt64(i) * 1_000_000_000, generation: 1, values: values), detail: detail)
        }
        return history
    }
}
