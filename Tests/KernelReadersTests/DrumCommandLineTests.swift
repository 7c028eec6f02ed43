import Testing
@testable import KernelReaders

@Suite struct DrumCommandLineTests {
    // The argv shapes real DRUM 1.18.1 takes (seen with datarobot-drum from PyPI).
    static let venv = "/var/cache/drum-monitor/drum-venv"

    @Test func werkzeugServer() {
        let argv = ["\(Self.venv)/bin/python", "\(Self.venv)/bin/drum", "server", "--code-dir", "/m", "--address", "127.0.0.1:8080"]
        #expect(DrumCommandLine.classify(argv) == .werkzeug)
    }

    @Test func drumAsArgv0() {
        #expect(DrumCommandLine.classify(["drum", "server", "--code-dir", "/m"]) == .werkzeug)
    }

    @Test func gunicornAfterExec() {
        let argv = ["\(Self.venv)/bin/python", "-m", "gunicorn", "-c",
                    "\(Self.venv)/lib/python3.11/site-packages/datarobot_drum/drum/gunicorn/gunicorn.conf.py", "app:app"]
        #expect(DrumCommandLine.classify(argv) == .gunicorn)
    }

    @Test func gunicornRecognisedByEnvironmentWhenArgvDoesNotSayDrum() {
        let argv = ["python", "-m", "gunicorn", "-c", "/custom.conf.py", "app:app"]
        #expect(DrumCommandLine.classify(argv) == nil)
        #expect(DrumCommandLine.classify(argv) { "drum server --code-dir /m" } == .gunicorn)
    }

    @Test func moduleLaunch() {
        #expect(DrumCommandLine.classify(["python3", "-m", "datarobot_drum.drum.main", "server", "--code-dir", "/m"]) == .werkzeug)
        #expect(DrumCommandLine.classify(["python3", "-m", "datarobot_drum.drum.entry_point", "server"]) == .werkzeug)
        #expect(DrumCommandLine.classify(["python3", "-m", "datarobot_drum.drum.main", "score"]) == nil)
    }

    @Test func uvicorn() {
        #expect(DrumCommandLine.classify(["python", "-m", "uvicorn", "datarobot_drum.drum.fastapi.app:app"]) == .uvicorn)
    }

    @Test(arguments: [["bash"], ["python", "app.py"], ["drum", "score"], ["/usr/bin/drummer", "server"], ["python", "-m", "gunicorn", "app:app"], []])
    func notDrum(_ argv: [String]) {
        #expect(DrumCommandLine.classify(argv) == nil)
    }
}
