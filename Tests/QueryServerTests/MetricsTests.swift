import Foundation
import History
import SampleModel
import Testing
import TestSupport
@testable import QueryServer

/// /metrics: the writer's bytes in both formats, content negotiation, and the families built from
/// a sample — what is there, what is left out, and that promtool reads it.
@Suite struct MetricsTextTests {
    static let families = [
        MetricFamily("b_total", .counter, unit: nil, help: "B things", samples: [.init(labels: [], value: 3)]),
        MetricFamily("a_bytes", .gauge, unit: "bytes", help: "A \\ back\nslash", samples: [
            .init(labels: [("role", "worker")], value: 2.5),
            .init(labels: [("role", "master")], value: Double(1 << 40)),
            .init(labels: [("role", "nan")], value: .nan),
        ]),
        MetricFamily("c_info", .info, help: "C", samples: [.init(labels: [("v", "q\"u\\o\nte")], value: 1)]),
        MetricFamily("d_empty", .gauge, help: "never written", samples: [.init(labels: [], value: .infinity)]),
    ]

    @Test func textFormatSortsFamiliesAndSamplesEscapesAndLeavesOutWhatIsNotFinite() {
        let text = String(decoding: MetricsText.render(Self.families, .text), as: UTF8.self)
        #expect(text == """
            # HELP a_bytes A \\\\ back\\nslash
            # TYPE a_bytes gauge
            a_bytes{role="master"} 1099511627776
            a_bytes{role="worker"} 2.5
            # HELP b_total B things
            # TYPE b_total counter
            b_total 3
            # HELP c_info C
            # TYPE c_info gauge
            c_info{v="q\\"u\\\\o\\nte"} 1

            """)
    }

    @Test func openMetricsNamesFamiliesWithoutSuffixesAddsUnitsInfoAndEOF() {
        let text = String(decoding: MetricsText.render(Self.families, .openMetrics(version: "1.0.0")), as: UTF8.self)
        #expect(text == """
            # TYPE a_bytes gauge
            # UNIT a_bytes bytes
            # HELP a_bytes A \\\\ back\\nslash
            a_bytes{role="master"} 1099511627776
            a_bytes{role="worker"} 2.5
            # TYPE b counter
            # HELP b B things
            b_total 3
            # TYPE c info
            # HELP c C
            c_info{v="q\\"u\\\\o\\nte"} 1
            # EOF

            """)
    }

    @Test func numbersAreExactIntegersOrShortestRoundTripDecimals() {
        #expect(MetricsText.number(0) == "0")
        #expect(MetricsText.number(123_456_789_012) == "123456789012")
        #expect(MetricsText.number(0.1) == "0.1")
        #expect(Double(MetricsText.number(1.0 / 3.0)) == 1.0 / 3.0)
        #expect(MetricsText.number(1e300) == "1e+300")
    }

    @Test(arguments: [
        (nil, MetricsFormat.text),
        ("", .text),
        ("*/*", .text),
        ("text/plain", .text),
        // Prometheus 2.x's scrape Accept header.
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         .openMetrics(version: "1.0.0")),
        ("application/openmetrics-text; version=0.0.1", .openMetrics(version: "0.0.1")),
        ("application/openmetrics-text", .openMetrics(version: "1.0.0")),
        ("text/plain;q=1, application/openmetrics-text;q=0.5", .text),
        ("application/openmetrics-text;q=0", .text),
        ("application/openmetrics-text;version=2.0.0", .text),
        ("Application/OpenMetrics-Text ; Version=1.0.0 ; q=0.9, text/plain;q=0.9", .openMetrics(version: "1.0.0")),
    ] as [(String?, MetricsFormat)])
    func negotiation(accept: String?, format: MetricsFormat) {
        #expect(MetricsFormat.negotiate(accept: accept) == format, "Accept: \(accept ?? "(none)")")
    }
}

@Suite struct DrumMetricsTests {
    /// One sample of a watched gunicorn with every figure known, two workers and a child.
    static func history(found: Bool = true, mlops: Bool = true) -> History {
        let history = History(capacity: 8, intervalNanos: 1_000_000_000)
        var values = MetricValues()
        var detail = SampleDetail(target: .init(found: found, rootPid: found ? 4242 : nil, mode: found ? .gunicorn : nil,
                                                generation: 3, processCount: found ? 4 : 0,
                                                message: found ? nil : "no DRUM process found"))
        detail.hostTotalBytes = 1 << 34
        values[.hostAvailable] = Double(8 << 30)
        if found {
            values[.memoryCurrent] = Double(300 << 20)
            values[.memoryPeak] = Double(400 << 20)
            values[.memoryIntervalPeak] = Double(310 << 20)
            values[.memoryLimit] = Double(512 << 20)
            values[.memoryWorkingSet] = Double(250 << 20)
            values[.memoryOOMKills] = 2
            values[.memoryLimitHits] = 7
            values[.cpuLimit] = 1.5
            detail.limitOrigin = .cgroup
            detail.cgroup = .init(path: "/drum.slice/\"odd\"\\path", version: 2)
            detail.counters.treeCPUTicks = 12_345
            detail.counters.ticksPerSecond = 100
            detail.counters.cgroupCPUNanos = 123_456_000_000
            detail.counters.cgroupThrottledNanos = 1_500_000_000
            detail.counters.cgroupPeriods = 1000
            detail.counters.cgroupThrottledPeriods = 15
            detail.counters.memoryPressureSomeMicros = 2_500_000
            detail.counters.memoryPressureFullMicros = 500_000
            if mlops {
                detail.target.mlopsDeploymentID = "6543210fedcba"
                detail.target.mlopsModelID = "m-1"
            }
            detail.processes = [
                .init(pid: 4242, ppid: 1, role: .master, cmdline: ["gunicorn"], rssBytes: 100 << 20),
                .init(pid: 4243, ppid: 4242, role: .worker, cmdline: ["gunicorn"], rssBytes: 80 << 20),
                .init(pid: 4244, ppid: 4242, role: .worker, cmdline: ["gunicorn"], rssBytes: 70 << 20),
                .init(pid: 4250, ppid: 4243, role: .child, cmdline: ["sleep"], rssBytes: 1 << 20),
            ]
        } else {
            for m in Metric.allCases where m != .hostAvailable { detail.unavailable[m] = "no DRUM process found" }
        }
        history.append(Sample(sequence: 9, wallNanos: 1_700_000_000_500_000_000, monoNanos: 1, generation: 3, values: values),
                       detail: detail)
        return history
    }

    static func context(_ history: History, labels: [(name: String, value: String)] = [("deployment", "fraud-v2")]) -> QueryContext {
        var cadence = Cadence()
        cadence.ticks = 9
        cadence.lateTicks = 1
        let sources = MetricsSources(version: "0.1.0", revision: "abcdef012345", labels: MetricLabels(labels),
                                     process: { DaemonProcess(residentBytes: 9 << 20, virtualBytes: 200 << 20, cpuSeconds: 1.25,
                                                              startTimeSeconds: 1_700_000_000, openFDs: 12, maxFDs: 65536) })
        let events = EventLog(capacity: 4)
        for _ in 0..<2 { events.append(EventRecord(kind: .oomKill, wallNanos: 1, monoNanos: 1, sampleSequence: 1, generation: 3)) }
        let fixed = cadence
        return QueryContext(history: history, events: events, metrics: sources) { fixed }
    }

    static func lines(_ context: QueryContext, _ format: MetricsFormat = .text) -> [String] {
        String(decoding: MetricsText.render(DrumMetrics.families(context), format), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func aWatchedTargetHasEveryFamilyAsCountersGaugesAndInfo() {
        let lines = Self.lines(Self.context(Self.history()))
        let t = #"deployment="fraud-v2",mlops_deployment_id="6543210fedcba",mlops_model_id="m-1""#
        let expected = [
            #"drum_monitor_build_info{deployment="fraud-v2",version="0.1.0",revision="abcdef012345"} 1"#,
            #"drum_monitor_target_found{deployment="fraud-v2"} 1"#,
            "drum_monitor_target_info{\(t),mode=\"gunicorn\",cgroup=\"/drum.slice/\\\"odd\\\"\\\\path\",cgroup_version=\"2\",root_pid=\"4242\",generation=\"3\"} 1",
            "drum_monitor_memory_current_bytes{\(t)} 314572800",
            "drum_monitor_memory_peak_bytes{\(t)} 419430400",
            "drum_monitor_memory_interval_peak_bytes{\(t)} 325058560",
            "drum_monitor_memory_limit_bytes{\(t),source=\"cgroup\"} 536870912",
            "drum_monitor_memory_working_set_bytes{\(t)} 262144000",
            "drum_monitor_memory_oom_kills_total{\(t)} 2",
            "drum_monitor_memory_limit_hits_total{\(t)} 7",
            "drum_monitor_pressure_memory_waiting_seconds_total{\(t)} 2.5",
            "drum_monitor_pressure_memory_stalled_seconds_total{\(t)} 0.5",
            "drum_monitor_tree_cpu_seconds_total{\(t)} 123.45",
            "drum_monitor_cgroup_cpu_seconds_total{\(t)} 123.456",
            "drum_monitor_cgroup_cpu_throttled_seconds_total{\(t)} 1.5",
            "drum_monitor_cgroup_cpu_periods_total{\(t)} 1000",
            "drum_monitor_cgroup_cpu_throttled_periods_total{\(t)} 15",
            "drum_monitor_cgroup_cpu_limit_cores{\(t)} 1.5",
            "drum_monitor_processes{\(t),role=\"master\"} 1",
            "drum_monitor_processes{\(t),role=\"worker\"} 2",
            "drum_monitor_processes{\(t),role=\"child\"} 1",
            "drum_monitor_process_resident_memory_bytes{\(t),role=\"worker\"} 157286400",
            #"drum_monitor_sampler_ticks_total{deployment="fraud-v2"} 9"#,
            #"drum_monitor_sampler_late_ticks_total{deployment="fraud-v2"} 1"#,
            #"drum_monitor_sampler_missed_ticks_total{deployment="fraud-v2"} 0"#,
            #"drum_monitor_sampler_interval_seconds{deployment="fraud-v2"} 1"#,
            #"drum_monitor_last_sample_timestamp_seconds{deployment="fraud-v2"} 1700000000.5"#,
            #"drum_monitor_host_memory_available_bytes{deployment="fraud-v2"} 8589934592"#,
            #"drum_monitor_events_total{deployment="fraud-v2",kind="oom_kill"} 2"#,
            #"drum_monitor_events_total{deployment="fraud-v2",kind="worker_replaced"} 0"#,
            #"process_resident_memory_bytes{deployment="fraud-v2"} 9437184"#,
            #"process_cpu_seconds_total{deployment="fraud-v2"} 1.25"#,
            #"process_start_time_seconds{deployment="fraud-v2"} 1700000000"#,
            #"process_open_fds{deployment="fraud-v2"} 12"#,
            #"process_max_fds{deployment="fraud-v2"} 65536"#,
        ]
        for line in expected { #expect(lines.contains(line), "missing: \(line)") }
        for (name, type) in [("drum_monitor_tree_cpu_seconds_total", "counter"), ("drum_monitor_memory_current_bytes", "gauge"),
                             ("drum_monitor_build_info", "gauge"), ("process_cpu_seconds_total", "counter")] {
            #expect(lines.contains("# TYPE \(name) \(type)"))
        }
        // Families sorted, each with HELP then TYPE; no NaN anywhere; no pid labels on processes.
        let typed = lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        #expect(typed == typed.sorted())
        #expect(lines.filter { $0.hasPrefix("# HELP ") }.count == typed.count)
        #expect(!lines.contains { $0.lowercased().contains("nan") && !$0.hasPrefix("#") })
        #expect(!lines.contains { $0.hasPrefix("drum_monitor_process") && $0.contains("pid=") })
    }

    /// Issue 17: while no DRUM is found, the target's series are absent (not the daemon's cgroup
    /// under the same name), target_found is 0, the daemon's own series stay.
    @Test func withoutATargetItsSeriesAreAbsentAndFoundIsZero() {
        let lines = Self.lines(Self.context(Self.history(found: false)))
        #expect(lines.contains(#"drum_monitor_target_found{deployment="fraud-v2"} 0"#))
        for prefix in ["drum_monitor_memory_", "drum_monitor_tree_", "drum_monitor_cgroup_", "drum_monitor_target_info",
                       "drum_monitor_processes", "drum_monitor_process_", "drum_monitor_pressure_", "# HELP drum_monitor_memory"] {
            #expect(!lines.contains { $0.hasPrefix(prefix) }, "\(prefix)… present without a target")
        }
        #expect(lines.contains(#"drum_monitor_sampler_ticks_total{deployment="fraud-v2"} 9"#))
        #expect(lines.contains { $0.hasPrefix("drum_monitor_host_memory_available_bytes") })
    }

    @Test func mlopsLabelsOnlyOnTheTargetsSeriesAndOnlyWhenKnown() {
        let with = Self.lines(Self.context(Self.history()))
        #expect(with.filter { $0.contains("mlops_model_id") }.allSatisfy {
            $0.hasPrefix("drum_monitor_memory_") || $0.hasPrefix("drum_monitor_tree_") || $0.hasPrefix("drum_monitor_cgroup_")
                || $0.hasPrefix("drum_monitor_target_info") || $0.hasPrefix("drum_monitor_process") || $0.hasPrefix("drum_monitor_pressure_")
        })
        #expect(!with.contains { $0.hasPrefix("drum_monitor_sampler_") && $0.contains("mlops") })
        let without = Self.lines(Self.context(Self.history(mlops: false), labels: []))
        #expect(!without.contains { $0.contains("mlops") })
        #expect(without.contains("drum_monitor_memory_current_bytes 314572800"))
    }

    @Test func theTextfileLeavesOutProcessSeries() {
        let text = String(decoding: MetricsEndpoint.textfile(Self.context(Self.history())), as: UTF8.self)
        #expect(!text.contains("process_resident_memory_bytes{") || text.contains("drum_monitor_process_resident_memory_bytes"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("process_") || $0.hasPrefix("# HELP process_") })
        #expect(text.contains("drum_monitor_memory_current_bytes"))
    }

    @Test func openMetricsIsCompleteAndEndsWithEOF() {
        let lines = Self.lines(Self.context(Self.history()), .openMetrics(version: "1.0.0"))
        #expect(lines.last == "# EOF")
        #expect(lines.contains("# TYPE drum_monitor_tree_cpu_seconds counter"))
        #expect(lines.contains("# UNIT drum_monitor_tree_cpu_seconds seconds"))
        #expect(lines.contains("# TYPE drum_monitor_build info"))
        #expect(lines.contains("# TYPE drum_monitor_target info"))
        #expect(lines.contains { $0.hasPrefix("drum_monitor_tree_cpu_seconds_total{") })
        #expect(lines.contains("# UNIT drum_monitor_memory_current_bytes bytes"))
    }

    /// promtool (Debian's prometheus package, installed by make test's dependencies) reads the
    /// text format and finds nothing to lint.
    @Test(.enabled(if: RealSystem.skipNote(Self.promtool == nil ? "promtool not installed (Debian package prometheus; make deps-prometheus)" : nil,
                                           "promtool check metrics")))
    func promtoolChecksTheExpositionClean() throws {
        let body = MetricsText.render(DrumMetrics.families(Self.context(Self.history())), .text)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.promtool))
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(body))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0 && said.isEmpty, "promtool check metrics: \(said)")
    }

    static var promtool: String? {
        ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
