import SampleModel

/// The frame of `top`: a pure function of the view, the frame's size and the time. Sections
/// that do not fit are left out in a fixed order of importance, lines are cut (never wrapped),
/// so any size from `minimum` up gives a readable frame.
enum TopScreen {
    static let minimum = (width: 40, height: 7)
    /// Columns before a sparkline (its label) and after it (its scale).
    static let sparkLabelColumns = 5
    static let sparkScaleColumns = 22
    static let eventLines = 5

    /// How many columns a sparkline may take in a frame `width` wide (the feed asks for as
    /// many buckets).
    static func sparkRoom(width: Int) -> Int { max(1, width - sparkLabelColumns - sparkScaleColumns) }

    struct Options: Sendable {
        var glyphs: Glyphs = .unicode
        /// With the key line at the bottom (a live view), or without (one frame for a script).
        var interactive = true
    }

    static func render(_ view: TopView, width: Int, height: Int, nowUnixNs: Int64, options: Options = Options()) -> Frame {
        var frame = Frame(width: width, height: height)
        guard width >= minimum.width, height >= minimum.height else {
            frame.put(TextWidth.fit("terminal too small: \(width)x\(height) (top needs \(minimum.width)x\(minimum.height))",
                                    width, ellipsis: options.glyphs.ellipsis), row: 0, column: 0)
            return frame
        }
        let sections = Sections(view: view, width: width, now: nowUnixNs, options: options)
        var row = 0
        for lines in sections.allocate(height: height) {
            for line in lines where row < height {
                frame.put(line, row: row, ellipsis: options.glyphs.ellipsis)
                row += 1
            }
        }
        if options.interactive { frame.put(sections.keys, row: height - 1, ellipsis: options.glyphs.ellipsis) }
        // The header and the table's heading are bars across the whole width.
        frame.restyle(row: 0, column: frame.lineEnd(0), count: width, .inverse)
        if let heading = sections.headingRow(height: height) { frame.restyle(row: heading, column: frame.lineEnd(heading), count: width, .inverse) }
        return frame
    }

    /// The height that shows everything (for one frame printed to a pipe or a file).
    static func naturalHeight(_ view: TopView, width: Int, nowUnixNs: Int64, options: Options) -> Int {
        let sections = Sections(view: view, width: max(width, minimum.width), now: nowUnixNs, options: options)
        return max(minimum.height, sections.all.reduce(0) { $0 + $1.lines.count } + (options.interactive ? 1 : 0))
    }
}

private extension Frame {
    /// The first column after the last non-blank cell of a row.
    func lineEnd(_ row: Int) -> Int {
        var c = width
        while c > 0, scalar(row: row, column: c - 1) == " " { c -= 1 }
        return c
    }
}

/// The sections of a frame, in display order, with what each needs at least and at most.
private struct Sections {
    struct Section {
        enum Kind { case header, status, memoryBar, memoryDetail, limit, memorySpark, cpu, cpuSpark, blankBeforeEvents, events, blankBeforeTable, table }
        var kind: Kind
        var lines: [Line]
    }

    let all: [Section]
    let keys: Line
    let interactive: Bool
    let ellipsis: String

    init(view: TopView, width: Int, now: Int64, options: TopScreen.Options) {
        let text = SectionText(view: view, width: width, now: now, glyphs: options.glyphs)
        var all: [Section] = [
            Section(kind: .header, lines: [text.header()]),
            Section(kind: .status, lines: [text.status()]),
            Section(kind: .memoryBar, lines: [text.memoryBar()]),
            Section(kind: .memoryDetail, lines: [text.memoryDetail()]),
            Section(kind: .limit, lines: [text.limit()]),
            Section(kind: .memorySpark, lines: [text.spark(memory: true)]),
            Section(kind: .cpu, lines: [text.cpu()]),
            Section(kind: .cpuSpark, lines: [text.spark(memory: false)]),
        ]
        if let events = text.events() {
            all.append(Section(kind: .blankBeforeEvents, lines: [Line()]))
            all.append(Section(kind: .events, lines: events))
        }
        all.append(Section(kind: .blankBeforeTable, lines: [Line()]))
        all.append(Section(kind: .table, lines: text.table()))
        self.all = all
        keys = text.keys()
        interactive = options.interactive
        ellipsis = options.glyphs.ellipsis
    }

    /// Lines per section for a frame `height` rows high: the essentials first (header, memory
    /// bar, CPU, the table's heading and first row, and a daemon-down banner), then the rest in
    /// order of importance, the table taking what is left.
    func allocate(height: Int) -> [[Line]] {
        var budget = height - (interactive ? 1 : 0)
        var take = [Int](repeating: 0, count: all.count)
        func index(_ k: Section.Kind) -> Int? { all.firstIndex { $0.kind == k } }
        func grant(_ k: Section.Kind, _ n: Int) {
            guard let i = index(k) else { return }
            let n = max(0, min(n, all[i].lines.count - take[i], budget))
            take[i] += n
            budget -= n
        }
        grant(.header, 1)
        grant(.memoryBar, 1)
        grant(.cpu, 1)
        grant(.table, 2)
        grant(.status, 1)
        grant(.memoryDetail, 1)
        grant(.memorySpark, 1)
        grant(.cpuSpark, 1)
        grant(.table, 5)
        if budget >= 2 { grant(.events, 3) }
        grant(.limit, 1)
        if let e = index(.events), take[e] > 0 { grant(.blankBeforeEvents, 1) }
        grant(.blankBeforeTable, 1)
        grant(.table, budget)
        if let e = index(.events), take[e] > 0 { grant(.events, budget) }
        return all.indices.map { i in
            // Cut short: the last line says how many more there are (after at least one row).
            guard take[i] < all[i].lines.count, all[i].kind == .table || all[i].kind == .events, take[i] > 2 else {
                return Array(all[i].lines.prefix(take[i]))
            }
            let shown = take[i] - 1
            let rest = all[i].lines.count - take[i] + 1
            let noun = all[i].kind == .table ? "processes" : "events"
            return Array(all[i].lines.prefix(shown)) + [Line("  \(ellipsis) \(rest) more \(noun)", .dim)]
        }
    }

    /// The row of the table's heading in a frame `height` high.
    func headingRow(height: Int) -> Int? {
        let lines = allocate(height: height)
        guard let t = all.firstIndex(where: { $0.kind == .table }), !lines[t].isEmpty else { return nil }
        return lines[..<t].reduce(0) { $0 + $1.count }
    }
}

/// The text of each section.
private struct SectionText {
    let view: TopView
    let width: Int
    let now: Int64
    let glyphs: Glyphs

    var snapshot: SnapshotDocument? { view.snapshot }
    var isDown: Bool { if case .down = view.connection { true } else { false } }

    /// `left` and, if there is room, `right` aligned to the right edge (without room: `left`,
    /// or with `minimumGap`, a line too wide, so `fitting` passes it over).
    func spread(_ left: Line, _ right: Line, minimumGap: Int? = nil) -> Line {
        let gap = width - left.width - right.width
        guard gap >= 2 else {
            guard let minimumGap else { return left }
            var line = left
            line.add(String(repeating: " ", count: minimumGap), left.spans.last?.style ?? .plain)
            for span in right.spans { line.add(span.text, span.style) }
            return line
        }
        var line = left
        line.add(String(repeating: " ", count: gap), left.spans.last?.style ?? .plain)
        for span in right.spans { line.add(span.text, span.style) }
        return line
    }

    /// The first of `variants` that fits the width, else the last (cut at the edge).
    func fitting(_ variants: [Line]) -> Line {
        variants.first { $0.width <= width } ?? variants[variants.count - 1]
    }

    /// What is watched on the left, the newest sample's number and age on the right; when the
    /// width is short, the less important items go first (the process count, the name, the
    /// age of the root, the generation).
    func header() -> Line {
        let sep = glyphs.separator
        let inv = Style.inverse
        guard let s = snapshot else {
            return Line("drum-monitor" + sep + "connecting to \(view.socketPath)", inv)
        }
        var items: [(text: String, drop: Int)] = [("drum-monitor", 2)]
        let t = s.target
        if t.found, let pid = t.root_pid {
            // Mode `pid`: a configured pid that is not recognisably DRUM.
            items.append(((t.mode.map { $0 == "pid" ? "" : $0 + " " } ?? "") + "pid \(pid)", 99))
            items.append(("gen \(t.generation)", 4))
            if let started = view.rootStartedUnixNs, let at = s.time_unix_ns {
                items.append(("up " + TopText.duration(TopText.seconds(from: started, to: at)), 3))
            }
            items.append(("\(t.process_count) process" + (t.process_count == 1 ? "" : "es"), 1))
        } else {
            items.append(("no target: " + (t.message ?? "no DRUM process found"), 99))
        }
        var right = Line("#\(s.sequence)", inv)
        var longRight = Line("sample #\(s.sequence)", inv)
        if let at = s.time_unix_ns {
            let age = TopText.seconds(from: at, to: now)
            let stale = age > 3 * s.interval_seconds
            let ageText = " " + TopText.duration(max(age, 0)) + " ago" + (stale ? " (stale)" : "")
            let ageStyle = stale ? Style(color: .red, bold: true, inverse: true) : inv
            right.add(ageText, ageStyle)
            longRight.add(ageText, ageStyle)
        }
        var variants: [Line] = []
        for level in 0...4 {
            let kept = items.filter { $0.drop > level }.map(\.text)
            var left = Line(kept.joined(separator: sep), inv)
            if kept.first == "drum-monitor" {
                left = Line("drum-monitor", Style(bold: true, inverse: true))
                left.add(sep + kept.dropFirst().joined(separator: sep), inv)
            }
            variants.append(spread(left, longRight, minimumGap: 2))
            variants.append(spread(left, right, minimumGap: 2))
        }
        return fitting(variants.filter { $0.width <= width } + [variants[variants.count - 1]])
    }

    func status() -> Line {
        if case .down(let why, let since) = view.connection {
            let first = why.split(separator: "\n").first.map(String.init) ?? why
            var line = Line("reconnecting (down \(TopText.duration(TopText.seconds(from: since, to: now)))): ", Style(color: .red, bold: true))
            line.add(first, .color(.red))
            return line
        }
        guard let s = snapshot else { return Line() }
        let cgroup = s.cgroup.path.map { "cgroup \($0)" + (s.cgroup.version.map { " (v\($0))" } ?? "") }
            ?? "cgroup n/a" + (s.unavailable["memory_current_bytes"].map { ": \($0)" } ?? "")
        return Line(cgroup)
    }

    func memoryBar() -> Line {
        var line = Line("mem  ", .bold)
        guard let m = snapshot?.memory else { return line }
        guard let current = m.current_bytes, let limit = m.limit_bytes, limit > 0 else {
            let why = snapshot?.unavailable["memory_current_bytes"] ?? snapshot?.unavailable["memory_limit_bytes"]
            line.add("\(TopText.bytes(m.current_bytes)) of \(TopText.bytes(m.limit_bytes))" + (why.map { " (\($0))" } ?? ""))
            return line
        }
        let fraction = current / limit
        let color: Style.Color = fraction >= 0.9 ? .red : fraction >= 0.75 ? .yellow : .green
        var right = "  \(TopText.bytes(current)) of \(TopText.bytes(limit))"
        if let p = TopText.percent(current, of: limit) { right += "  \(p)" }
        var barWidth = width - 5 - 2 - TextWidth.width(right)
        if barWidth < 10 {
            right = "  " + (TopText.percent(current, of: limit) ?? "")
            barWidth = width - 5 - 2 - TextWidth.width(right)
        }
        guard barWidth >= 4 else { line.add(right); return line }
        func column(_ v: Double?) -> Int? {
            guard let v, v.isFinite, v >= 0 else { return nil }
            return min(barWidth - 1, Int(min(v / limit, 1) * Double(barWidth)))
        }
        let filled = Int((min(max(fraction, 0), 1) * Double(barWidth)).rounded())
        let maxColumn = column(windowMaxMemory)
        let peakColumn = column(m.interval_peak_bytes)
        line.add("[")
        for c in 0..<barWidth {
            if c == maxColumn { line.add(glyphs.windowMax, .bold) } else if c == peakColumn { line.add(glyphs.intervalPeak, .bold) } else if c < filled {
                line.add(glyphs.barFull, .color(color))
            } else { line.add(glyphs.barEmpty, .dim) }
        }
        line.add("]")
        line.add(right, fraction >= 0.9 ? .color(.red, bold: true) : .plain)
        return merged(line)
    }

    /// The window's largest memory reading: interval peaks where the daemon has them.
    var windowMaxMemory: Double? {
        guard let fields = view.window?.fields else { return nil }
        let values = [fields["memory_interval_peak_bytes"]?.max, fields["memory_current_bytes"]?.max].compactMap { $0 }
        return values.max()
    }

    var windowLabel: String {
        TopText.window(view.windowSeconds) + (view.window.map { $0.window.covered ? "" : " (partial)" } ?? "")
    }

    func memoryDetail() -> Line {
        guard let m = snapshot?.memory else { return Line() }
        let kills = m.oom_kills.map(wholeText) ?? "n/a"
        var recent = 0.0
        if let stats = view.window?.fields["memory_oom_kills"], let hi = stats.max, let lo = stats.min { recent = hi - lo }
        let bound = m.interval_peak_exact == false ? " (lower bound)" : ""
        let short = TopText.window(view.windowSeconds)
        func line(_ peak: String, _ bound: String, _ working: String?, _ oom: String, _ inWindow: String, label: String) -> Line {
            var line = Line("     ")
            line.add(glyphs.windowMax, .bold)
            line.add(" \(label) max \(TopText.bytes(windowMaxMemory))  ")
            line.add(glyphs.intervalPeak, .bold)
            line.add(" \(peak) \(TopText.bytes(m.interval_peak_bytes))\(bound)  " + (working.map { "\($0) \(TopText.bytes(m.working_set_bytes))  " } ?? ""))
            if recent > 0 {
                line.add("\(oom) \(kills) (+\(wholeText(recent))\(inWindow))", .color(.red, bold: true))
            } else {
                line.add("\(oom) \(kills)")
            }
            return line
        }
        let inWindow = " in \(TopText.window(view.windowSeconds))"
        return fitting([line("interval peak", bound, "working set", "OOM kills", inWindow, label: windowLabel),
                        line("interval peak", "", "working set", "OOM kills", inWindow, label: windowLabel),
                        line("interval peak", "", "working set", "OOM kills", inWindow, label: short),
                        line("peak", "", "ws", "OOM", "", label: windowLabel),
                        line("peak", "", "ws", "OOM", "", label: short),
                        line("peak", "", nil, "OOM", "", label: short)])
    }

    func limit() -> Line {
        guard let m = snapshot?.memory else { return Line() }
        var text = "     limit "
        switch m.limit_source {
        case "host": text += "the host's memory (no cgroup limit)"
        case let source?: text += "from \(source)"
        case nil: text += "n/a" + (snapshot?.unavailable["memory_limit_bytes"].map { ": \($0)" } ?? "")
        }
        let peak = glyphs.separator + "lifetime peak \(TopText.bytes(m.peak_bytes))"
        let hits = m.limit_hits.map { glyphs.separator + "limit hits \(wholeText($0))" } ?? ""
        // A leak seen early (the daemon's memory_growth trend): first, in colour.
        guard let t = m.time_to_limit_seconds, t.isFinite else {
            return fitting([Line(text + peak + hits, .dim), Line(text + peak, .dim), Line(text, .dim)])
        }
        func line(_ rest: String) -> Line {
            var l = Line("     limit reached in \(TopText.duration(t)) at this growth", .color(.yellow, bold: true))
            l.add(glyphs.separator + String(text.dropFirst(11)) + rest, .dim)
            return l
        }
        return fitting([line(peak + hits), line(peak), line("")])
    }

    func cpu() -> Line {
        var line = Line("cpu  ", .bold)
        guard let c = snapshot?.cpu else { return line }
        line.add("tree \(TopText.cores(c.tree_cores))  cgroup \(TopText.cores(c.cgroup_cores)) cores  ")
        if let q = c.limit_cores {
            let used = TopText.percent(c.cgroup_cores, of: q).map { " (\($0) used)" } ?? ""
            line.add("quota \(TopText.cores(q))\(used)  ")
        } else {
            line.add("no quota  ")
        }
        if let t = c.throttled_fraction {
            line.add("throttled \(TopText.percent(t, of: 1) ?? "n/a")", t > 0.25 ? .color(.red, bold: true) : t > 0 ? .color(.yellow) : .plain)
        }
        return line
    }

    func spark(memory: Bool) -> Line {
        var line = Line(TextWidth.pad(" " + TopText.window(view.windowSeconds), TopScreen.sparkLabelColumns), .dim)
        let room = TopScreen.sparkRoom(width: width)
        guard let series = view.series, let s = snapshot,
              series.geometry == SparkGeometry(windowSeconds: view.windowSeconds, room: room, intervalSeconds: s.interval_seconds) else {
            line.add(snapshot == nil ? "" : "loading" + glyphs.ellipsis, .dim)
            return line
        }
        var last = series.newest ?? 0
        if let at = s.time_unix_ns { last = max(last, series.geometry.index(ofSampleAt: at)) }
        let columns = series.columns(endingAt: last)
        let values = columns.map { memory ? $0?.memoryMax : $0?.cpuAverage }
        let present = values.compactMap { $0 }
        let high = present.max() ?? 0
        if memory {
            // From the window's lowest to its highest value, so a leak or a spike shows; a
            // change of less than 1% is drawn flat (allocator noise is not a trend).
            let low = present.min() ?? 0
            let flat = high - low < 0.01 * high
            line.add(Sparkline.text(values, low: low, high: flat ? low : high, glyphs: glyphs), .color(.cyan))
            line.add(flat ? " \(glyphs.about) \(TopText.bytes(high))" : " \(TopText.bytes(low))\(glyphs.rangeDash)\(TopText.bytes(high))", .dim)
        } else {
            // From 0 cores; below a tenth of a core the line stays low (idle is idle).
            line.add(Sparkline.text(values, low: 0, high: max(high, 0.1), glyphs: glyphs), .color(.magenta))
            line.add(" max \(TopText.cores(high)) cores", .dim)
        }
        return line
    }

    func events() -> [Line]? {
        guard let recent = view.events else { return nil }
        var lines = [Line("events", .bold)]
        if recent.newestFirst.isEmpty {
            lines[0].add("  none yet", .dim)
            return lines
        }
        lines[0].add("  newest first", .dim)
        for e in recent.newestFirst.prefix(TopScreen.eventLines) {
            var age = "  "
            if let at = e.time_unix_ns, let sampled = snapshot?.time_unix_ns {
                age += TextWidth.padLeft(TopText.duration(TopText.seconds(from: at, to: sampled)) + " ago", 10)
            } else {
                age += TextWidth.pad(e.time, 10)
            }
            var line = Line(age + "  ", .dim)
            let style: Style
            switch e.kind {
            case "oom_kill": style = .color(.red, bold: true)
            case "memory_high", "limit_hit", "memory_growth", "sampler_stall", "target_lost": style = .color(.yellow)
            default: style = .plain
            }
            line.add(TextWidth.pad(e.kind, 19), style)
            line.add(" " + e.message)
            lines.append(line)
        }
        return lines
    }

    static let columns = (mark: 2, pid: 8, role: 8, rss: 11, cpu: 7)

    func table() -> [Line] {
        let c = Self.columns
        var heading = Line(String(repeating: " ", count: c.mark) + TextWidth.pad("PID", c.pid) + TextWidth.pad("ROLE", c.role)
                           + TextWidth.padLeft("RSS", c.rss - 1) + " " + TextWidth.padLeft("CPU", c.cpu - 1) + "  COMMAND", .inverse)
        let sortText = "sort: \(view.sort.rawValue) "
        let gap = width - heading.width - TextWidth.width(sortText)
        if gap >= 2 { heading.add(String(repeating: " ", count: gap) + sortText, .inverse) }
        var lines = [heading]
        let rows = view.sort.sorted(view.table.rows)
        if rows.isEmpty {
            lines.append(Line("  no processes" + (snapshot.map { $0.target.found ? "" : " (no target)" } ?? ""), .dim))
        }
        for r in rows {
            let mark: String
            let style: Style
            switch r.mark {
            case .new: (mark, style) = (glyphs.newMark, .color(.green, bold: true))
            case .gone: (mark, style) = (glyphs.goneMark, .dim)
            case .none: (mark, style) = (" ", .plain)
            }
            var line = Line(TextWidth.pad(mark, c.mark), style)
            line.add(TextWidth.pad(String(r.pid), c.pid) + TextWidth.pad(r.role, c.role), style)
            line.add(TextWidth.padLeft(TopText.bytes(r.rssBytes), c.rss - 1) + " ", style)
            line.add(TextWidth.padLeft(r.mark == .gone ? "gone" : TopText.cores(r.cpuCores), c.cpu - 1) + "  ", style)
            let room = width - line.width
            line.add(TextWidth.fit(r.cmdline, room, ellipsis: glyphs.ellipsis), r.mark == .none ? .plain : style)
            lines.append(line)
        }
        return lines
    }

    func keys() -> Line {
        var line = Line("q", .bold)
        line.add(" quit  ", .dim)
        line.add("w", .bold)
        line.add(" window \(TopText.window(view.windowSeconds))  ", .dim)
        line.add("s", .bold)
        line.add(" sort \(view.sort.rawValue)", .dim)
        return spread(line, Line(view.socketPath, .dim))
    }

    /// Adjacent spans of one style as one (fewer, longer spans).
    func merged(_ line: Line) -> Line {
        var out = Line()
        for span in line.spans {
            if let last = out.spans.last, last.style == span.style {
                out.spans[out.spans.count - 1].text += span.text
            } else {
                out.spans.append(span)
            }
        }
        return out
    }
}
