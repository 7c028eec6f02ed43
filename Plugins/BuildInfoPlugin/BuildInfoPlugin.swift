import Foundation
import PackagePlugin

/// Writes the BuildInfo target's values — the version from the VERSION file and the git revision —
/// with packaging/build-info.sh, so a plain `swift build` has them, with or without make.
///
/// A build command whose inputs are VERSION and the git files that change when the revision
/// does (HEAD, the index, the branch's ref): llbuild reruns it whenever one of them changes,
/// also when SwiftPM reuses its cached build plan (a prebuild command would only run when
/// SwiftPM plans the build again, so a commit would leave the old revision in the binary). The
/// script rewrites its output only when the text changes, so nothing recompiles otherwise.
/// "-dirty" (tracked files differ from HEAD) is computed when the command runs: an edit that
/// touches no git file shows up at the next commit, `git add` or `git status`.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let script = package.appending(path: "packaging/build-info.sh")
        let output = context.pluginWorkDirectoryURL.appending(path: "BuildInfoValues.swift")
        return [
            .buildCommand(
                displayName: "drum-monitor version and git revision",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, package.path, output.path],
                inputFiles: [package.appending(path: "VERSION"), script] + gitStateFiles(of: package),
                outputFiles: [output]
            ),
        ]
    }

    /// The files git rewrites when HEAD moves or the index changes, in a checkout or a worktree
    /// (where .git is a file naming the worktree's git directory); none outside a checkout.
    func gitStateFiles(of package: URL) -> [URL] {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func resolve(_ path: String, in base: String) -> String {
            URL(fileURLWithPath: path.hasPrefix("/") ? path : base + "/" + path).standardizedFileURL.path
        }
        let root = package.path
        let dotGit = root + "/.git"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dotGit, isDirectory: &isDirectory) else { return [] }
        var gitDir = dotGit
        if !isDirectory.boolValue {
            guard let text = read(dotGit), text.hasPrefix("gitdir:") else { return [] }
            gitDir = resolve(text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces), in: root)
        }
        let commonDir = read(gitDir + "/commondir").map { resolve($0, in: gitDir) } ?? gitDir
        var files = [gitDir + "/HEAD", gitDir + "/index", commonDir + "/packed-refs"]
        if let head = read(gitDir + "/HEAD"), head.hasPrefix("ref: ") {
            files.append(commonDir + "/" + head.dropFirst("ref: ".count))
        }
        return files.filter { FileManager.default.fileExists(atPath: $0) }.map { URL(fileURLWithPath: $0) }
    }
}
