// The shipped (static-stdlib) binary runs on a host without the Swift toolchain.
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("static binary")
struct StaticBinaryTests {
    /// Where the toolchain's runtime lives on this machine (e.g. /opt/swift): the root above the
    /// usr/lib/swift/linux/libswiftCore.so this test process itself runs on (else the `swift` on PATH).
    static var toolchainRoot: String? {
        let suffix = "/usr/lib/swift/linux/libswiftCore.so"
        if let maps = readWholeFile("/proc/self/maps"),
           let line = maps.split(separator: "\n").first(where: { $0.hasSuffix(suffix) }),
           let slash = line.firstIndex(of: "/") {
            let path = String(line[slash...])
            return String(path.dropLast(suffix.count))
        }
        guard let swift = Locations.tool("swift"), let real = realpath(swift, nil) else { return nil }
        defer { free(real) }
        // <root>/usr/bin/swift-driver
        var url = URL(fileURLWithPath: String(cString: real))
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return FileManager.default.fileExists(atPath: url.path + suffix) ? url.path : nil
    }

    static var staticReady: Bool {
        Conditions.check(Locations.staticBinary != nil, "DRUM_MONITOR_STATIC_BIN is not set (make test sets it after make build-static)")
    }

    @Test(.enabled(if: staticReady),
          .enabled(if: Conditions.check(RealSystem.isRoot, "hiding the toolchain needs root (mount namespace + tmpfs)")),
          .enabled(if: Conditions.check(Locations.tool("unshare") != nil, "unshare not installed (util-linux)")))
    func runsWithTheToolchainHidden() throws {
        let bin = try #require(Locations.staticBinary)
        try #require(access(bin, X_OK) == 0, "DRUM_MONITOR_STATIC_BIN=\(bin) is not an executable")
        let root = try #require(Self.toolchainRoot, "cannot locate the Swift toolchain (swift on PATH with usr/lib/swift/linux/libswiftCore.so)")
        try #require(!bin.hasPrefix(root + "/"), "the static binary lives inside the toolchain directory \(root)")
        let core = root + "/usr/lib/swift/linux/libswiftCore.so"
        // In a private mount namespace, a tmpfs over the toolchain; the binary samples its own shell's pid.
        let script = "mount -t tmpfs none '\(root)' && if [ -e '\(core)' ]; then echo 'toolchain still visible' >&2; exit 99; fi && exec '\(bin)' sample --json --pid $$"
        let r = try run(try #require(Locations.tool("unshare")), ["-m", "--propagation", "private", "sh", "-c", script])
        #expect(r.status == 0, "exit \(r.status) with \(root) hidden: \(r.stderr)")
        #expect(r.stdout.contains(#""target":{"found":true"#), "no found target in: \(r.stdout)")
        let doc = try? jsonObject(r.stdout)
        #expect(doc?.object("target")?.bool("found") == true, "sample --json: \(r.stdout)")
        #expect(doc?.object("target")?.int("root_pid") != nil, "sample --json: \(r.stdout)")
    }

    @Test(.enabled(if: staticReady),
          .enabled(if: Conditions.check(Locations.tool("ldd") != nil, "ldd not installed (libc-bin)")))
    func doesNotLinkTheSwiftRuntimeDynamically() throws {
        let bin = try #require(Locations.staticBinary)
        let r = try run(try #require(Locations.tool("ldd")), [bin])
        #expect(r.status == 0, "ldd \(bin): \(r.stderr)")
        #expect(r.stdout.contains("libc.so"), "unexpected ldd output: \(r.stdout)")
        #expect(!r.stdout.contains("libswiftCore.so"), "links libswiftCore.so dynamically:\n\(r.stdout)")
        #expect(!r.stdout.contains("libFoundation"), "links Foundation dynamically:\n\(r.stdout)")
        #expect(!r.stdout.contains("not found"), "unresolved libraries:\n\(r.stdout)")
    }
}
