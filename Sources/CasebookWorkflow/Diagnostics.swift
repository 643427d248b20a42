/// A place in a definition file: 1-based line and column (columns count Unicode scalars, as the
/// YAML parser does).
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The file, as the user named it.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// A location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The location `offset` columns to the right (for positions inside a one-line scalar).
    public func advanced(by offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset)
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A problem found in a definition: what, where, and what to do about it.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    /// How bad it is.
    public enum Severity: String, Sendable, Hashable {
        /// The definition cannot be used.
        case error
        /// The definition works but is probably not what was meant.
        case warning
    }

    /// Error or warning.
    public var severity: Severity
    /// Where.
    public var location: SourceLocation
    /// What is wrong.
    public var message: String
    /// What to do about it.
    public var hint: String?

    /// A diagnostic.
    public init(_ severity: Severity = .error, at location: SourceLocation, _ message: String, hint: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.hint = hint
    }

    /// `file:line:column: error: message`, then `  hint: …` on its own line if there is a hint.
    public var description: String {
        "\(location): \(severity.rawValue): \(message)" + (hint.map { "\n  hint: \($0)" } ?? "")
    }
}

/// Several diagnostics thrown together (a definition with more than one problem).
public struct DiagnosticList: Error, Sendable, CustomStringConvertible {
    /// The diagnostics, sorted by location.
    public var diagnostics: [Diagnostic]

    /// Wraps diagnostics, sorting them by location.
    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    /// True if any is an error.
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
