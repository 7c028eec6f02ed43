import CYAML

/// One node of a YAML document, with the 1-based line where it starts (at its anchor or tag, if
/// it has one). ConfigLoader only needs scalars and the top-level mapping; nested collections are
/// kept so that aliases to them still resolve.
struct YAMLNode {
    enum Content {
        /// `plain`: unquoted, not a block scalar; only a plain `~`/`null`/empty means "unset".
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    var content: Content
    var line: Int
}

/// libyaml's complaint: "context: problem", located where the problem started.
struct YAMLError: Error, CustomStringConvertible {
    var context: String?
    var problem: String
    /// The context mark's line if libyaml gives one (e.g. the opening quote of a string that never
    /// closes), else the problem mark's; nil when there is no position (out of memory).
    var line: Int?

    var description: String { [context, problem].compactMap { $0 }.joined(separator: ": ") }
}

/// Reads a configuration file's bytes with libyaml's event API. The tree is composed as the
/// configuration loader composed it before it called libyaml directly (it used Yams then), so the
/// loader's messages and lines match the earlier behaviour: an alias is the node its anchor
/// names, line included; a later anchor of the same name replaces an earlier one; a collection's
/// anchor is known only once the collection ends; and a second document is an error.
enum YAMLDocument {
    /// The document's root, or nil when there is none (an empty file, only comments).
    static func parse(_ bytes: [UInt8]) throws(YAMLError) -> YAMLNode? {
        // libyaml keeps a pointer to the parser inside the parser: it must not move.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { throw YAMLError(problem: "Memory error") }
        defer { yaml_parser_delete(parser) }
        // Said rather than sniffed, as before: a leading BOM then stays a character that the
        // scanner skips at the start of a line, which moves that line's columns by one.
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        // libyaml reads the buffer in place and wants a non-null pointer even for 0 bytes.
        let input = bytes.isEmpty ? [0] : bytes
        return try input.withUnsafeBufferPointer { buffer throws(YAMLError) in
            yaml_parser_set_input_string(parser, buffer.baseAddress, bytes.count)
            let composer = Composer(parser: parser, input: UnsafeBufferPointer(rebasing: buffer[..<bytes.count]))
            return try composer.singleDocument()
        }
    }
}

private final class Composer {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    let input: UnsafeBufferPointer<UInt8>
    var anchors: [String: YAMLNode] = [:]

    init(parser: UnsafeMutablePointer<yaml_parser_t>, input: UnsafeBufferPointer<UInt8>) {
        self.parser = parser
        self.input = input
    }

    /// A collection whose end event has not come yet.
    struct Open {
        var isMapping: Bool
        var line: Int
        var anchor: String?
        var children: [YAMLNode] = []
    }

    func singleDocument() throws(YAMLError) -> YAMLNode? {
        _ = try nextEvent { $0.type } // STREAM-START
        guard try nextEvent({ $0.type }) != YAML_STREAM_END_EVENT else { return nil } // DOCUMENT-START
        let root = try composeNode()
        _ = try nextEvent { $0.type } // DOCUMENT-END
        guard try nextEvent({ $0.type }) == YAML_STREAM_END_EVENT else {
            // The earlier wording and place (the stream, so line 1), whatever the second document holds.
            throw YAMLError(context: "expected a single document in the stream", problem: "but found another document", line: 1)
        }
        return root
    }

    /// One whole node; collections with an explicit stack, so deep nesting cannot overflow ours.
    func composeNode() throws(YAMLError) -> YAMLNode {
        var open: [Open] = []
        while true {
            let step = try nextEvent { event throws(YAMLError) in try self.step(event, open: &open) }
            guard let node = step else { continue }
            guard !open.isEmpty else { return node }
            open[open.count - 1].children.append(node)
        }
    }

    /// A completed node, or nil when the event opened a collection.
    func step(_ event: yaml_event_t, open: inout [Open]) throws(YAMLError) -> YAMLNode? {
        let line = Self.line(event.start_mark)
        switch event.type {
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            var bytes = UnsafeBufferPointer(start: s.value, count: s.value == nil ? 0 : s.length)[...]
            // One leading byte order mark is dropped, as the earlier (Foundation) decoding did.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
            let text = String(decoding: bytes, as: UTF8.self)
            let node = YAMLNode(content: .scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE), line: line)
            if let anchor = Self.string(s.anchor) { anchors[anchor] = node }
            return node
        case YAML_ALIAS_EVENT:
            guard let name = Self.string(event.data.alias.anchor), let node = anchors[name] else {
                throw YAMLError(problem: "found undefined alias", line: line)
            }
            return node
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            try checkNesting(line: line)
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = Self.string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
            open.append(Open(isMapping: isMapping, line: line, anchor: anchor))
            return nil
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let done = open.popLast() else { throw YAMLError(problem: "unexpected end of a collection", line: line) }
            let items = done.children
            let content: YAMLNode.Content = done.isMapping
                ? .mapping(stride(from: 0, to: items.count - 1, by: 2).map { (key: items[$0], value: items[$0 + 1]) })
                : .sequence(items)
            let node = YAMLNode(content: content, line: done.line)
            if let anchor = done.anchor { anchors[anchor] = node }
            return node
        default:
            throw YAMLError(problem: "unexpected event where a node was expected", line: line)
        }
    }

    /// The copy of libyaml the earlier loader bundled refused to start a collection once its
    /// indentation stack and flow level added up to 1000 (a guard against deep nesting); Debian's
    /// libyaml has no such limit. Checked right after the start event, where that check saw the
    /// scanner, so such files are refused as before and nesting stays bounded.
    func checkNesting(line: Int) throws(YAMLError) {
        let p = parser.pointee
        guard p.state != YAML_PARSE_INDENTLESS_SEQUENCE_ENTRY_STATE else { return } // never checked
        let indents = p.indents.top.flatMap { top in p.indents.start.map { top - $0 } } ?? 0
        if indents >= 1000 - Int(p.flow_level) {
            throw YAMLError(context: "while parsing", problem: "Maximum nesting level reached, set with yaml_set_max_nest_level())", line: line)
        }
    }

    /// Parses the next event, hands it to `body` and frees it.
    func nextEvent<T>(_ body: (yaml_event_t) throws(YAMLError) -> T) throws(YAMLError) -> T {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        return try body(event)
    }

    func parserError() -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        switch p.error {
        case YAML_MEMORY_ERROR:
            return YAMLError(problem: "Memory error")
        case YAML_READER_ERROR:
            // No marks, only the byte offset of the bad character (e.g. a control character).
            return YAMLError(problem: problem, line: line(atByte: min(p.problem_offset, input.count)))
        default:
            let context = p.context.map { String(cString: $0) }
            return YAMLError(context: context, problem: problem, line: Self.line(context == nil ? p.problem_mark : p.context_mark))
        }
    }

    static func line(_ mark: yaml_mark_t) -> Int { Int(clamping: mark.line) &+ 1 }

    /// The line holding input byte `offset`, counting line breaks as libyaml's marks do: LF, CR,
    /// CR LF, NEL, LS and PS.
    func line(atByte offset: Int) -> Int {
        var line = 1
        var i = 0
        while i < offset {
            switch input[i] {
            case 0x0A: line += 1
            case 0x0D: line += 1; if i + 1 < offset, input[i + 1] == 0x0A { i += 1 }
            case 0xC2 where i + 1 < offset && input[i + 1] == 0x85: line += 1; i += 1
            case 0xE2 where i + 2 < offset && input[i + 1] == 0x80 && (input[i + 2] == 0xA8 || input[i + 2] == 0xA9): line += 1; i += 2
            default: break
            }
            i += 1
        }
        return line
    }

    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafePointer($0)) }
    }
}
