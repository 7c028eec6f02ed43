import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM/SIGINT/SIGHUP as an async stream (the default actions are turned off).
public final class SignalStream: Sendable {
    public let stream: AsyncStream<Int32>
    private let sources: Mutex<[any DispatchSourceSignal]>

    public init(signals: [Int32]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        var made: [any DispatchSourceSignal] = []
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            made.append(source)
        }
        sources = Mutex(made)
    }
}
