#if canImport(Glibc)
import Glibc
#endif

/// The terminal as `top` uses it: keys read one by one without echo (and Ctrl-C, Ctrl-Z as
/// keys), the alternate screen, no cursor. `restore()` puts back what was there; a crash
/// (a trap, a fault) restores it too before the process dies, so the shell is never left raw.
final class TerminalMode {
    private let input: Int32
    private let output: Int32
    private var saved = termios()
    /// Whether keys can be read (the input is the terminal); else Ctrl-C still stops the view.
    let readsKeys: Bool
    private(set) var active = false

    init(input: Int32 = 0, output: Int32 = 1) {
        self.input = input
        self.output = output
        readsKeys = isatty(input) == 1 && tcgetattr(input, &saved) == 0
        CrashRestore.arm(readsKeys ? saved : nil, input: input, output: output)
    }

    func enter() {
        if readsKeys {
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
            raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
            raw.c_cc.6 = 1   // VMIN: a read returns once a byte is there (poll says when)
            raw.c_cc.5 = 0   // VTIME
            tcsetattr(input, TCSAFLUSH, &raw)
        }
        Terminal.write(output, TerminalBytes.enter)
        active = true
    }

    func restore() {
        guard active else { return }
        Terminal.write(output, TerminalBytes.leave)
        if readsKeys { tcsetattr(input, TCSAFLUSH, &saved) }
        active = false
    }

    deinit { restore() }
}

/// Facts about the terminal and writing to it.
enum Terminal {
    /// Columns and rows of the terminal on `fd`, nil when it is not one.
    static func size(_ fd: Int32 = 1) -> (width: Int, height: Int)? {
        var ws = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 else { return nil }
        return (Int(ws.ws_col), Int(ws.ws_row))
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// All of `text`, retrying short writes; gives up quietly on an error (a closed terminal).
    static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { return }
            done += n
        }
    }
}

/// Restores the terminal from a fatal signal's handler (only async-signal-safe calls, on data
/// set up beforehand), then hands the signal to the handler that was there before (Swift's
/// backtracer prints its report on the normal screen) or to the default action.
private enum CrashRestore {
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var hasSaved = false
    nonisolated(unsafe) static var input: Int32 = -1
    nonisolated(unsafe) static var output: Int32 = -1
    nonisolated(unsafe) static var armed = false
    /// The actions before ours, indexed by signal number.
    nonisolated(unsafe) static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 32)
    static let leave: StaticString = "\u{1b}[0m\u{1b}[?7h\u{1b}[?25h\u{1b}[?1049l"
    static let fatal = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]

    static func arm(_ termios: termios?, input: Int32, output: Int32) {
        if let termios { saved = termios }
        hasSaved = termios != nil
        Self.output = output
        Self.input = input
        // Once: a second TerminalMode must not save our own handler as the one before.
        guard !armed else { return }
        armed = true
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            _ = Glibc.write(CrashRestore.output, CrashRestore.leave.utf8Start, CrashRestore.leave.utf8CodeUnitCount)
            if CrashRestore.hasSaved { _ = tcsetattr(CrashRestore.input, TCSANOW, &CrashRestore.saved) }
            if signal >= 0, signal < 32 { sigaction(signal, CrashRestore.previous + Int(signal), nil) } else { Glibc.signal(signal, SIG_DFL) }
            raise(signal)
        }
        for sig in fatal where sig < 32 {
            var old = sigaction()
            sigaction(sig, nil, &old)
            previous[Int(sig)] = old
            sigaction(sig, &action, nil)
        }
    }
}
