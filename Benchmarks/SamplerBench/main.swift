// The sampler's CPU per tick, back to back (no timer, warm caches), on a live process tree:
// the same conditions as Benchmarks/floor.c without --interval-us, so the two compare directly.
// Usage: drum-monitor-sampler-bench PID [TICKS]. Prints `ticks=N cpu_us_per_tick=X procs=P`.
import History
import KernelReaders
import Sampler

#if canImport(Glibc)
import Glibc
#endif

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
let sampler: Sampler
do {
    sampler = try Sampler(configuration: SamplerConfiguration(target: .pid(pid)))
} catch {
    print("cannot sample: \(error)")
    exit(1)
}
let history = History(capacity: 3600, intervalNanos: 1_000_000_000)
// Warm up: attach, open the held files, learn the tree.
for _ in 0..<50 { let (s, d) = sampler.tick(); history.append(s, detail: d) }
let start = cpuMicros()
var processes = 0
for _ in 0..<ticks {
    let (s, d) = sampler.tick()
    history.append(s, detail: d)
    processes = d.processes.count
}
let perTick = (cpuMicros() - start) / Double(ticks)
print("ticks=\(ticks) cpu_us_per_tick=\(perTick) procs=\(processes)")
