// The query client's text for people, from answers as the daemon writes them, and from values a
// hostile or broken socket could send (which must never trap).
import Testing
@testable import DaemonCore

#if canImport(Glibc)
import Glibc
#endif

@Suite struct QueryAnswerTests {
    static let snapshot = """
    {"sequence":42,"time":"2024-02-29T23:59:58.123Z","time_unix_ns":1709251198123000000,"interval_seconds":1,
     "measured_interval_seconds":1.0,
     "target":{"found":true,"root_pid":100,"mode":"gunicorn","generation":2,"process_count":2,"message":null},
     "cgroup":{"path":"/drum","version":2},
     "memory":{"current_bytes":536870912,"peak_bytes":1073741824,"interval_peak_bytes":600000000,"interval_peak_exact":true,
               "limit_bytes":2147483648,"limit_source":"cgroup /drum","working_set_bytes":400000000,"oom_kills":0,"limit_hits":0,
               "pressure_some_avg10":null,"pressure_full_avg10":null,"host_total_bytes":25769803776,"host_available_bytes":20000000000},
     "cpu":{"tree_cores":1.254,"cgroup_cores":1.3,"limit_cores":null,"throttled_fraction":0.25},
     "tree_rss_bytes":500000000,
     "processes":[{"pid":100,"ppid":1,"role":"master","cmdline":"gunicorn app","rss_bytes":100000000,"cpu_cores":0.01},
                  {"pid":101,"ppid":100,"role":"worker","cmdline":"gunicorn app","rss_bytes":400000000,"cpu_cores":null}],
     "unavailable":{"memory_pressure_some_avg10":"no PSI"}}
    """

    @Test func snapshotReadsAsText() throws {
        let text = try QueryAnswer.humanText(.snapshot, Array(Self.snapshot.utf8))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "target      gunicorn pid 100 (generation 2, 2 processes)")
        #expect(lines.contains("cgroup      /drum (v2)"))
        #expect(lines.contains("memory      512.0 MiB of 2.0 GiB (25%)  limit from cgroup /drum"))
        #expect(lines.contains("  peak      1.0 GiB   interval peak 572.2 MiB (exact)"))
        #expect(lines.contains("cpu         tree 1.25 cores   cgroup 1.30 cores   limit none   throttled 25%"))
        #expect(lines.contains("101     100     worker  381.5 MiB   n/a    gunicorn app"))
        #expect(lines.contains("  memory_pressure_some_avg10: no PSI"))
    }

    @Test func healthReadsAsText() throws {
        let body = #"{"status":"stale","last_sample_age_seconds":3.5,"interval_seconds":1,"ticks":10,"late_ticks":1,"missed_ticks":2,"lateness_seconds":{"p50":0.0001,"p99":0.002,"max":null},"samples_held":10,"capacity":3600}"#
        let text = try QueryAnswer.humanText(.health, Array(body.utf8))
        #expect(text == """
        stale: last sample 3.50 s ago, interval 1s
        ticks 10, late 1, missed 2; lateness p50 0.10 ms, p99 2.00 ms, max n/a
        history 10 of 3600 samples
        """)
    }

    @Test func errorMessageIsTheErrorField() {
        #expect(QueryAnswer.errorMessage(Array(#"{"error":"no such endpoint: /x"}"#.utf8)) == "no such endpoint: /x")
        #expect(QueryAnswer.errorMessage(Array("plain text".utf8)) == "plain text")
    }

    @Test func aBodyThatIsNotTheDocumentThrows() {
        #expect(throws: (any Error).self) { try QueryAnswer.humanText(.snapshot, Array("{}".utf8)) }
        #expect(throws: (any Error).self) { try QueryAnswer.humanText(.window, Array("not json".utf8)) }
    }

    /// Values no daemon sends but a socket could: huge, negative, fractional where whole numbers
    /// are expected. Formatting must not trap on any of them.
    @Test func extremeValuesDoNotTrap() throws {
        let huge = "1e300"
        let window = """
        {"window":{"seconds":\(huge),"samples_requested":null,"samples":3,"covered":false,"from_sequence":1,"to_sequence":3},
         "fields":{"memory_current_bytes":{"max":\(huge),"max_time":"x","min":-\(huge),"avg":1.5,"last":null,"count":3},
                   "process_count":{"max":\(huge),"max_time":null,"min":-1e19,"avg":0.5,"last":9.2e18,"count":1},
                   "tree_cpu_cores":{"max":\(huge),"max_time":null,"min":-\(huge),"avg":null,"last":null,"count":0}}}
        """
        let w = try QueryAnswer.humanText(.window, Array(window.utf8))
        #expect(w.contains("not all of it is in the history"))
        let health = #"{"status":"ok","last_sample_age_seconds":1e300,"interval_seconds":1e300,"ticks":1,"late_ticks":0,"missed_ticks":0,"lateness_seconds":{"p50":1e300,"p99":-1e300,"max":1e300},"samples_held":1,"capacity":1}"#
        _ = try QueryAnswer.humanText(.health, Array(health.utf8))
        let samples = #"{"truncated":true,"next_since":3,"fields":["sequence","memory_current_bytes","tree_cpu_cores","process_count"],"samples":[[1,1e300,-1e300,1e300],[2,null],[]]}"#
        let s = try QueryAnswer.humanText(.samples, Array(samples.utf8))
        #expect(s.contains("already dropped"))
        let stats = #"{"mem_info":{"total":1e300,"avail":-1e300,"free":null},"drum_info":[{"pid":1,"cmdline":["x"],"mem":1e300,"cpu_percent":-1e300}],"time_info":{}}"#
        _ = try QueryAnswer.humanText(.stats, Array(stats.utf8))
        let snapshot = Self.snapshot.replacingOccurrences(of: "536870912", with: huge).replacingOccurrences(of: "1.254", with: "-\(huge)")
            .replacingOccurrences(of: "0.25}", with: "\(huge)}")
        _ = try QueryAnswer.humanText(.snapshot, Array(snapshot.utf8))
    }

    /// What `query` does with each kind of answer: busy has its own status, a stale /healthz is
    /// shown and fails, other errors fail with the daemon's message.
    @Test func outcomes() {
        let busy = Array(#"{"error":"busy: all 256 connections are in use; try again"}"#.utf8)
        #expect(QueryOutcome.of(.snapshot, status: 503, body: busy) == .fail(.busy, "drum-monitor is busy: all 256 connections are in use; try again"))
        #expect(QueryOutcome.of(.health, status: 503, body: busy) == .fail(.busy, "drum-monitor is busy: all 256 connections are in use; try again"))
        #expect(QueryOutcome.of(.health, status: 503, body: Array(#"{"status":"stale"}"#.utf8)) == .show(exit: .failure))
        #expect(QueryOutcome.of(.window, status: 400, body: Array(#"{"error":"seconds: not a duration"}"#.utf8))
                == .fail(.failure, "drum-monitor: the daemon answered 400: seconds: not a duration"))
        #expect(QueryOutcome.of(.snapshot, status: 503, body: Array(#"{"error":"starting"}"#.utf8)) == .fail(.failure, "drum-monitor: the daemon answered 503: starting"))
        #expect(QueryOutcome.of(.snapshot, status: 200, body: []) == .show(exit: .success))
    }

    @Test func connectFailures() {
        let missing = QueryOutcome.connectFailure("/run/x.sock", errno: ENOENT)
        #expect(missing.status == .notRunning)
        #expect(missing.description == """
            drum-monitor is not running: nothing listens on /run/x.sock (No such file or directory).
            See `systemctl status drum-monitor`, or pass --socket PATH (or --instance NAME) if it serves elsewhere.
            """)
        #expect(QueryOutcome.connectFailure("/run/x.sock", errno: ECONNREFUSED).status == .notRunning)
        #expect(QueryOutcome.connectFailure("/run/x.sock", errno: EACCES).status == .permissionDenied)
        #expect(QueryOutcome.connectFailure("/run/x.sock", errno: EACCES).description.hasPrefix("permission denied on /run/x.sock"))
    }

    @Test func instanceNamesMapToSockets() throws {
        #expect(try Instance.socketPath("model-a") == "/run/drum-monitor/model-a.sock")
        #expect(try Instance.socketPath("a@b:c\\x2d") == "/run/drum-monitor/a@b:c\\x2d.sock")
        for bad in ["", ".", "..", "a/b", "/etc/x", "x\u{0}", "x\n", String(repeating: "n", count: 100)] {
            #expect(throws: Instance.BadName.self, "\(bad.debugDescription)") { try Instance.socketPath(bad) }
        }
    }

    /// Each status on its own line of --help, under 80 columns so ArgumentParser does not wrap it.
    @Test func exitStatusHelpFitsOnLines() {
        let lines = ExitStatus.helpSection.split(separator: "\n")
        #expect(lines.first == "EXIT STATUS")
        #expect(lines.count == ExitStatus.allCases.count + 1)
        for line in lines { #expect(line.count < 80, "\(line)") }
        #expect(ExitStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 64])
    }
}
