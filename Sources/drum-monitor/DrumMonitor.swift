import ArgumentParser
import DaemonCore
import BuildInfo

@main
struct DrumMonitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drum-monitor",
        abstract: "Watches a DataRobot DRUM model server's memory and CPU and serves them over a Unix socket.",
        discussion: ExitStatus.helpSection,
        version: BuildInfo.versionLine,
        subcommands: [ServeCommand.self, SampleCommand.self, QueryCommand.self, TopCommand.self, CheckConfigCommand.self]
    )
}
