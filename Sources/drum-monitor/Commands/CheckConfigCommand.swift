import ArgumentParser
import DaemonCore

/// `drum-monitor check-config [FILE]`: validates a configuration and prints the result.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (with DRUM_MONITOR_* overrides) and print the effective settings.",
        discussion: ExitStatus.helpSection)

    @Argument(help: "The file to check (default \(DaemonConfig.defaultPath)).") var file: String?

    func run() throws {
        let environment = ProcessEnvironment.current()
        let path = file ?? environment[ConfigLoader.configFileVariable] ?? DaemonConfig.defaultPath
        let loader = ConfigLoader(file: path, fileRequired: true, environment: environment, flags: [:])
        for warning in loader.warnings { writeStderr("warning: \(warning)\n") }
        do {
            let config = try loader.load()
            for warning in config.warnings { writeStderr("warning: \(warning)\n") }
            print("\(path): OK")
            for setting in config.effectiveSettings { print("  \(setting)") }
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}
