// The history store, in-process, on a full ring of 1,000,000 samples (argument 1 changes it) kept
// in a history file on tmpfs ($WINDOW_BENCH_DIR, default /dev/shm), as the daemon keeps it.
// Lines for Benchmarks/bench.sh (other lines are ignored):
//   samples=N ns_per_query=X                 suffix windows of the newest N samples
//   range samples=N at=P ns_per_query=X one_sample_ns=Y ratio=R
//                                            a wall-clock range holding N samples at position P
//                                            (oldest, middle, newest, unaligned); Y: the range of
//                                            its first sample alone, measured in the same rounds;
//                                            R = X ÷ Y (the bound: 3)
//   bytes_per_sample=B file=F private=P metrics=M target=T   (history file + private memory growth) ÷ capacity
//   append_ns=X legacy_append_ns=Y ratio=R   one append on a full ring, against the ring this
//                                            store replaced (LegacyRing.swift), same run
//   adopt_ms=X samples=N                     a restart: opening and adopting the full file
// Each figure is the best of several interleaved rounds: the machine is shared.
import Foundation
import History
import SampleModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

func nanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Resident anonymous memory (the heap; not the file's pages), bytes.
func rssAnon() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") } ?? ""
    return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
}

let capacity = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
let directory = ProcessInfo.processInfo.environment["WINDOW_BENCH_DIR"] ?? "/dev/shm"
let path = "\(directory)/drum-monitor-window-bench-\(getpid()).history"
let interval: UInt64 = 1_000_000_000
let wallBase: Int64 = 1_700_000_000_000_000_000
let bootID = BootID(text: (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "") ?? .unknown
let detail = SampleDetail(target: .init(found: true, rootPid: 1, mode: nil, generation: 1, processCount: 9))
defer { unlink(path) }

var rng = SystemRandomNumberGenerator()
/// Values like a DRUM server's: page-multiple byte counts up to 16 GiB, a fixed limit, fractions.
@MainActor func sample(_ seq: Int) -> Sample {
    var v = MetricValues()
    for m in Metric.allCases {
        switch m {
        case .memoryLimit: v[m] = 17_179_869_184
        case .memoryOOMKills, .memoryLimitHits, .processCount: v[m] = Double(UInt32.random(in: 0...20, using: &rng))
        default: v[m] = m.isInteger ? Double(UInt64.random(in: 0...(1 << 22), using: &rng) * 4096)
            : Double(UInt32.random(in: 0...8_000_000, using: &rng)) / 1e6
        }
    }
    return Sample(sequence: UInt64(seq), wallNanos: wallBase + Int64(seq) * Int64(interval), monoNanos: UInt64(seq) * interval,
                  generation: 1, values: v)
}

// Values made before measuring memory: only the history's growth is counted.
let presampled = (0..<4096).map { sample($0) }
let anonBefore = rssAnon()
var (history, opening) = History.open(capacity: capacity, intervalNanos: interval,
                                      options: HistoryFileOptions(path: path, bootID: bootID))
guard case .file = opening.persistence else {
    FileHandle.standardError.write("window bench: no history file at \(path): \(opening.notes)\n".data(using: .utf8)!)
    exit(1)
}
// Fill 1.5 times, so the ring has wrapped and windows straddle its physical end.
let total = capacity + capacity / 2
@MainActor func filled(_ seq: Int) -> Sample {
    var s = presampled[seq & 4095]
    s.sequence = UInt64(seq)
    s.wallNanos = wallBase + Int64(seq) * Int64(interval)
    s.monoNanos = UInt64(seq) * interval
    return s
}
for seq in 1...total { history.append(filled(seq), detail: detail) }
let fileSize = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
let anonGrowth = rssAnon() - anonBefore
// Issue 15: 160 bytes for the first 16 metrics, at most 8 more for each metric added since.
print(String(format: "bytes_per_sample=%.1f file=%d private=%d metrics=%d target=%d", Double(fileSize + anonGrowth) / Double(capacity),
             fileSize, anonGrowth, Metric.count, 160 + 8 * (Metric.count - 16)))

// Windows. Held: sequences total − capacity + 1 … total.
let oldestSeq = total - capacity + 1
@MainActor func wall(_ seq: Int) -> Int64 { wallBase + Int64(seq) * Int64(interval) }
/// The range holding exactly samples first…last: (t(first) − interval, t(last)] overlaps them only.
@MainActor func range(_ first: Int, _ count: Int) -> WindowSpec {
    .range(fromWallNanos: wall(first) - Int64(interval) / 2, toWallNanos: wall(first + count - 1) - Int64(interval) / 2)
}
var sink = 0.0
/// ns per query of `spec`, best of `rounds`; `against` is measured in the same rounds, just
/// before each of them (the baseline of a ratio, under the same load).
@MainActor func best(_ spec: WindowSpec, expect count: Int, against baseline: WindowSpec? = nil, rounds: Int = 9) -> (UInt64, UInt64) {
    let check = history.window(spec)
    precondition(check.sampleCount == count, "window \(spec) held \(check.sampleCount) samples, not \(count)")
    var best = UInt64.max, bestBaseline = UInt64.max
    let iterations = 1000
    for _ in 0..<rounds {
        if let baseline {
            let start = nanos()
            for _ in 0..<iterations { sink += history.window(baseline)[.memoryCurrent]?.max ?? 0 }
            bestBaseline = min(bestBaseline, (nanos() - start) / UInt64(iterations))
        }
        let start = nanos()
        for _ in 0..<iterations { sink += history.window(spec)[.memoryCurrent]?.max ?? 0 }
        best = min(best, (nanos() - start) / UInt64(iterations))
    }
    return (best, bestBaseline)
}

for length in [1, 1_000, 100_000, capacity] where length <= capacity {
    print("samples=\(length) ns_per_query=\(best(.samples(length), expect: length).0)")
}
// Positions: from the oldest sample, centred, up to the newest, and "unaligned": starting one
// sample into a block of 2048 and ending just before one (every level of the tables in use).
// Each row's ratio is against the one-sample range at its first sample, measured in the same rounds.
let lengths = [1, 8, 100, 1_000, 10_000, 100_000, capacity / 2, capacity].filter { $0 <= capacity }
var worst = 0.0
for position in ["oldest", "middle", "newest", "unaligned"] {
    @MainActor func first(_ length: Int) -> Int {
        switch position {
        case "oldest": return oldestSeq
        case "middle": return oldestSeq + (capacity - length) / 2
        case "newest": return total - length + 1
        default:
            // Logical index = sequence − 1 + slots; supergroups of 2048 start at multiples of it.
            let slots = capacity + 1
            var f = oldestSeq + 1
            while (f - 1 + slots) % 2048 != 1 { f += 1 }
            return f + length <= total ? f : total - length + 1
        }
    }
    for length in lengths {
        let (cost, one) = best(range(first(length), length), expect: length, against: range(first(length), 1))
        let ratio = Double(cost) / Double(one)
        worst = max(worst, ratio)
        print(String(format: "range samples=%d at=%@ ns_per_query=%d one_sample_ns=%d ratio=%.2f", length, position, Int(cost), Int(one), ratio))
    }
}
print(String(format: "range_worst_ratio=%.2f", worst))

// Append: the new store on its full ring against the old ring, interleaved rounds.
do {
    let legacy = Mutex<(ring: LegacyRing, latest: (Sample, SampleDetail)?)>((LegacyRing(capacity: capacity, intervalNanos: interval), nil))
    for seq in 1...total { legacy.withLock { $0.ring.append(filled(seq)); $0.latest = (filled(seq), detail) } }
    var next = total + 1
    var bestNew = UInt64.max, bestOld = UInt64.max
    for _ in 0..<5 {
        let n = 100_000
        var start = nanos()
        for k in 0..<n { history.append(filled(next + k), detail: detail) }
        bestNew = min(bestNew, (nanos() - start) / UInt64(n))
        start = nanos()
        for k in 0..<n { let s = filled(next + k); legacy.withLock { $0.ring.append(s); $0.latest = (s, detail) } }
        bestOld = min(bestOld, (nanos() - start) / UInt64(n))
        next += n
    }
    print(String(format: "append_ns=%d legacy_append_ns=%d ratio=%.2f", Int(bestNew), Int(bestOld), Double(bestNew) / Double(bestOld)))
}

// A restart: the file is closed, then opened and adopted.
history = History(capacity: 1, intervalNanos: interval)
var bestAdopt = UInt64.max
for _ in 0..<3 {
    let start = nanos()
    let (adopted, opened) = History.open(capacity: capacity, intervalNanos: interval, options: HistoryFileOptions(path: path, bootID: bootID))
    bestAdopt = min(bestAdopt, nanos() - start)
    precondition(opened.adopted?.count == capacity && adopted.count == capacity, "adopted \(opened.adopted?.count ?? 0): \(opened.notes)")
}
print(String(format: "adopt_ms=%.1f samples=%d", Double(bestAdopt) / 1e6, capacity))
if sink < 0 { print(sink) }
