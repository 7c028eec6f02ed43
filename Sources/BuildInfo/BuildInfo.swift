/// Which drum-monitor this is: the version from the repository's VERSION file and the git
/// revision it was built from, both written at build time by BuildInfoPlugin
/// (packaging/build-info.sh) into the generated `generatedVersion` / `generatedRevision`.
public enum BuildInfo {
    /// The release version, e.g. "0.1.0" (the VERSION file).
    public static let version = generatedVersion
    /// The git revision built, 12 hex digits, "-dirty" when tracked files differed from it, or
    /// "unknown" when built outside a git checkout.
    public static let revision = generatedRevision
    /// `--version`: "0.1.0 (git 1a2b3c4d5e6f)".
    public static var versionLine: String { "\(version) (git \(revision))" }
}
