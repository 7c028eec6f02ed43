import Testing
@testable import KernelReaders

@Suite struct DrumCommandLineTests {
    // The argv shapes real DRUM 1.18.1 takes (seen with datarobot-drum from PyPI).
    static let venv = "/var/cache/drum-monitor/drum-venv"

    @Test func werkzeugServer() {
        let argv = ["\(Self.venv)/bin/python", "\(Self.venv)/bin/drum", "server", "--code-dir", "/m", "--address", "127.0.0.1:8080"]
        #expect(DrumCommandLine.classifyByArgv(argv) == .werkzeug)
    }

    @Test func drumAsArgv0() {
        #expect(DrumCommandLine.classifyByArgv(["drum", "server", "--code-dir", "/m"]) == .werkzeug)
    }

    @Test func gunicornAfterExec() {
        let argv = ["\(Self.venv)/bin/python", "-m", "gunicorn", "-c",
                    "\(Self.venv)/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py", "app:app"]
        #expect(DrumCommandLine.classifyByArgv(argv) == .gunicorn)
    }

    @Test func gunicornRecognisedByEnvironmentWhenArgvDoesNotSayDrum() throws {
        let argv = ["python", "-m", "gunicorn", "-c", "/custom.conf.py", "app:app"]
        #expect(DrumCommandLine.classifyByArgv(argv) == nil)
        #expect(try DrumCommandLine.classify(argv) { $0 == DrumCommandLine.gunicornArgsVariable ? "drum server --code-dir /m" : nil } == .gunicorn)
        #expect(try DrumCommandLine.classify(argv) { $0 == DrumCommandLine.uvicornArgsVariable ? "drum server" : nil } == nil,
                "uvicorn's variable does not make gunicorn DRUM's")
    }

    @Test func moduleLaunch() {
        #expect(DrumCommandLine.classifyByArgv(["python3", "-m", "datarobot_drum.drum.main", "server", "--code-dir", "/m"]) == .werkzeug)
        #expect(DrumCommandLine.classifyByArgv(["python3", "-m", "datarobot_drum.drum.entry_point", "server"]) == .werkzeug)
        #expect(DrumCommandLine.classifyByArgv(["python3", "-m", "datarobot_drum.drum.main", "score"]) == nil)
    }

    @Test func uvicorn() {
        #expect(DrumCommandLine.classifyByArgv(["python", "-m", "uvicorn", "datarobot_drum.drum.fastapi.app:app"]) == .uvicorn)
    }

    // DRUM's planned FastAPI mode: it execs into uvicorn with DRUM_UVICORN_DRUM_ARGS set.
    static let uvicornMaster = ["/venv/bin/python", "-m", "uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8080", "--workers", "3"]
    static let spawnWorker = ["/venv/bin/python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)", "--multiprocessing-fork"]
    static let resourceTracker = ["/venv/bin/python", "-c", "from multiprocessing.resource_tracker import main;main(4)"]

    @Test func uvicornRecognisedByEnvironment() throws {
        #expect(DrumCommandLine.classifyByArgv(Self.uvicornMaster) == nil, "a plain uvicorn app is not DRUM (watch it by pid)")
        #expect(try DrumCommandLine.classify(Self.uvicornMaster) { $0 == DrumCommandLine.uvicornArgsVariable ? "drum server --code-dir /m" : nil } == .uvicorn)
        #expect(DrumCommandLine.classifyByArgv(["uvicorn", "app:app"]) == nil)
    }

    @Test func environmentErrorsAreNotNotDrum() throws {
        let denied = KernelFileError(path: "/proc/7/environ", kind: .open(errno: 13))
        #expect(throws: denied) { try DrumCommandLine.classify(Self.uvicornMaster) { _ throws(KernelFileError) in throw denied } }
        #expect(throws: denied) { try DrumCommandLine.classify(["python", "-m", "gunicorn", "app:app"]) { _ throws(KernelFileError) in throw denied } }
        // Not asked for what cannot matter: argv alone decides.
        #expect(try DrumCommandLine.classify(["python", "app.py"]) { _ throws(KernelFileError) in throw denied } == nil)
    }

    @Test func uvicornRoles() {
        let root: Int32 = 100
        #expect(DrumCommandLine.role(argv: Self.spawnWorker, ppid: root, rootPid: root, rootArgv: Self.uvicornMaster) == .worker)
        #expect(DrumCommandLine.role(argv: Self.resourceTracker, ppid: root, rootPid: root, rootArgv: Self.uvicornMaster) == .helper)
        #expect(DrumCommandLine.role(argv: Self.spawnWorker, ppid: 555, rootPid: root, rootArgv: Self.uvicornMaster) == .child,
                "a worker's own spawn child is not a worker")
        let werkzeug = ["python", "/venv/bin/drum", "server", "--code-dir", "/m"]
        #expect(DrumCommandLine.role(argv: Self.spawnWorker, ppid: root, rootPid: root, rootArgv: werkzeug) == .child,
                "a model's multiprocessing under werkzeug is the model's, not DRUM's workers")
        #expect(DrumCommandLine.role(argv: Self.resourceTracker, ppid: root, rootPid: root, rootArgv: werkzeug) == .helper)
        #expect(DrumCommandLine.role(argv: werkzeug, ppid: root, rootPid: root, rootArgv: werkzeug) == .worker)
        #expect(DrumCommandLine.role(argv: ["sleep", "5"], ppid: root, rootPid: root, rootArgv: werkzeug) == .child)
    }

    @Test(arguments: [["bash"], ["python", "app.py"], ["drum", "score"], ["/usr/bin/drummer", "server"], ["python", "-m", "gunicorn", "app:app"], []])
    func notDrum(_ argv: [String]) {
        #expect(DrumCommandLine.classifyByArgv(argv) == nil)
    }
}
