/// How log lines look: words for people, or one JSON object per line for log pipelines.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}
