import Foundation

/// A DRUM-shaped Python process tree in a test cgroup, steered through command files:
/// `w<i>` holds "burn", "alloc N" (MiB), "spawn" (fork a `sleep`, its pid written to `g<i>`),
/// "unspawn" (kill and reap it), "exit" or nothing; `master` holds "exec".
/// The master replaces workers that exit and prints "ready PIDS…", "replaced OLD NEW".
public final class TestTree {
    public let control: URL
    public let process: TestProcess
    public private(set) var workers: [Int32] = []

    static let script = #"""
    import os, sys, time
    ctl, n = sys.argv[1], int(sys.argv[2])
    keep = []
    grandkids = []
    def cmd(name):
        try:
            with open(os.path.join(ctl, name)) as f: return f.read().strip()
        except FileNotFoundError: return ""
    def worker(i):
        while True:
            c = cmd("w%d" % i)
            if c == "burn":
                t = time.time() + 0.2
                while time.time() < t: pass
                continue
            if c == "exit": os._exit(0)
            if c == "spawn" and not grandkids:
                pid = os.fork()
                if pid == 0: os.execv("/bin/sleep", ["sleep", "600"])
                grandkids.append(pid)
                with open(os.path.join(ctl, "g%d.tmp" % i), "w") as f: f.write(str(pid))
                os.rename(os.path.join(ctl, "g%d.tmp" % i), os.path.join(ctl, "g%d" % i))
            if c == "unspawn" and grandkids:
                os.kill(grandkids[0], 9)
                os.waitpid(grandkids[0], 0)
                grandkids.clear()
            if c.startswith("alloc") and not keep:
                b = bytearray(int(c.split()[1]) << 20)
                for j in range(0, len(b), 4096): b[j] = 1
                keep.append(b)
            time.sleep(0.02)
    children = {}
    for i in range(n):
        pid = os.fork()
        if pid == 0: worker(i)
        children[pid] = i
    print("ready " + " ".join(str(p) for p in children), flush=True)
    while True:
        if cmd("master") == "exec":
            os.remove(os.path.join(ctl, "master"))
            os.execv(sys.executable, [sys.executable, "-c", "import time\nprint('execd', flush=True)\ntime.sleep(600)", "after-exec"])
        try: pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError: pid = 0
        if pid in children:
            i = children.pop(pid)
            open(os.path.join(ctl, "w%d" % i), "w").close()
            new = os.fork()
            if new == 0: worker(i)
            children[new] = i
            print("replaced %d %d" % (pid, new), flush=True)
        time.sleep(0.02)
    """#

    /// Starts the tree inside `cgroup` (nil: where the test runs) and waits for "ready".
    public init(workers: Int, in cgroup: TestCgroup?) throws {
        control = FileManager.default.temporaryDirectory.appendingPathComponent("drum-monitor-tree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: control, withIntermediateDirectories: true)
        let scriptFile = control.appendingPathComponent("tree.py")
        try Self.script.write(to: scriptFile, atomically: true, encoding: .utf8)
        let enter = cgroup.map { $0.enterCommand + " && " } ?? ""
        process = try TestProcess(shell: "\(enter)exec \(TestPython.executable) \(scriptFile.path) \(control.path) \(workers)")
        guard let line = process.readLine(), line.hasPrefix("ready") else {
            throw TreeError(message: "the test tree did not start")
        }
        self.workers = line.split(separator: " ").dropFirst().compactMap { Int32($0) }
    }

    public var master: Int32 { process.pid }

    public func command(_ file: String, _ text: String) throws {
        try text.write(to: control.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    /// The pid a worker spawned with "spawn", once it has written it.
    public func spawned(by worker: Int) -> Int32? {
        (try? String(contentsOf: control.appendingPathComponent("g\(worker)"), encoding: .utf8)).flatMap { Int32($0) }
    }

    /// Waits for the master's next line (e.g. "replaced OLD NEW").
    public func nextLine() -> String? { process.readLine() }

    deinit { try? FileManager.default.removeItem(at: control) }

    public struct TreeError: Error { public let message: String }
}
