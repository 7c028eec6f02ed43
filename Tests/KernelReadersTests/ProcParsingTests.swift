import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import KernelReaders

/// Parses through the same entry point the sampler uses (a held file on disk).
private func parseStat(_ bytes: [UInt8]) throws(KernelFileError) -> ProcStat {
    try bytes.withUnsafeBufferPointer { b throws(KernelFileError) in try ProcStat.parse(b, path: "/proc/42/stat") }
}

private func statLine(comm: String, pid: Int = 42) -> [UInt8] {
    Array("\(pid) (".utf8) + Array(comm.utf8)
        + Array(") S 7 42 42 0 -1 4194560 100 0 0 0 1234 567 89 10 20 0 3 0 998877 1000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n".utf8)
}

@Suite struct ProcStatTests {
    @Test func plainLine() throws {
        let s = try parseStat(statLine(comm: "python"))
        #expect(s.pid == 42)
        #expect(s.comm == "python")
        #expect(s.stateCharacter == "S")
        #expect(s.ppid == 7)
        #expect(s.utimeTicks == 1234)
        #expect(s.stimeTicks == 567)
        #expect(s.cutimeTicks == 89)
        #expect(s.cstimeTicks == 10)
        #expect(s.numThreads == 3)
        #expect(s.startTimeTicks == 998877)
        #expect(s.rssPages == 2500)
    }

    @Test func argvAddressesOnlyWhenAskedAndOnlyIfPresent() throws {
        // A full 6.x line: fields 48-49 are arg_start and arg_end.
        let fields = (4...52).map { $0 == 48 ? "140730000000000" : $0 == 49 ? "140730000000123" : "\($0)" }
        let line = Array("42 (x) S \(fields.joined(separator: " "))\n".utf8)
        let full = try line.withUnsafeBufferPointer { b throws(KernelFileError) in
            try ProcStat.parse(b, path: "/proc/42/stat", throughArgs: true)
        }
        #expect(full.argStart == 140730000000000 && full.argEnd == 140730000000123)
        #expect(full.rssPages == 24 && full.startTimeTicks == 22)
        #expect(try parseStat(line).argStart == 0, "not parsed unless asked")
        // Kernels before 3.5 end the line earlier: not an error, the addresses stay 0.
        let short = try statLine(comm: "w").withUnsafeBufferPointer { b throws(KernelFileError) in
            try ProcStat.parse(b, path: "/proc/42/stat", throughArgs: true)
        }
        #expect(short.argStart == 0 && short.rssPages == 2500)
    }

    @Test func withoutCommTheNumbersAreTheSame() throws {
        let line = statLine(comm: "x) S 1 (y")
        let with = try parseStat(line)
        let without = try line.withUnsafeBufferPointer { b throws(KernelFileError) in
            try ProcStat.parse(b, path: "/proc/42/stat", withComm: false)
        }
        #expect(without.comm == "")
        var expected = with
        expected.comm = ""
        #expect(without == expected)
    }

    @Test func argvAddressesOfARealProcess() throws {
        let held = try HeldProcess(pid: getpid(), paths: KernelPaths())
        let s = try held.stat(throughArgs: true)
        // Hidden (0) only without ptrace access, which a process always has to itself.
        #expect(s.argStart > 0 && s.argEnd > s.argStart)
    }

    @Test(arguments: ["a b", "x) S 1 (y", ") ) )", "new\nline", "((", "", "drum) R 99 99"])
    func hostileComm(_ comm: String) throws {
        let s = try parseStat(statLine(comm: comm))
        #expect(s.ppid == 7, "comm \(comm.debugDescription) must not shift the fields")
        #expect(s.startTimeTicks == 998877)
        #expect(s.rssPages == 2500)
    }

    @Test func lineWithoutNewline() throws {
        var line = statLine(comm: "python")
        line.removeLast()
        let s = try parseStat(line)
        #expect(s.rssPages == 2500 && s.startTimeTicks == 998877)
    }

    /// `key value` lines: the first line of each wanted key, nothing else parsed.
    @Test func valuesOfKeys() throws {
        let text = Array("max_usage 7\nmax 5\ncache x\nmax 6\nrss\t  42 \n".utf8)
        let found = try text.withUnsafeBufferPointer { b throws(KernelFileError) in
            try Parse.values(of: ["max", "rss", "swap", "max_usage"], in: b, path: "/x/memory.stat")
        }
        #expect(found == [5, 42, nil, 7])
        let bad = Array("cache 1\nrss 12x\n".utf8)
        #expect {
            _ = try bad.withUnsafeBufferPointer { b throws(KernelFileError) in try Parse.values(of: ["rss"], in: b, path: "/x/memory.stat") }
        } throws: { "\($0)".contains("/x/memory.stat") && "\($0)".contains("rss 12x") }
    }

    @Test func commWithInvalidUTF8IsKeptVisible() throws {
        let line = Array("42 (".utf8) + [0xFF, 0x41] + Array(") S 7 42 42 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 5 6 7 0\n".utf8)
        let s = try parseStat(line)
        #expect(s.comm == "\\xffA")
    }

    @Test(arguments: [
        ("", "no '(comm)'"),
        ("42 (x) S 7", "fields"),
        ("garbage", "no '(comm)'"),
        ("42 (x) S -7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", "ppid"),
        ("42 (x) S 7 1 2 3 4 5 6 7 8 9 1x 11 12 13 14 15 16 17 18 19 20 21 22", "utime"),
        ("42 (x) SS 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", "state"),
        ("42 (x) S 7 1 2 3 4 5 6 7 8 9 99999999999999999999999 11 12 13 14 15 16 17 18 19 20 21 22", "utime"),
        ("x42 (x) S 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", "pid"),
    ])
    func malformedLinesNameFileAndContent(_ line: String, _ what: String) {
        #expect {
            _ = try parseStat(Array(line.utf8))
        } throws: { error in
            let text = "\(error)"
            return text.contains("/proc/42/stat") && text.contains(what)
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var bytes = statLine(comm: "w")
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))) }
            _ = try? parseStat(bytes)
        }
    }
}

@Suite struct CmdlineTests {
    @Test func nulSeparatedWithTrailingNul() {
        #expect(ProcCmdline.parse(Array("python\0/venv/bin/drum\0server\0".utf8)) == ["python", "/venv/bin/drum", "server"])
    }

    @Test func nonUTF8BytesStayVisible() {
        let args = ProcCmdline.parse([0x61, 0xC3, 0x28, 0x00, 0x62, 0x0A, 0x00])
        #expect(args == ["a\\xc3(", "b\\n"])
    }

    @Test func emptyArgumentsArePreserved() {
        #expect(ProcCmdline.parse(Array("a\0\0b\0".utf8)) == ["a", "", "b"])
    }

    @Test func emptyFile() { #expect(ProcCmdline.parse([]) == []) }
}

@Suite struct SmallFormatTests {
    @Test func meminfo() throws {
        let text = "MemTotal:       24568888 kB\nMemFree:        1000 kB\nMemAvailable:   2000 kB\nBuffers: 1 kB\n"
        let m = try Array(text.utf8).withUnsafeBufferPointer { b throws(KernelFileError) in try HostMemory.parse(b, path: "/proc/meminfo") }
        #expect(m.totalBytes == 24568888 * 1024)
        #expect(m.freeBytes == 1000 * 1024)
        #expect(m.availableBytes == 2000 * 1024)
    }

    @Test func meminfoWithoutTotalIsAnError() {
        #expect(throws: KernelFileError.self) {
            _ = try Array("MemFree: 1 kB\n".utf8).withUnsafeBufferPointer { b throws(KernelFileError) in try HostMemory.parse(b, path: "/proc/meminfo") }
        }
    }

    @Test func pressure() throws {
        let text = "some avg10=1.50 avg60=0.00 avg300=0.00 total=12\nfull avg10=0.25 avg60=0.00 avg300=0.00 total=3\n"
        let bytes = Array(text.utf8)
        let some = try bytes.withUnsafeBufferPointer { b throws(KernelFileError) in try PressureFile.avg10(b, line: "some", path: "p") }
        let full = try bytes.withUnsafeBufferPointer { b throws(KernelFileError) in try PressureFile.avg10(b, line: "full", path: "p") }
        #expect(some == 1.5)
        #expect(full == 0.25)
        // Issue 17: the totals (µs) are counters for rates at any scrape interval.
        let someTotal = try bytes.withUnsafeBufferPointer { b throws(KernelFileError) in try PressureFile.total(b, line: "some", path: "p") }
        let fullTotal = try bytes.withUnsafeBufferPointer { b throws(KernelFileError) in try PressureFile.total(b, line: "full", path: "p") }
        #expect(someTotal == 12 && fullTotal == 3)
        #expect(throws: KernelFileError.self) {
            _ = try Array("some avg10=0.00 total=1.5\n".utf8).withUnsafeBufferPointer { b throws(KernelFileError) in
                try PressureFile.total(b, line: "some", path: "p")
            }
        }
    }

    @Test func children() throws {
        let pids = try Array("12 13 4000\n".utf8).withUnsafeBufferPointer { b throws(KernelFileError) in try ProcChildren.parse(b, path: "c") }
        #expect(pids == [12, 13, 4000])
        #expect(throws: KernelFileError.self) {
            _ = try Array("12 x\n".utf8).withUnsafeBufferPointer { b throws(KernelFileError) in try ProcChildren.parse(b, path: "c") }
        }
    }

    @Test func procCgroupLines() throws {
        let entries = try ProcCgroupEntry.parse(Array("4:memory:/a/b\n2:cpu,cpuacct:/a\n0::/x:y\n".utf8), path: "/proc/1/cgroup")
        #expect(entries.count == 3)
        #expect(entries[0].controllers == ["memory"])
        #expect(entries[1].controllers == ["cpu", "cpuacct"])
        #expect(entries[2].path == "/x:y")
        #expect(throws: KernelFileError.self) { _ = try ProcCgroupEntry.parse(Array("nonsense\n".utf8), path: "p") }
        #expect(throws: KernelFileError.self) { _ = try ProcCgroupEntry.parse(Array("1:memory:relative\n".utf8), path: "p") }
    }

    @Test func mountinfoOctalEscapes() throws {
        let text = "41 31 0:38 / /sys/fs/cgroup/with\\040space rw - cgroup2 cgroup2 rw\n"
        let mounts = try CgroupMounts.parse(Array(text.utf8), path: "mi")
        #expect(mounts.first?.mountPoint == "/sys/fs/cgroup/with space")
    }

    @Test func printableEscapesControlAndInvalid() {
        #expect(Printable.escape(Array("ok é\t".utf8)) == "ok é\\t")
        #expect(Printable.escape([0xE2, 0x82]) == "\\xe2\\x82")
        #expect(Printable.escape([0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80") // a surrogate is not UTF-8
    }
}

/// readdir's entries are read in place (`DirectoryEntry`): a dirent is only as long as its name.
@Suite struct DirectoryEntryTests {
    /// An entry whose name ends its mapping, followed by an unmapped page, as the last entry of
    /// glibc's readdir buffer can be. Copying `d_name` (256 bytes), as the /proc scans did, reads
    /// into the next page: the daemon segfaulted so on a /proc of 1,500 processes (make bench).
    @Test func anEntryAtTheEndOfItsMappingIsReadInPlace() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let mapping = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(mapping != MAP_FAILED)
        defer { munmap(mapping, 2 * page) }
        try #require(mprotect(mapping + page, page, PROT_NONE) == 0)
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = Array("4242".utf8) + [0]
        let recordLength = (nameOffset + name.count + 7) & ~7
        let record = mapping + page - recordLength
        memset(record, 0, recordLength)
        name.withUnsafeBytes { (record + nameOffset).copyMemory(from: $0.baseAddress!, byteCount: name.count) }
        let entry = UnsafePointer(record.bindMemory(to: dirent.self, capacity: 1))
        #expect(Array(DirectoryEntry.name(entry)) == Array("4242".utf8))
        #expect(DirectoryEntry.pid(entry) == 4242)
    }

    @Test(arguments: [("1", Int32(1)), ("2147483647", Int32.max), ("2147483648", nil), ("99999999999", nil),
                      ("0", nil), ("01", nil), (".", nil), ("..", nil), ("12a", nil), ("self", nil)])
    func pidNames(_ text: String, _ pid: Int32?) {
        var entry = dirent()
        withUnsafeMutableBytes(of: &entry.d_name) { raw in
            for (i, c) in text.utf8.enumerated() { raw[i] = c }
            raw[text.utf8.count] = 0
        }
        #expect(withUnsafePointer(to: &entry) { DirectoryEntry.pid($0) } == pid)
    }

    @Test func procHasThisProcess() throws {
        var pids: [Int32] = []
        try ProcFiles(paths: KernelPaths()).forEachProcess { pid, _ in pids.append(pid) }
        #expect(pids.contains(getpid()))
        #expect(try ProcFiles(paths: KernelPaths()).threads(getpid()).contains(getpid()))
    }
}
