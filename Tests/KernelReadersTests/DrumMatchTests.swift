import Foundation
import Testing
import TestSupport
@testable import KernelReaders

/// The `match` setting's text, the shell words DRUM writes its arguments in, and the substring
/// search that compares them.
@Suite struct DrumMatchTests {
    @Test func theTwoFormsAndTheirPrefixes() throws {
        #expect(try DrumMatch.parse("--address 0.0.0.0:8081") == .commandLine("--address 0.0.0.0:8081"))
        #expect(try DrumMatch.parse("env:MODEL=fraud-v2") == .environment(name: "MODEL", value: "fraud-v2"))
        #expect(try DrumMatch.parse("env:EMPTY=") == .environment(name: "EMPTY", value: ""))
        #expect(try DrumMatch.parse("env:A=b=c") == .environment(name: "A", value: "b=c"))
        #expect(try DrumMatch.parse("argv:env:x") == .commandLine("env:x"))
        #expect(try DrumMatch.parse("argv:PORT=8081") == .commandLine("PORT=8081"))
        #expect(try DrumMatch.parse("--workers=4") == .commandLine("--workers=4"), "an option with = is command-line text")
        #expect(try DrumMatch.parse("/srv/models/a=b") == .commandLine("/srv/models/a=b"))
    }

    @Test func ambiguousAndMalformedTextIsRefusedSayingWhy() {
        func problem(_ text: String) -> String {
            do { _ = try DrumMatch.parse(text); return "accepted" } catch { return error.description }
        }
        #expect(problem("PORT=8081").contains("write env:PORT=8081 to match the environment, or argv:PORT=8081 to match the command line"))
        #expect(problem("env:1X=a").contains("env: must be followed by NAME=VALUE"))
        #expect(problem("env:NAME").contains("env: must be followed by NAME=VALUE"))
        #expect(problem("env:=x").contains("env: must be followed by NAME=VALUE"))
        #expect(problem("argv:").contains("argv: must be followed by"))
        #expect(problem("a\tb").contains("control characters") && problem("a\tb").contains("a\\tb"))
        #expect(problem(String(repeating: "x", count: 1025)).contains("at most 1024"))
        #expect(problem("") == "is empty")
    }

    @Test func textParsesBackToTheSameMatch() throws {
        for match: DrumMatch in [.commandLine("--address 0.0.0.0:8081"), .commandLine("env:x"), .commandLine("argv:x"),
                                 .commandLine("PORT=1"), .environment(name: "A", value: "b c")] {
            #expect(try DrumMatch.parse(match.text) == match, "\(match.text)")
        }
        #expect(DrumMatch.commandLine("--address x").text == "--address x", "plain text stays plain")
    }

    @Test func shellWordsAsShlexWritesThem() {
        func split(_ s: String) -> [String]? { ShellWords.split(Array(s.utf8)).map { $0.map { String(decoding: $0, as: UTF8.self) } } }
        #expect(split("drum server --address 0.0.0.0:8080") == ["drum", "server", "--address", "0.0.0.0:8080"])
        #expect(split(#"a 'b c' 'it'"'"'s' "x\"y\\z" e\ f ''"#) == ["a", "b c", "it's", #"x"y\z"#, "e f", ""])
        #expect(split("  spaced\tout \n ") == ["spaced", "out"])
        #expect(split(#""\$ \n""#) == [#"\$ \n"#], "in double quotes only \\\" and \\\\ are escapes")
        #expect(split("'unterminated") == nil)
        #expect(split(#""unterminated"#) == nil)
        #expect(split("ends\\") == nil)
    }

    /// What Python's shlex.join writes (as DRUM does, into DRUM_GUNICORN_DRUM_ARGS) splits back
    /// into the same arguments, for argument lists drawn at random.
    @Test(.enabled(if: RealSystem.skipNote(FileManager.default.isExecutableFile(atPath: TestPython.executable) ? nil
                                           : "no python3 at \(TestPython.executable)", "shlex round trip")))
    func shlexJoinSplitsBack() throws {
        var random = SeededRandom(for: "DrumMatchTests/shlexJoinSplitsBack")
        let alphabet = Array("ab -_=:/.'\"\\$`!*?\t~é€")
        let lists: [[String]] = (0..<200).map { _ in
            (0..<Int.random(in: 1...6, using: &random)).map { _ in
                String((0..<Int.random(in: 0...8, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            }
        }
        let input = try JSONSerialization.data(withJSONObject: lists)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: TestPython.executable)
        python.arguments = ["-c", "import json, shlex, sys\nfor a in json.load(sys.stdin): print(json.dumps(shlex.join(a)))"]
        let stdin = Pipe(), stdout = Pipe()
        python.standardInput = stdin
        python.standardOutput = stdout
        try python.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        try #require(python.terminationStatus == 0)
        let joined = try String(decoding: output, as: UTF8.self).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) as? String)
        }
        try #require(joined.count == lists.count)
        for (list, line) in zip(lists, joined) {
            let words = ShellWords.split(Array(line.utf8))?.map { String(decoding: $0, as: UTF8.self) }
            #expect(words == list, "shlex.join gave \(line)")
        }
    }

    @Test func substringsInLinearTime() {
        func has(_ h: String, _ n: String) -> Bool { Substrings.contains(Array(h.utf8), Array(n.utf8)) }
        #expect(has("--address 0.0.0.0:8081", "0.0.0.0:8081"))
        #expect(has("abc", ""))
        #expect(!has("ab", "abc"))
        #expect(has("aabaabaaab", "aabaaab"), "a partial match that restarts inside itself")
        #expect(!has("aabaabaab", "aabaaab"))
        #expect(has("ababcabab", "abab") && has("xxabcabd", "abcabd") && !has("abcabcab", "abcabd"))
        // The worst case of a naive search: 32 KiB of 'a' against 'a…ab'.
        let haystack = [UInt8](repeating: 0x61, count: 32 * 1024)
        let needle = [UInt8](repeating: 0x61, count: 1023) + [0x62]
        #expect(!Substrings.contains(haystack, needle))
        #expect(Substrings.contains(haystack + needle, needle))
    }
}
