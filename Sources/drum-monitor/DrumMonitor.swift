import ArgumentParser
import DaemonCore

@main
struct DrumMonitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drum-monitor",
        abstract: "Watches a DataRobot DRUM model server's memory and CPU and serves them over a Unix socket.",
        discussion: ExitStatus.helpSection,
        subcommands: [ServeCommand.self, SampleCommand.self, QueryCommand.self, TopCommand.self, CheckConfigCommand.self]
    )
}
