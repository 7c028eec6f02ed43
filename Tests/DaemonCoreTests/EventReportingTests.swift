import Logging
import SampleModel
import Synchronization
import Testing
import Foundation
import Dispatch
@testable import DaemonCore

/// Events as the journal and the log get them, and the configuration keys of detection.
@Suite struct EventReportingTests {
    static func oomKill() -> EventRecord {
        var e = EventRecord(kind: .oomKill, wallNanos: 0, monoNanos: 0, sampleSequence: 41, generation: 2)
        e.sequence = 7
        e.count = 1
        e.memoryCurrentBytes = 2_147_483_648
        e.memoryWorkingSetBytes = 2_100_000_000
        e.memoryLimitBytes = 2_147_483_648
        e.limitSource = "/drum"
        e.setProcesses([
            EventProcess(pid: 1234, ppid: 100, role: .worker, rssBytes: 1_900_000_000, lifetimeNanos: 61_500_000_000, cmdline: "python -m gunicorn\napp:app"),
            EventProcess(pid: 1300, ppid: 1234, role: .child, rssBytes: 1000, cmdline: "sh"),
        ])
        return e
    }

    @Test func anOOMKillInTheJournal() {
        let fields = EventJournal.fields(Self.oomKill())
        #expect(fields.contains("MESSAGE_ID=680fe2d57e644f7cb5bd2d882102563a"))
        #expect(fields.contains("PRIORITY=4"), "warning")
        #expect(fields.contains("DRUM_EVENT=oom_kill"))
        #expect(fields.contains("DRUM_EVENT_SEQUENCE=7") && fields.contains("DRUM_SAMPLE_SEQUENCE=41"))
        #expect(fields.contains("CGROUP_MEMORY_CURRENT_BYTES=2147483648"))
        #expect(fields.contains("CGROUP_MEMORY_LIMIT_BYTES=2147483648"))
        #expect(fields.contains("CGROUP_MEMORY_LIMIT_SOURCE=/drum"))
        // One set of process fields per process, in the event's order.
        #expect(fields.filter { $0.hasPrefix("DRUM_PID=") } == ["DRUM_PID=1234", "DRUM_PID=1300"])
        #expect(fields.filter { $0.hasPrefix("DRUM_ROLE=") } == ["DRUM_ROLE=worker", "DRUM_ROLE=child"])
        #expect(fields.filter { $0.hasPrefix("DRUM_RSS_BYTES=") } == ["DRUM_RSS_BYTES=1900000000", "DRUM_RSS_BYTES=1000"])
        #expect(fields.contains("DRUM_LIFETIME_SECONDS=61.5"))
        #expect(fields.contains("DRUM_CMDLINE=python -m gunicorn\napp:app"), "values keep their bytes; sd_journal_sendv frames them")
        #expect(fields.first == "MESSAGE=" + Self.oomKill().message)
        #expect(!fields.contains { $0.hasPrefix("DRUM_ROOT_PID=") })
    }

    @Test func otherKindsAreNotices() {
        var e = EventRecord(kind: .targetLost, wallNanos: 0, monoNanos: 0, sampleSequence: 1, generation: 1)
        e.pid = 100
        let fields = EventJournal.fields(e)
        #expect(fields.contains("PRIORITY=5"))
        #expect(fields.contains("DRUM_ROOT_PID=100") && fields.contains("DRUM_PID=100"))
    }

    /// Outside the journal, one log line per event; a journal that refuses falls back to it,
    /// saying so once.
    @Test func logLinesAndAFailingJournal() {
        let log = CapturedLog()
        let plain = EventReporter(destination: .log, logger: log.logger(journal: false)) { _ in
            Issue.record("the journal is not used outside systemd")
            return 0
        }
        plain.report(Self.oomKill())
        plain.flush()
        #expect(log.lines.count == 1)
        #expect(log.lines.first?.contains("WARNING") == true)
        #expect(log.lines.first?.contains("event 7 oom_kill: OOM kill (memory 2.0 GiB of 2.0 GiB just before): worker 1234 (RSS 1.8 GiB), child 1300 (RSS 1000 B) were killed") == true)

        let failing = CapturedLog()
        let sent = Mutex(0)
        let journal = EventReporter(destination: .journal, logger: failing.logger(journal: false)) { _ in
            sent.withLock { $0 += 1 }
            return -ECONNREFUSED
        }
        journal.report(Self.oomKill())
        journal.report(Self.oomKill())
        journal.flush()
        #expect(sent.withLock { $0 } == 2)
        #expect(failing.lines.filter { $0.contains("sd_journal_sendv failed") }.count == 1)
        #expect(failing.lines.filter { $0.contains("oom_kill:") }.count == 2)
    }

    /// A journal that does not take the entry must not hold up the caller (the sampler's queue):
    /// report returns before the entry is sent. (Synchronous, the send below would wait out its
    /// 10 s bound for a go that comes only after report returns, and find none.)
    @Test func aStuckJournalDoesNotHoldUpTheSampler() {
        let go = DispatchSemaphore(value: 0)
        let waitedInVain = Mutex(false)
        let reporter = EventReporter(destination: .journal, logger: CapturedLog().logger(journal: false)) { _ in
            if go.wait(timeout: .now() + 10) == .timedOut { waitedInVain.withLock { $0 = true } }
            return 0
        }
        reporter.report(Self.oomKill())
        go.signal()
        reporter.flush()
        #expect(!waitedInVain.withLock { $0 })
    }

    /// The journal only when stderr is the stream JOURNAL_STREAM names.
    @Test func theJournalWhenStderrIsIt() {
        var st = stat()
        fstat(STDERR_FILENO, &st)
        #expect(EventReporter.destination(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)"]) == .journal)
        #expect(EventReporter.destination(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino &+ 1)"]) == .log)
        #expect(EventReporter.destination(environment: [:]) == .log)
    }

    @Test func detectionSettingsFromTheConfiguration() throws {
        let config = try ConfigLoader(file: nil, fileRequired: false, environment: [
            "DRUM_MONITOR_EVENT_RING_SIZE": "50", "DRUM_MONITOR_MEMORY_HIGH_FRACTION": "0.8", "DRUM_MONITOR_MEMORY_HIGH_SAMPLES": "5",
            "DRUM_MONITOR_MEMORY_HIGH_METRIC": "current", "DRUM_MONITOR_GROWTH_WINDOW": "30s", "DRUM_MONITOR_GROWTH_HORIZON": "2h",
            "DRUM_MONITOR_STALL_AFTER_INTERVALS": "5", "DRUM_MONITOR_LIMIT_HIT_QUIET": "5m",
        ], flags: [:]).load()
        #expect(config.eventRingSize == 50)
        #expect(config.events.memoryHighFraction == 0.8 && config.events.clearFraction == 0.75)
        #expect(config.events.memoryHighSamples == 5 && config.events.memoryHighMetric == .current)
        #expect(config.events.growthWindowNanos == 30_000_000_000 && config.events.growthHorizonNanos == 7_200_000_000_000)
        #expect(config.events.stallAfterIntervals == 5 && config.events.limitHitQuietNanos == 300_000_000_000)
        #expect(config.effectiveSettings.contains("memory_high_fraction: 0.8"))
        #expect(config.effectiveSettings.contains("growth_window: 30s"))
    }

    @Test(arguments: [
        (["DRUM_MONITOR_MEMORY_HIGH_FRACTION": "1.5"], "memory_high_fraction"),
        (["DRUM_MONITOR_MEMORY_HIGH_METRIC": "rss"], "memory_high_metric"),
        (["DRUM_MONITOR_EVENT_RING_SIZE": "0"], "event_ring_size"),
        (["DRUM_MONITOR_MEMORY_HIGH_CLEAR_FRACTION": "0.95"], "memory_high_clear_fraction"),
        (["DRUM_MONITOR_GROWTH_WINDOW": "5s"], "growth_window"),
        (["DRUM_MONITOR_STALL_AFTER_INTERVALS": "1"], "stall_after_intervals"),
    ])
    func badDetectionSettingsAreNamed(_ environment: [String: String], _ key: String) {
        do {
            _ = try ConfigLoader(file: nil, fileRequired: false, environment: environment, flags: [:]).load()
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.description.contains(key.uppercased()) || error.description.contains("'\(key)'"), "\(error)")
        }
    }
}
