import Testing
#if canImport(Glibc)
import Glibc
#endif
import SampleModel

/// Events as fixed-size records: every field survives the slot, texts and process lists are cut
/// as documented, and a slot that is torn, foreign or garbage is refused without trapping.
@Suite struct EventRecordTests {
    static func process(_ pid: Int32, role: ProcessRole = .worker, cmdline: String = "python -m gunicorn app:app") -> EventProcess {
        EventProcess(pid: pid, ppid: 100, role: role, rssBytes: UInt64(pid) << 20, lifetimeNanos: 12_000_000_000,
                     growthBytesPerHour: 1.5e8, cmdline: cmdline)
    }

    /// Every field set, so the round trip checks each one.
    static func full(_ kind: EventKind) -> EventRecord {
        var r = EventRecord(kind: kind, wallNanos: 1_709_251_198_123_456_789, monoNanos: 987_654_321_000, sampleSequence: 4242, generation: 7)
        r.sequence = 17
        r.memoryCurrentBytes = 2_000_000_000
        r.memoryWorkingSetBytes = 1_900_000_000
        r.memoryLimitBytes = 17_179_869_184
        r.limitSource = "/kubepods/burstable/pod1"
        r.previousLimitBytes = 1 << 31
        r.previousLimitSource = "host"
        r.count = 3
        r.thresholdFraction = 0.9
        r.durationNanos = 5_200_000_000
        r.slopeBytesPerHour = 123_456_789.5
        r.timeToLimitSeconds = 2700.25
        r.windowNanos = 600_000_000_000
        r.pid = 1200
        r.previousPid = 1100
        r.mode = .gunicorn
        r.previousMode = .werkzeug
        r.reason = "DRUM process 1100 exited; looking for it again"
        r.setProcesses([process(1234), process(1240, role: .master), process(1250, role: .child), process(1260, role: .helper)])
        return r
    }

    static func decode(_ bytes: [UInt8]) throws -> EventRecord {
        try bytes.withUnsafeBytes { b in try EventRecordLayout.decode(b) }
    }

    static func roundTrip(_ r: EventRecord) throws -> EventRecord {
        var slot = [UInt8](repeating: 0xAA, count: EventRecordLayout.size)
        slot.withUnsafeMutableBytes { EventRecordLayout.encode(r, into: $0) }
        return try decode(slot)
    }

    @Test(arguments: EventKind.allCases)
    func everyFieldSurvivesTheSlot(_ kind: EventKind) throws {
        let r = Self.full(kind)
        #expect(try Self.roundTrip(r) == r)
    }

    @Test func absentFieldsStayAbsent() throws {
        let r = EventRecord(kind: .processStart, wallNanos: -5, monoNanos: 1, sampleSequence: 2, generation: 0)
        let back = try Self.roundTrip(r)
        #expect(back == r)
        #expect(back.memoryLimitBytes == nil && back.pid == nil && back.reason == nil && back.processes.isEmpty)
    }

    @Test func kindCodesAndNamesAreFixed() {
        // Stored codes and API names: changing one breaks stored histories and clients.
        #expect(EventKind.allCases.map(\.rawValue) == Array(1...14))
        #expect(EventKind.allCases.map(\.name) == [
            "oom_kill", "process_exit", "process_start", "worker_replaced", "target_changed", "target_lost", "target_found",
            "limit_hit", "limit_changed", "memory_high", "memory_high_cleared", "sampler_stall", "memory_growth", "daemon_restarted",
        ])
        #expect(Set(EventKind.allCases.map(\.messageID)).count == EventKind.allCases.count)
        #expect(EventKind.allCases.allSatisfy { $0.messageID.count == 32 && $0.messageID.allSatisfy(\.isHexDigit) })
        #expect(EventKind(name: "oom_kill") == .oomKill)
        #expect(EventKind(name: "oom") == nil)
    }

    @Test func commandLinesAreCutAt256BytesOnACharacterBoundary() throws {
        // 255 ASCII bytes then a 2-byte character: it would straddle byte 256, so it goes.
        let long = String(repeating: "a", count: 255) + "é" + String(repeating: "b", count: 100)
        let p = EventProcess(pid: 1, ppid: 0, role: .worker, rssBytes: nil, cmdline: long)
        #expect(p.cmdline == String(repeating: "a", count: 255))
        #expect(p.cmdlineTruncated)
        let exact = String(repeating: "x", count: 256)
        let q = EventProcess(pid: 1, ppid: 0, role: .worker, rssBytes: nil, cmdline: exact)
        #expect(q.cmdline == exact && !q.cmdlineTruncated)

        var r = EventRecord(kind: .targetLost, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 1)
        r.reason = String(repeating: "€", count: 200) // 600 bytes
        let back = try Self.roundTrip(r)
        #expect(back.reason == String(repeating: "€", count: 85)) // 255 bytes: 85 whole characters
    }

    @Test func atMostSixteenProcessesAndTheRestCounted() throws {
        var r = EventRecord(kind: .oomKill, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 1)
        r.setProcesses((1...40).map { Self.process(Int32($0)) })
        #expect(r.processes.count == 16)
        #expect(r.moreProcesses == 24)
        #expect(r.processes.last?.pid == 16)
        #expect(try Self.roundTrip(r) == r)
    }

    /// A gunicorn master and its workers share one command line: sixteen processes of 256-byte
    /// command lines take 256 bytes of the text area, and every one comes back whole.
    @Test func sharedCommandLinesAreStoredOnce() throws {
        let cmdline = String(repeating: "gunicorn ", count: 40)   // 360 bytes: cut at 256
        var r = EventRecord(kind: .targetFound, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 1)
        r.reason = "found"
        r.setProcesses((1...16).map { Self.process(Int32($0), cmdline: $0 == 3 ? "gunicorn gunicorn" : cmdline) })
        #expect(try Self.roundTrip(r) == r)
        #expect(r.processes.allSatisfy { $0.cmdline.utf8.count == ($0.pid == 3 ? 17 : 256) && $0.cmdlineTruncated == ($0.pid != 3) })
        // The reason, one command line, and the short one is the start of it.
        #expect(EventRecordLayout.textBytes(r) == 5 + 256)
    }

    /// Distinct command lines fill the text area in the detector's order; the one that no longer
    /// fits is cut (on a character boundary) and flagged, those after it are empty and flagged,
    /// and every other field is kept.
    @Test func distinctCommandLinesBeyondTheTextAreaAreCutAndFlagged() throws {
        var r = Self.full(.oomKill)
        let lines = (0..<16).map { i in "/opt/venv/bin/python -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=\(i), pipe_handle=\(i + 20)) é" + String(repeating: "x", count: 100) }
        r.setProcesses((0..<16).map { Self.process(Int32(100 + $0), cmdline: lines[$0]) })
        let back = try Self.roundTrip(r)
        let fields = r.limitSource!.utf8.count + r.previousLimitSource!.utf8.count + r.reason!.utf8.count
        var room = EventRecordLayout.textAreaSize - fields
        for (p, original) in zip(back.processes, r.processes) {
            let length = original.cmdline.utf8.count
            if length <= room {
                #expect(p.cmdline == original.cmdline && !p.cmdlineTruncated, "\(p.pid)")
                room -= length
            } else {
                #expect(original.cmdline.hasPrefix(p.cmdline) && p.cmdline.utf8.count <= room && p.cmdlineTruncated, "\(p.pid): \(p.cmdline.utf8.count) of \(room)")
                room -= p.cmdline.utf8.count
            }
            #expect(p.pid == original.pid && p.rssBytes == original.rssBytes && p.role == original.role)
        }
        #expect(back.processes.filter { $0.cmdlineTruncated }.count >= 1)
        #expect(back.processes.first?.cmdline == lines[0], "the first-ranked keeps its command line")
        #expect(back.limitSource == r.limitSource && back.reason == r.reason && back.moreProcesses == r.moreProcesses)
        var mostly = r
        mostly.setProcesses(r.processes.prefix(5))
        #expect(try Self.roundTrip(mostly) == mostly, "five distinct command lines fit whole")
    }

    /// What real events take (measured for the layout's size): the figures behind the 2,048 bytes.
    @Test func realEventsFitTheirRecord() {
        let drum = "/usr/local/bin/python3.11 /opt/venv/bin/drum server --code-dir /opt/code --address 0.0.0.0:8080 --target-type regression --logging-level info"
        let gunicorn = "/usr/local/bin/python3.11 -m gunicorn -c /opt/venv/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py app:app"
        var changed = EventRecord(kind: .targetChanged, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 2)
        changed.setProcesses([Self.process(10, role: .master, cmdline: drum), Self.process(10, role: .master, cmdline: gunicorn)])
        var found = EventRecord(kind: .targetFound, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 2)
        found.setProcesses([Self.process(10, role: .master, cmdline: gunicorn)] + (11...25).map { Self.process($0, cmdline: gunicorn) })
        var oom = EventRecord(kind: .oomKill, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 2)
        oom.limitSource = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice"
        oom.setProcesses([Self.process(12, cmdline: gunicorn)])
        for r in [changed, found, oom] {
            #expect(EventRecordLayout.textBytes(r) <= 400, "\(r.kind): \(EventRecordLayout.textBytes(r)) bytes of text")
            #expect((try? Self.roundTrip(r)) == r)
        }
    }

    @Test func emptyTornForeignAndOtherVersionSlotsAreRefused() throws {
        let size = EventRecordLayout.size
        let zeros = [UInt8](repeating: 0, count: size)
        #expect(throws: EventRecordLayout.DecodeError.empty) { try Self.decode(zeros) }

        var slot = [UInt8](repeating: 0, count: size)
        slot.withUnsafeMutableBytes { EventRecordLayout.encode(Self.full(.oomKill), into: $0) }
        func decode(_ bytes: [UInt8]) throws -> EventRecord { try Self.decode(bytes) }
        // A slot written half way: the first half new, the rest still zero.
        var torn = slot
        for i in (size / 2)..<size { torn[i] = 0 }
        #expect(throws: EventRecordLayout.DecodeError.torn) { try decode(torn) }
        var flipped = slot
        flipped[1000] ^= 1
        #expect(throws: EventRecordLayout.DecodeError.torn) { try decode(flipped) }
        var foreign = slot
        foreign[0] = UInt8(ascii: "X")
        #expect(throws: EventRecordLayout.DecodeError.notAnEvent) { try decode(foreign) }
        var newer = slot
        newer[4] = 3
        #expect(throws: EventRecordLayout.DecodeError.otherVersion(3)) { try decode(newer) }
        #expect(throws: EventRecordLayout.DecodeError.self) { try decode(Array(slot.prefix(100))) }
    }

    /// A slot with a valid checksum but fields no encoder writes (a hostile file can compute the
    /// checksum): each is refused with what is wrong — counts, codes, and text references that
    /// point outside the texts in use (a length, the bytes in use).
    @Test(arguments: [(7, 17 as UInt8, "processes"), (6, 99, "kind"), (60, 9, "mode"), (146, 0xFF, "points outside"),
                      (147, 0x02, "text of"), (62, 0x00, "points outside"), (63, 0x10, "bytes of texts")] as [(Int, UInt8, String)])
    func checksummedButInvalidFieldsAreRefused(_ offset: Int, _ value: UInt8, _ named: String) {
        var slot = [UInt8](repeating: 0, count: EventRecordLayout.size)
        slot.withUnsafeMutableBytes { EventRecordLayout.encode(Self.full(.targetChanged), into: $0) }
        slot[offset] = value
        let sumAt = EventRecordLayout.size - 8
        let sum = slot.withUnsafeBytes { Self.fnv($0, count: sumAt) }
        withUnsafeBytes(of: sum.littleEndian) { for (i, b) in $0.enumerated() { slot[sumAt + i] = b } }
        do {
            _ = try Self.decode(slot)
            Issue.record("decoded an invalid \(named)")
        } catch {
            #expect("\(error)".contains(named))
        }
    }

    static func fnv(_ b: UnsafeRawBufferPointer, count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count { h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// Random bytes, and random bytes behind a valid header and checksum: never a trap.
    @Test func randomSlotsNeverTrap() {
        var (rng, seed) = SeededGenerator.fromEnvironment("DRUM_MONITOR_TEST_SEED")
        print("SEED EventRecordTests.randomSlotsNeverTrap: \(seed) (replay: DRUM_MONITOR_TEST_SEED=\(seed))")
        var slot = [UInt8](repeating: 0, count: EventRecordLayout.size)
        for round in 0..<400 {
            for i in slot.indices { slot[i] = UInt8.random(in: 0...255, using: &rng) }
            if round % 2 == 0 {
                slot.withUnsafeMutableBytes { b in
                    b.storeBytes(of: EventRecordLayout.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
                    b.storeBytes(of: EventRecordLayout.version.littleEndian, toByteOffset: 4, as: UInt16.self)
                    b[6] = UInt8.random(in: 1...14, using: &rng)
                    b[7] = UInt8.random(in: 0...16, using: &rng)
                }
                let sumAt = EventRecordLayout.size - 8
                let sum = slot.withUnsafeBytes { Self.fnv($0, count: sumAt) }
                withUnsafeBytes(of: sum.littleEndian) { for (i, b) in $0.enumerated() { slot[sumAt + i] = b } }
            }
            _ = try? Self.decode(slot)
        }
    }
}

@Suite struct EventMessageTests {
    @Test func oomKillNamesTheVictimAndItsLastRSS() {
        var r = EventRecord(kind: .oomKill, wallNanos: 0, monoNanos: 0, sampleSequence: 9, generation: 1)
        r.count = 1
        r.memoryCurrentBytes = 2 << 30
        r.memoryLimitBytes = 2 << 30
        r.setProcesses([EventProcess(pid: 1234, ppid: 1, role: .worker, rssBytes: 1_932_735_283, cmdline: "gunicorn")])
        #expect(r.message == "OOM kill (memory 2.0 GiB of 2.0 GiB just before): worker 1234 (RSS 1.8 GiB) was killed")
        r.setProcesses([])
        #expect(r.message == "OOM kill in the cgroup (memory 2.0 GiB of 2.0 GiB just before); the victim was outside the DRUM tree")
    }

    @Test func everyKindHasAMessageWithItsFigures() {
        for kind in EventKind.allCases {
            let m = EventRecordTests.full(kind).message
            #expect(!m.isEmpty && !m.contains("\n"), "\(kind)")
        }
        #expect(EventRecordTests.full(.workerReplaced).message.hasPrefix("worker 1234 replaced by 1240"))
        #expect(EventRecordTests.full(.memoryGrowth).message.contains("117.7 MiB/h"))
        #expect(EventRecordTests.full(.memoryGrowth).message.contains("45m00s"))
        #expect(EventRecordTests.full(.samplerStall).message == "no sample for 5.2s (3 ticks missed)")
        #expect(EventRecordTests.full(.limitChanged).message == "memory limit changed from 2.0 GiB (host) to 16.0 GiB (/kubepods/burstable/pod1)")
    }

    @Test(arguments: [(0.85, "850ms"), (4.21, "4.2s"), (192, "3m12s"), (7500, "2h05m"), (273_600, "3d4h"), (-4.2, "-4.2s")] as [(Double, String)])
    func humanDurations(_ seconds: Double, _ text: String) {
        #expect(DurationText.human(seconds: seconds) == text)
    }

    @Test(arguments: [(512.0, "512 B"), (1536, "1.5 KiB"), (-1536, "-1.5 KiB"), (-0.5 * 1024 * 1024, "-512.0 KiB")] as [(Double, String)])
    func bytesWithSigns(_ value: Double, _ text: String) {
        #expect(ByteText.format(value) == text)
    }
}
