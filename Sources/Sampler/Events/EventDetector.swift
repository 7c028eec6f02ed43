import SampleModel

/// Turns consecutive samples into events. Pure: it sees only the samples (and their detail) and
/// the loop's interval, keeps what it must remember between them, and reads nothing else.
/// The sampling loop calls `observe` once per sample, on the sampler's queue.
///
/// What it remembers, and why:
/// - a worker gone in one sample is held one sample: a new worker in the same or the next
///   sample makes the two one `worker_replaced`; otherwise it is a `process_exit`;
/// - an OOM-kill counter that rose with no process of the tree dying is held until one dies, for
///   at most two samples or two seconds, whichever is longer: the counter rises when the victim
///   is chosen, and freeing a large process takes a while. A process is dying when it vanishes,
///   is a zombie, or shows RSS 0 (the OOM reaper has emptied it); one named is not named again.
///   If none dies in time, the victim was outside the tree;
/// - `memory_high`'s run of samples and whether it is raised (hysteresis);
/// - when the limit-hit counter last rose (one `limit_hit` per episode);
/// - the memory trends (`GrowthWatch`).
public struct EventDetector {
    public private(set) var settings: EventSettings
    /// A struct, not a tuple: replacing a tuple of these goes through generic value witnesses
    /// on every sample.
    private struct Previous {
        var sample: Sample
        var detail: SampleDetail
    }
    private var previous: Previous?
    /// The previous sample's processes that had not exited.
    private var live: [SampleDetail.Process] = []
    private var heldExits: [EventProcess] = []
    private var heldOOM: HeldOOM?
    private var highRun = 0
    private var highSince: UInt64?
    private var lastLimitHitMono: UInt64?
    private var growth: GrowthWatch
    /// The interval the previous sample was taken at (a reload may change it).
    private var previousIntervalNanos: UInt64 = 0

    /// Live processes seen with RSS 0 (counted as dying once), and victims already named.
    private var emptied = Set<ProcessChanges.Key>()
    private var named = Set<ProcessChanges.Key>()

    private struct HeldOOM {
        var kills: UInt64
        /// When the counter rose (monotonic), for the attribution's deadline.
        var since: UInt64
        /// The sample just before the counter rose.
        var before: Sample
        var beforeDetail: SampleDetail
    }

    public init(settings: EventSettings = EventSettings()) {
        self.settings = settings
        growth = GrowthWatch(windowNanos: settings.growthWindowNanos)
    }

    /// New thresholds (a configuration reload), keeping what was seen: a run towards
    /// `memory_high`, a held exit. A new growth window starts its trends over.
    public mutating func apply(_ settings: EventSettings) {
        if settings.growthWindowNanos != self.settings.growthWindowNanos {
            growth = GrowthWatch(windowNanos: settings.growthWindowNanos)
        }
        self.settings = settings
    }

    /// Seconds until the working set reaches the limit at its current rate; nil unless it is
    /// growing (see `MemoryTrend`).
    public var timeToLimitSeconds: Double? { growth.timeToLimitSeconds }

    /// The events between the previous sample and this one, in the order they are best read:
    /// a stall first, then OOM kills, the target, processes, the limit, memory levels and trend.
    /// `departed`: the OOM-kill count of the cgroup the target just left (`DepartedCgroupProbe`),
    /// which this sample no longer reads.
    public mutating func observe(_ sample: Sample, _ detail: SampleDetail, intervalNanos: UInt64,
                                 departed: DepartedCgroup? = nil) -> [EventRecord] {
        var events: [EventRecord] = []
        func event(_ kind: EventKind) -> EventRecord {
            EventRecord(kind: kind, wallNanos: sample.wallNanos, monoNanos: sample.monoNanos,
                        sampleSequence: sample.sequence, generation: sample.generation)
        }
        defer {
            previous = Previous(sample: sample, detail: detail)
            // Shares the sample's array (no copy) unless a process has exited or shows no memory.
            var next = detail.processes.contains { $0.exited } ? detail.processes.filter { !$0.exited } : detail.processes
            // A process being killed can be read after the OOM reaper freed its memory and before
            // it is a zombie: RSS 0. What it had before is its last RSS (a live user process
            // always has some).
            if next.contains(where: { $0.rssBytes == 0 }) {
                for i in next.indices where next[i].rssBytes == 0 {
                    let key = ProcessChanges.Key(next[i])
                    if let before = live.first(where: { ProcessChanges.Key($0) == key }) { next[i].rssBytes = before.rssBytes }
                }
            }
            live = next
            previousIntervalNanos = intervalNanos
        }
        guard let previous else {
            if detail.target.found { events.append(targetFound(event(.targetFound), detail)) }
            _ = growth.observe(sample, detail, settings: settings)
            return events
        }
        let before = previous.sample, beforeDetail = previous.detail

        // A stall: the gap between two samples, against the longer interval when a reload just
        // shortened it (the last tick at the old interval is not late).
        let gap = sample.monoNanos &- before.monoNanos
        let interval = max(intervalNanos, previousIntervalNanos)
        if interval > 0, Double(gap) > settings.stallAfterIntervals * Double(interval) {
            var e = event(.samplerStall)
            e.durationNanos = gap
            e.count = (gap + interval / 2) / interval - 1
            events.append(e)
        }

        // The target.
        let wasFound = beforeDetail.target.found, isFound = detail.target.found
        let oldRoot = live.first { $0.role == .master }
        let newRoot = detail.processes.first { $0.role == .master }
        let sameRoot = wasFound && isFound && oldRoot.map(ProcessChanges.Key.init) == newRoot.map(ProcessChanges.Key.init)
            && beforeDetail.target.rootPid == detail.target.rootPid
        var changes = ProcessChanges()
        // Told after the OOM kills: a killed root is the cause, its loss the effect.
        var targetEvents: [EventRecord] = []
        if wasFound && !isFound {
            changes.gone = live
            flushHeldExits(into: &events, event)
            var e = event(.targetLost)
            e.pid = beforeDetail.target.rootPid
            e.mode = beforeDetail.target.mode
            e.reason = detail.target.message
            e.setProcesses(live.map { EventProcess($0, lifetimeNanos: lifetime($0, detail)) })
            targetEvents.append(e)
        } else if !wasFound && isFound {
            targetEvents.append(targetFound(event(.targetFound), detail))
        } else if wasFound && isFound && !sameRoot {
            changes = ProcessChanges(before: live, after: [])
            flushHeldExits(into: &events, event)
            targetEvents.append(targetChanged(event(.targetChanged), from: beforeDetail, oldRoot, to: detail, newRoot))
        } else if wasFound && isFound {
            if before.generation != sample.generation {
                targetEvents.append(targetChanged(event(.targetChanged), from: beforeDetail, oldRoot, to: detail, newRoot))
            }
            changes = ProcessChanges(before: live, after: detail.processes)
        }

        // OOM kills, attributed to what vanished.
        let sameCgroup = beforeDetail.cgroup != nil && beforeDetail.cgroup == detail.cgroup
        var kills = sameCgroup ? rise(.memoryOOMKills, before, sample) : 0
        if !sameCgroup, let departed, departed.path == beforeDetail.cgroup?.path,
           let old = before.values[.memoryOOMKills], Double(departed.oomKills) > old {
            kills = UInt64(Double(departed.oomKills) - old)
        }
        let dying = dyingProcesses(changes, detail)
        if var held = heldOOM {
            held.kills += kills
            let deadline = max(2 * interval, Self.attributionNanos)
            if !dying.isEmpty || sample.monoNanos &- held.since >= deadline {
                events.append(oomKill(event(.oomKill), kills: held.kills, before: held.before, held.beforeDetail, victims: dying, detail))
                heldOOM = nil
            } else {
                heldOOM = held
            }
        } else if kills > 0 {
            if dying.isEmpty {
                heldOOM = HeldOOM(kills: kills, since: sample.monoNanos, before: before, beforeDetail: beforeDetail)
            } else {
                events.append(oomKill(event(.oomKill), kills: kills, before: before, beforeDetail, victims: dying, detail))
            }
        }

        events += targetEvents

        // The root and its workers (children the model spawns come and go: not events).
        if sameRoot {
            processEvents(changes, detail, into: &events, event)
        }

        // The limit.
        let hits = sameCgroup ? rise(.memoryLimitHits, before, sample) : 0
        if hits > 0 {
            if lastLimitHitMono.map({ sample.monoNanos &- $0 >= settings.limitHitQuietNanos }) ?? true {
                var e = memoryContext(event(.limitHit), sample, detail)
                e.count = hits
                events.append(e)
            }
            lastLimitHitMono = sample.monoNanos
        }
        if wasFound == isFound, let oldLimit = before.values[.memoryLimit], let newLimit = sample.values[.memoryLimit],
           oldLimit != newLimit || beforeDetail.limitSource != detail.limitSource {
            var e = memoryContext(event(.limitChanged), sample, detail)
            e.previousLimitBytes = Self.bytes(oldLimit)
            e.previousLimitSource = beforeDetail.limitSource
            events.append(e)
        }

        memoryHigh(sample, detail, into: &events, event)
        if growth.observe(sample, detail, settings: settings) {
            events.append(growth.event(memoryContext(event(.memoryGrowth), sample, detail), detail))
        }
        return events
    }

    /// How long an OOM kill waits for its victim to die, at least (and two samples).
    static let attributionNanos: UInt64 = 2_000_000_000

    // MARK: - Pieces

    /// The tree's processes dying in this interval, as last seen alive: gone (vanished or zombie)
    /// or emptied by the OOM reaper (RSS 0 while still listed). Victims already named are left out.
    private mutating func dyingProcesses(_ changes: ProcessChanges, _ detail: SampleDetail) -> [SampleDetail.Process] {
        var dying = changes.gone
        for p in detail.processes where !p.exited && p.rssBytes == 0 {
            let key = ProcessChanges.Key(p)
            if emptied.insert(key).inserted, let before = live.first(where: { ProcessChanges.Key($0) == key }) { dying.append(before) }
        }
        if !emptied.isEmpty || !named.isEmpty {
            // Forget processes no longer listed (their pids may come back as others).
            let listed = Set(detail.processes.map(ProcessChanges.Key.init))
            emptied = emptied.filter(listed.contains)
            let alreadyNamed = named
            named = named.filter(listed.contains)
            dying.removeAll { alreadyNamed.contains(ProcessChanges.Key($0)) }
        }
        return dying
    }

    /// How much a cumulative counter rose; 0 when it fell (the cgroup was recreated: a new count).
    private func rise(_ metric: Metric, _ before: Sample, _ after: Sample) -> UInt64 {
        guard let old = before.values[metric], let new = after.values[metric], new > old else { return 0 }
        return UInt64(exactly: new - old) ?? 0
    }

    /// A metric's value as whole bytes (the kernel's are whole already).
    static func bytes(_ value: Double?) -> UInt64? {
        guard let value, value >= 0, value < 1.8e19 else { return nil }
        return UInt64(value.rounded())
    }

    private func lifetime(_ p: SampleDetail.Process, _ detail: SampleDetail) -> UInt64? {
        guard let start = p.startNanos, let now = detail.bootNanos, now >= start else { return nil }
        return now - start
    }

    private func memoryContext(_ e: EventRecord, _ sample: Sample, _ detail: SampleDetail) -> EventRecord {
        var e = e
        e.memoryCurrentBytes = Self.bytes(sample.values[.memoryCurrent])
        e.memoryWorkingSetBytes = Self.bytes(sample.values[.memoryWorkingSet])
        e.memoryLimitBytes = Self.bytes(sample.values[.memoryLimit])
        e.limitSource = detail.limitSource
        return e
    }

    private func targetFound(_ e: EventRecord, _ detail: SampleDetail) -> EventRecord {
        var e = e
        e.pid = detail.target.rootPid
        e.mode = detail.target.mode
        e.setProcesses(detail.processes.filter { !$0.exited }.map { EventProcess($0) })
        return e
    }

    private func targetChanged(_ e: EventRecord, from oldDetail: SampleDetail, _ oldRoot: SampleDetail.Process?,
                               to newDetail: SampleDetail, _ newRoot: SampleDetail.Process?) -> EventRecord {
        var e = e
        e.previousPid = oldDetail.target.rootPid
        e.pid = newDetail.target.rootPid
        e.previousMode = oldDetail.target.mode
        e.mode = newDetail.target.mode
        e.setProcesses([oldRoot, newRoot].compactMap { $0 }.map { EventProcess($0) })
        return e
    }

    private mutating func oomKill(_ e: EventRecord, kills: UInt64, before: Sample, _ beforeDetail: SampleDetail,
                         victims: [SampleDetail.Process], _ detail: SampleDetail) -> EventRecord {
        var e = memoryContext(e, before, beforeDetail)
        e.count = kills
        for v in victims { named.insert(ProcessChanges.Key(v)) }
        // The largest first: the likeliest victim (the OOM killer picks by memory).
        let sorted = victims.sorted { $0.rssBytes > $1.rssBytes }
        e.setProcesses(sorted.map { EventProcess($0, lifetimeNanos: lifetime($0, detail)) })
        return e
    }

    private mutating func flushHeldExits(into events: inout [EventRecord], _ event: (EventKind) -> EventRecord) {
        for exit in heldExits {
            var e = event(.processExit)
            e.setProcesses([exit])
            events.append(e)
        }
        heldExits = []
    }

    private mutating func processEvents(_ changes: ProcessChanges, _ detail: SampleDetail, into events: inout [EventRecord],
                                        _ event: (EventKind) -> EventRecord) {
        guard !changes.isEmpty || !heldExits.isEmpty else { return }
        let counted: (SampleDetail.Process) -> Bool = { $0.role == .master || $0.role == .worker }
        let exits = changes.gone.filter(counted).map { EventProcess($0, lifetimeNanos: lifetime($0, detail)) }
        let starts = changes.new.filter(counted).map { EventProcess($0) }
        // Last sample's exits pair first: they have waited longest.
        let earlier = WorkerPairing.pair(exits: heldExits, starts: starts)
        let now = WorkerPairing.pair(exits: exits, starts: earlier.starts)
        heldExits = []
        for exit in earlier.exits {
            var e = event(.processExit)
            e.setProcesses([exit])
            events.append(e)
        }
        for (old, new) in earlier.pairs + now.pairs {
            var e = event(.workerReplaced)
            e.previousPid = old.pid
            e.pid = new.pid
            e.setProcesses([old, new])
            events.append(e)
        }
        for exit in now.exits {
            if exit.role == .worker { heldExits.append(exit); continue }
            var e = event(.processExit)
            e.setProcesses([exit])
            events.append(e)
        }
        for start in now.starts {
            var e = event(.processStart)
            e.pid = start.pid
            e.setProcesses([start])
            events.append(e)
        }
    }

    private mutating func memoryHigh(_ sample: Sample, _ detail: SampleDetail, into events: inout [EventRecord],
                                     _ event: (EventKind) -> EventRecord) {
        let metric: Metric = settings.memoryHighMetric == .workingSet ? .memoryWorkingSet : .memoryCurrent
        guard let value = sample.values[metric], let limit = sample.values[.memoryLimit], limit > 0 else { return }
        func described(_ kind: EventKind, _ fraction: Double) -> EventRecord {
            var e = event(kind)
            if metric == .memoryWorkingSet { e.memoryWorkingSetBytes = Self.bytes(value) } else { e.memoryCurrentBytes = Self.bytes(value) }
            e.memoryLimitBytes = Self.bytes(limit)
            e.limitSource = detail.limitSource
            e.thresholdFraction = fraction
            return e
        }
        if let since = highSince {
            guard value < settings.clearFraction * limit else { return }
            var e = described(.memoryHighCleared, settings.clearFraction)
            e.durationNanos = sample.monoNanos &- since
            events.append(e)
            highSince = nil
            highRun = 0
            return
        }
        highRun = value >= settings.memoryHighFraction * limit ? highRun + 1 : 0
        if highRun >= settings.memoryHighSamples {
            var e = described(.memoryHigh, settings.memoryHighFraction)
            e.count = UInt64(highRun)
            events.append(e)
            highSince = sample.monoNanos
        }
    }
}
