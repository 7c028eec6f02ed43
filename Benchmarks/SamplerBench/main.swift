// The sampler's CPU per tick, back to back (no timer, warm caches), on a live process tree:
// the same conditions as Benchmarks/floor.c without --interval-us, so the two compare directly.
// Each tick also runs event detection, as the daemon does after every sample.
// Usage: drum-monitor-sampler-bench PID [TICKS].
// Prints `ticks=N cpu_us_per_tick=X procs=P detect_us_per_tick=D` (D: the detection's share of X).
import History
import KernelReaders
import SampleModel
import Sampler

#if canImport(Glibc)
import Glibc
#endif

func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func cpuMicros() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

let args = CommandLine.arguments
guard args.count >= 2, let pid = Int32(args[1]) else {
    print("usage: drum-monitor-sampler-bench PID [TICKS]")
    exit(2)
}
let ticks = args.count > 2 ? Int(args[2]) ?? 3000 : 3000
let sleepMicros = args.count > 3 ? Int(args[3]) ?? 0 : 0
let sampler: Sampler
do {
    sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(pid)))
} catch {
    print("cannot sample: \(error)")
    exit(1)
}
let history = History(capacity: 3600, intervalNanos: 1_000_000_000)
var detector = EventDetector()
let departed = DepartedCgroupProbe()
let events = EventLog(capacity: 1000)
let interval: UInt64 = 10_000_000
@MainActor func tick() -> (processes: Int, detectNanos: UInt64) {
    let (s, d) = sampler.tick()
    let before = threadCPUNanos()
    var detail = d
    for event in detector.observe(s, detail, intervalNanos: interval, departed: departed.look(detail)) { events.append(event) }
    detail.timeToLimitSeconds = detector.timeToLimitSeconds
    let detect = threadCPUNanos() &- before
    history.append(s, detail: detail)
    return (detail.processes.count, detect)
}
// Warm up: attach, open the held files, learn the tree.
for _ in 0..<50 { _ = tick() }
let start = cpuMicros()
var processes = 0
var detectNanos: UInt64 = 0
var next = timespec()
clock_gettime(CLOCK_MONOTONIC, &next)
for _ in 0..<ticks {
    if sleepMicros > 0 {
        next.tv_nsec += sleepMicros * 1000
        while next.tv_nsec >= 1_000_000_000 { next.tv_nsec -= 1_000_000_000; next.tv_sec += 1 }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nil)
    }
    let t = tick()
    processes = t.processes
    detectNanos &+= t.detectNanos
}
let perTick = (cpuMicros() - start) / Double(ticks)
print("ticks=\(ticks) cpu_us_per_tick=\(perTick) procs=\(processes) detect_us_per_tick=\(Double(detectNanos) / 1000 / Double(ticks))")
