import Testing
@testable import KernelReaders
import SampleModel
@testable import Sampler

/// The sampling steps as pure functions of readings and their times.
@Suite struct SamplingStepsTests {
    let second: UInt64 = 1_000_000_000

    @Test func cpuFromTwoReadings() {
        let a = CPUTimeReading(startTimeTicks: 500, cpuTicks: 1000, monoNanos: 10 * second)
        let b = CPUTimeReading(startTimeTicks: 500, cpuTicks: 1150, monoNanos: 12 * second)
        #expect(SamplingSteps.cpuCores(from: a, to: b, ticksPerSecond: 100) == 0.75)
        #expect(SamplingSteps.cpuCores(from: a, to: b, ticksPerSecond: 250) == 0.3)
    }

    @Test func noRateWithoutTwoReadingsOfOneProcess() {
        let b = CPUTimeReading(startTimeTicks: 500, cpuTicks: 1150, monoNanos: 12 * second)
        #expect(SamplingSteps.cpuCores(from: nil, to: b, ticksPerSecond: 100) == nil, "first reading")
        let reused = CPUTimeReading(startTimeTicks: 400, cpuTicks: 10, monoNanos: 10 * second)
        #expect(SamplingSteps.cpuCores(from: reused, to: b, ticksPerSecond: 100) == nil, "another process had the pid")
        let same = CPUTimeReading(startTimeTicks: 500, cpuTicks: 1000, monoNanos: 12 * second)
        #expect(SamplingSteps.cpuCores(from: same, to: b, ticksPerSecond: 100) == nil, "no time passed")
        let ahead = CPUTimeReading(startTimeTicks: 500, cpuTicks: 2000, monoNanos: 10 * second)
        #expect(SamplingSteps.cpuCores(from: ahead, to: b, ticksPerSecond: 100) == nil, "counter went backwards")
        #expect(SamplingSteps.cpuCores(from: ahead, to: b, ticksPerSecond: 0) == nil)
    }

    @Test func intervals() {
        #expect(SamplingSteps.intervalSeconds(from: nil, to: 5 * second) == nil)
        #expect(SamplingSteps.intervalSeconds(from: 5 * second, to: 5 * second) == nil)
        #expect(SamplingSteps.intervalSeconds(from: 4 * second, to: 5 * second + second / 2) == 1.5)
    }

    func stat(pid: Int32 = 7, start: UInt64, comm: String = "python3", argStart: UInt64 = 0x1000) -> ProcStat {
        ProcStat(pid: pid, comm: comm, state: UInt8(ascii: "S"), ppid: 1, utimeTicks: 0, stimeTicks: 0, cutimeTicks: 0,
                 cstimeTicks: 0, numThreads: 1, startTimeTicks: start, rssPages: 1, argStart: argStart, argEnd: argStart + 64)
    }

    @Test func pidReuseByStartTime() {
        #expect(SamplingSteps.sameProcess(stat(start: 100), stat(start: 100)))
        #expect(!SamplingSteps.sameProcess(stat(start: 100), stat(start: 101)))
        #expect(!SamplingSteps.sameProcess(stat(pid: 7, start: 100), stat(pid: 8, start: 100)))
    }

    @Test func execSigns() {
        let known = ExecMarks(stat(start: 1))
        let t0: UInt64 = 100 * second
        let every = second
        func compare(_ s: ProcStat, at t: UInt64) -> Bool {
            SamplingSteps.shouldCompareCmdline(known: known, now: ExecMarks(s), lastComparedNanos: t0, nowNanos: t, every: every)
        }
        #expect(!compare(stat(start: 1), at: t0 + second / 2), "nothing changed, not due")
        #expect(compare(stat(start: 1), at: t0 + second), "due once a second")
        #expect(compare(stat(start: 1, comm: "gunicorn"), at: t0 + 1), "a new comm")
        #expect(compare(stat(start: 1, argStart: 0x9000), at: t0 + 1), "argv moved")
        #expect(compare(stat(start: 1, argStart: 0), at: t0 + 1), "addresses hidden: compare every time")
    }

    @Test func youngProcesses() {
        // Booted 1000 s ago; 100 ticks per second.
        let boot = 1000 * second
        #expect(SamplingSteps.isYounger(startTimeTicks: 99_800, ticksPerSecond: 100, bootNanos: boot, than: 5))
        #expect(!SamplingSteps.isYounger(startTimeTicks: 99_000, ticksPerSecond: 100, bootNanos: boot, than: 5))
    }

    func process(_ pid: Int32, rss: UInt64, cpu: Double?) -> SampleDetail.Process {
        SampleDetail.Process(pid: pid, ppid: pid == 10 ? 1 : 10, role: pid == 10 ? .master : .worker, cmdline: ["x"], rssBytes: rss, cpuCores: cpu)
    }

    @Test func treeFigures() {
        var processes = [process(30, rss: 300, cpu: nil), process(10, rss: 100, cpu: 0.5), process(20, rss: 200, cpu: 0.25)]
        var values = MetricValues()
        var reasons = MetricReasons()
        SamplingSteps.treeFigures(&processes, rootPid: 10, rootHasCPU: true, incomplete: nil, values: &values, unavailable: &reasons)
        #expect(processes.map(\.pid) == [10, 20, 30], "root first, then by pid")
        #expect(values[.treeRSS] == 600)
        #expect(values[.processCount] == 3)
        #expect(values[.treeCPU] == 0.75, "a process with one reading adds nothing yet")
    }

    @Test func treeCPUNeedsTheRootsSecondReading() {
        var processes = [process(10, rss: 100, cpu: nil)]
        var values = MetricValues()
        var reasons = MetricReasons()
        SamplingSteps.treeFigures(&processes, rootPid: 10, rootHasCPU: false, incomplete: nil, values: &values, unavailable: &reasons)
        #expect(values[.treeCPU] == nil)
        #expect(reasons[.treeCPU] == "needs two readings of the DRUM root")
        #expect(values[.treeRSS] == 100)
    }

    /// Issue 11 item 20: a walk that could not hold every process does not present a sum.
    @Test func anIncompleteTreeHasNoSums() {
        var processes = [process(10, rss: 100, cpu: 0.5), process(20, rss: 200, cpu: 0.25)]
        var values = MetricValues()
        var reasons = MetricReasons()
        let why = "the process tree is incomplete: 3 reads failed for want of file descriptors"
        SamplingSteps.treeFigures(&processes, rootPid: 10, rootHasCPU: true, incomplete: why, values: &values, unavailable: &reasons)
        for m in [Metric.treeRSS, .treeCPU, .processCount] {
            #expect(values[m] == nil)
            #expect(reasons[m] == why)
        }
        #expect(processes.count == 2, "what was seen is still listed")
    }

    @Test func hostMemory() {
        var values = MetricValues()
        var detail = SampleDetail(target: .init(found: false, generation: 0, processCount: 0))
        SamplingSteps.hostMemory(.value(HostMemory(totalBytes: 100, availableBytes: 60, freeBytes: 40)), values: &values, detail: &detail)
        #expect(values[.hostAvailable] == 60 && detail.hostTotalBytes == 100 && detail.hostFreeBytes == 40)
        var none = MetricValues()
        SamplingSteps.hostMemory(.unavailable("no meminfo"), values: &none, detail: &detail)
        #expect(none[.hostAvailable] == nil && detail.unavailable[.hostAvailable] == "no meminfo")
    }

    @Test func countersOnlyGoUp() {
        let c = SampleCounters(sequence: 41, generation: 6)
        #expect(c.nextSequence() == 42)
        #expect(c.nextGeneration() == 7)
        #expect(c.sequence == 42 && c.generation == 7)
    }
}
