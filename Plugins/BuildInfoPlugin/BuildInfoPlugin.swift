import Foundation
import PackagePlugin

/// Runs packaging/build-info.sh before every build: it writes the version (from the VERSION file)
/// and the git revision into a Swift file of the BuildInfo target, and rewrites that file only
/// when they change, so an unchanged tree recompiles nothing. A prebuild command (not a build
/// command with declared inputs) because the revision changes with every commit, which SwiftPM
/// cannot see as an input file. Works for a plain `swift build`, with or without make.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [
            .prebuildCommand(
                displayName: "drum-monitor version and git revision",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [package.appending(path: "packaging/build-info.sh").path, package.path,
                            output.appending(path: "BuildInfoValues.swift").path],
                outputFilesDirectory: output
            ),
        ]
    }
}
