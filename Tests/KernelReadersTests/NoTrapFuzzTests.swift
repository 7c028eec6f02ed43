import Testing
import TestSupport
@testable import KernelReaders

/// Every parser takes arbitrary bytes (mutated real files, truncations, random noise) without
/// trapping; when it fails, the error names the file.
@Suite struct NoTrapFuzzTests {
    static let seeds: [String] = [
        "MemTotal:       24568888 kB\nMemFree:        1000 kB\nMemAvailable:   2000 kB\n",
        "cache 1\nrss 2\ntotal_inactive_file 3\nhierarchical_memory_limit 9223372036854771712\n",
        "some avg10=0.50 avg60=0.10 avg300=0.00 total=100\nfull avg10=0.20 avg60=0.00 avg300=0.00 total=10\n",
        "12 13 4000\n",
        "4:memory:/a/b\n2:cpu,cpuacct:/a\n0::/x\n",
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
        "610 609 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n614 610 0:32 /.. /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n700 610 0:80 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n701 700 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
        "9223372036854771712\n",
        "50000 100000\n",
        "42 (py) thon) S 7 42 42 0 -1 4194560 100 0 0 0 1234 567 -89 10 20 0 3 0 998877 1000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94000 94100 94200 140730000000000 140730000000123 140730000000200 140730000000300 0\n",
    ]

    static func mutations(of seed: [UInt8], _ rng: inout some RandomNumberGenerator) -> [[UInt8]] {
        var out: [[UInt8]] = [[], Array(seed.prefix(seed.count / 2))]
        for _ in 0..<300 {
            var b = seed
            for _ in 0..<Int.random(in: 1...8, using: &rng) where !b.isEmpty {
                let i = Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: b.remove(at: i)
                case 2: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                default: b.insert(contentsOf: Array(repeating: UInt8(ascii: "9"), count: 30), at: i)
                }
            }
            out.append(b)
        }
        out.append((0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) })
        return out
    }

    @Test func parsersNeverTrap() {
        var rng = SeededRandom(for: "NoTrapFuzzTests.parsersNeverTrap")
        for seed in Self.seeds {
            for input in Self.mutations(of: Array(seed.utf8), &rng) {
                input.withUnsafeBufferPointer { b in
                    _ = try? HostMemory.parse(b, path: "/proc/meminfo")
                    _ = try? Parse.values(of: ["total_inactive_file", "hierarchical_memory_limit", "x"], in: b, path: "memory.stat")
                    _ = try? PressureFile.avg10(b, line: "some", path: "memory.pressure")
                    _ = try? PressureFile.total(b, line: "full", path: "memory.pressure")
                    _ = try? ProcChildren.parse(b, path: "children")
                    _ = try? Parse.singleUnsigned(b, path: "memory.current")
                    _ = try? Parse.singleSigned(b, path: "cpu.cfs_quota_us")
                    _ = try? ProcStat.parse(b, path: "stat")
                    _ = try? ProcStat.parse(b, path: "stat", throughArgs: true)
                }
                _ = try? ProcCgroupEntry.parse(input, path: "/proc/1/cgroup")
                _ = try? CgroupMounts.parse(input, path: "/proc/self/mountinfo")
                _ = ProcCmdline.parse(input)
                _ = Printable.escape(input)
                _ = Parse.decimal(input)
            }
        }
    }

    @Test func systemErrorsAreNamedBySwiftSystem() {
        let e = KernelFileError(path: "/x/memory.current", kind: .read(errno: 19))
        #expect(e.description == "/x/memory.current: cannot read: No such device (errno 19)")
        #expect(e.errno?.rawValue == 19)
        #expect(KernelFileError(path: "/x", kind: .malformed("bad")).errno == nil)
    }

    @Test func errorsNameTheFile() {
        let garbage = Array("\u{1}garbage line\n".utf8)
        garbage.withUnsafeBufferPointer { b in
            #expect { try Parse.values(of: ["\u{1}garbage"], in: b, path: "/x/memory.stat") } throws: { "\($0)".contains("/x/memory.stat") && "\($0)".contains("garbage") }
            #expect { try Parse.singleUnsigned(b, path: "/x/memory.current") } throws: { "\($0)".contains("/x/memory.current") }
            #expect { try HostMemory.parse(b, path: "/proc/meminfo") } throws: { "\($0)".contains("/proc/meminfo") }
        }
    }
}
