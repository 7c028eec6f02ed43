// Wedges the daemon's sampler, and only it, for real: the thread caught in the middle of a tick
// (reading the watched process's stat) is held in a ptrace-stop, so the sampler's serial queue
// makes no progress while every other thread (the query server, the supervision timer) runs on.
// (A FIFO pidfile used to wedge it, until the pidfile was hardened: issue 11 item 3.)
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

final class SamplerWedge {
    private static let seize: Int = 0x4206, interrupt: Int = 0x4207, syscallStop: Int = 24, detach: Int = 17
    private static let traceSysGood = 1, wall: Int32 = 0x4000_0000
    /// ptrace(2) is variadic, which Swift cannot call; its integer arguments pass the same way.
    private typealias PtraceFunction = @convention(c) (Int, Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int
    private static let ptraceFunction: PtraceFunction? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "ptrace") else { return nil }
        return unsafeBitCast(symbol, to: PtraceFunction.self)
    }()

    let daemon: pid_t
    /// The sampler's thread, held stopped.
    private(set) var held: pid_t?

    /// Catches the thread that reads `/proc/<target>/stat` (the sampler, every tick) within
    /// `timeout` seconds and holds it; lets every other thread go. Must be released from the
    /// same thread (ptrace's tracer is a thread).
    init(daemon: pid_t, readingStatOf target: pid_t, timeout: Double = 10) throws {
        self.daemon = daemon
        let ptrace = try #require(Self.ptraceFunction, "no ptrace in libc")
        let statPath = "/proc/\(target)/stat"
        var traced: [pid_t] = []
        defer {
            // Every thread but the held one goes back to running.
            for tid in traced where tid != held { Self.release(tid, ptrace) }
        }
        for tid in Self.threads(of: daemon) where !(Self.comm(daemon, tid)?.hasPrefix("NIO-ELT") ?? true) {
            guard ptrace(Self.seize, tid, nil, UnsafeMutableRawPointer(bitPattern: Self.traceSysGood)) == 0 else { continue }
            traced.append(tid)
            _ = ptrace(Self.interrupt, tid, nil, nil)
            var status: Int32 = 0
            _ = waitpid(tid, &status, Self.wall)
            _ = ptrace(Self.syscallStop, tid, nil, nil)
        }
        try #require(!traced.isEmpty, "no daemon thread to trace (root needed)")
        let deadline = monotonicSeconds() + timeout
        while held == nil, monotonicSeconds() < deadline {
            for tid in traced {
                var status: Int32 = 0
                guard waitpid(tid, &status, Self.wall | WNOHANG) == tid else { continue }
                // A syscall entry or exit: /proc/PID/task/TID/syscall names it and its arguments.
                let fields = (readWholeFile("/proc/\(daemon)/task/\(tid)/syscall") ?? "").split(separator: " ")
                if fields.count > 1, fields[0] == "17", let fd = Int(fields[1].dropFirst(2), radix: 16),
                   Self.link("/proc/\(daemon)/fd/\(fd)") == statPath {
                    held = tid // pread64 of the target's stat: mid-tick
                    break
                }
                _ = ptrace(Self.syscallStop, tid, nil, nil)
            }
            if held == nil { usleep(200) }
        }
        try #require(held != nil, "no daemon thread read \(statPath) within \(timeout) s")
    }

    /// Lets the sampler go on.
    func release() {
        guard let tid = held, let ptrace = Self.ptraceFunction else { return }
        _ = ptrace(Self.detach, tid, nil, nil)
        held = nil
    }

    deinit { release() }

    /// Stops a traced thread (it may be running between syscall stops) and detaches it.
    private static func release(_ tid: pid_t, _ ptrace: PtraceFunction) {
        _ = ptrace(interrupt, tid, nil, nil)
        var status: Int32 = 0
        _ = waitpid(tid, &status, wall)
        _ = ptrace(detach, tid, nil, nil)
    }

    private static func threads(of pid: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { pid_t($0) }
    }

    private static func comm(_ pid: pid_t, _ tid: pid_t) -> String? {
        readWholeFile("/proc/\(pid)/task/\(tid)/comm")?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
