import ArgumentParser

@main
struct DrumMonitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drum-monitor",
        abstract: "Watches a DataRobot DRUM model server's memory and CPU and serves them over a Unix socket.",
        subcommands: [Serve.self, Sample.self, Query.self, CheckConfig.self]
    )
}
