// The kept-alive client's reader, on exact bytes: answers split anywhere, framing it refuses
// rather than guesses, and bounds on the head and the body.
import Testing
@testable import DaemonCore

@Suite struct ResponseReaderTests {
    let answer = Array("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\ncache-control: no-store\r\n\r\n{\"a\":1}".utf8)

    @Test func wholeAndByteByByte() throws {
        var reader = ResponseReader(maxBody: 100)
        #expect(try reader.feed(answer) == .done(status: 200, body: Array("{\"a\":1}".utf8), close: false))
        var slow = ResponseReader(maxBody: 100)
        for b in answer.dropLast() { #expect(try slow.feed([b]) == .needMore) }
        #expect(try slow.feed([answer.last!]) == .done(status: 200, body: Array("{\"a\":1}".utf8), close: false))
    }

    @Test func closeAndHTTP10() throws {
        var a = ResponseReader(maxBody: 100)
        #expect(try a.feed(Array("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".utf8))
                == .done(status: 503, body: Array("{}".utf8), close: true))
        var b = ResponseReader(maxBody: 100)
        #expect(try b.feed(Array("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n".utf8)) == .done(status: 200, body: [], close: true))
        var c = ResponseReader(maxBody: 100)
        #expect(try c.feed(Array("HTTP/1.0 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n".utf8)) == .done(status: 200, body: [], close: false))
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\n\r\n", "no content-length"),
        ("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "transfer-encoding"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 101\r\n\r\n", "more than the 100 allowed"),
        ("HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "bad content-length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 1 2\r\n\r\n", "bad content-length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 99999999999999999999\r\n\r\n", "bad content-length"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n", "two different content-lengths"),
        ("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nab", "1 bytes after the answer's body"),
        ("HTTP/2 200 OK\r\ncontent-length: 0\r\n\r\n", "bad status line"),
        ("HTTP/1.1 2000 OK\r\ncontent-length: 0\r\n\r\n", "bad status line"),
        ("\u{1b}[2J\r\n\r\n", "bad status line"),
        ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line without ':'"),
    ])
    func refused(_ text: String, _ why: String) {
        var fresh = ResponseReader(maxBody: 100)
        do {
            _ = try fresh.feed(Array(text.utf8))
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(why), "\(error.description)")
        }
    }

    /// A head that never ends is refused once it passes the bound, not read forever.
    @Test func headBound() {
        var reader = ResponseReader(maxBody: 100)
        let line = Array("x-filler: \(String(repeating: "a", count: 1000))\r\n".utf8)
        var refused = false
        #expect((try? reader.feed(Array("HTTP/1.1 200 OK\r\n".utf8))) == .needMore)
        for _ in 0..<40 {
            do { _ = try reader.feed(line) } catch {
                refused = true
                #expect(error.description.contains("head larger than"))
                break
            }
        }
        #expect(refused)
    }
}
