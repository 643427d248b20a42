import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

/// `Workflows/workflow.schema.json` (what editors check) stays in step with ``DefinitionParser`` (what the
/// engine accepts): same keys at every level, same enumerations, same budget units and type names.
@Suite struct SchemaTests {
    typealias Object = [String: Any]

    static func schema() throws -> Object {
        let data = try Data(contentsOf: URL(fileURLWithPath: workflowsDirectory + "/workflow.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? Object)
    }

    /// The object at a path of keys (strings) and array indices (ints).
    static func object(_ root: Object, _ path: Any..., sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Object {
        var current: Any = root
        for step in path {
            if let key = step as? String {
                current = try #require((current as? Object)?[key], "no '\(key)' in \(path)", sourceLocation: sourceLocation)
            } else if let index = step as? Int {
                let array = try #require(current as? [Any], "not an array at \(index) in \(path)", sourceLocation: sourceLocation)
                try #require(index < array.count, sourceLocation: sourceLocation)
                current = array[index]
            }
        }
        return try #require(current as? Object, "not an object at \(path)", sourceLocation: sourceLocation)
    }

    /// The property names of the object schema at `path`.
    static func properties(_ root: Object, _ path: Any..., sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Set<String> {
        var current: Any = root
        for step in path {
            if let key = step as? String { current = (current as? Object)?[key] as Any }
            else if let index = step as? Int { current = (current as? [Any]).flatMap { index < $0.count ? $0[index] : nil } as Any }
        }
        let object = try #require(current as? Object, "no schema at \(path)", sourceLocation: sourceLocation)
        #expect(object["additionalProperties"] as? Bool == false, "\(path) must refuse unknown keys, as the parser does",
                sourceLocation: sourceLocation)
        let properties = try #require(object["properties"] as? Object, "no properties at \(path)", sourceLocation: sourceLocation)
        return Set(properties.keys)
    }

    @Test func schemaIsValidJSON() throws {
        let schema = try Self.schema()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["type"] as? String == "object")
        #expect(schema["$defs"] is Object)
        // Every local $ref resolves.
        func refs(_ value: Any) -> [String] {
            if let object = value as? Object {
                return ((object["$ref"] as? String).map { [$0] } ?? []) + object.values.flatMap(refs)
            }
            if let array = value as? [Any] { return array.flatMap(refs) }
            return []
        }
        let all = refs(schema)
        #expect(!all.isEmpty)
        let defs = try Self.object(schema, "$defs")
        for ref in all {
            #expect(ref.hasPrefix("#/$defs/") && defs[String(ref.dropFirst("#/$defs/".count))] != nil, "unresolved $ref \(ref)")
        }
    }

    @Test func topLevelKeys() throws {
        let schema = try Self.schema()
        #expect(try Self.properties(schema) == Set(DefinitionParser.topKeys))
        #expect(DefinitionParser.topKeys.count == Set(DefinitionParser.topKeys).count)
        // Everything the parser insists on is required by the schema too.
        let required = Set(try #require(schema["required"] as? [String]))
        #expect(required.isSuperset(of: ["workflow", "states", "commands"]))
        #expect(required.isSubset(of: Set(DefinitionParser.topKeys)))
    }

    @Test func stateKeys() throws {
        #expect(try Self.properties(try Self.schema(), "properties", "states", "additionalProperties", "oneOf", 1) == Set(DefinitionParser.stateKeys))
    }

    @Test func commandKeys() throws {
        #expect(try Self.properties(try Self.schema(), "properties", "commands", "additionalProperties") == Set(DefinitionParser.commandKeys))
    }

    @Test func clockKeys() throws {
        let schema = try Self.schema()
        #expect(try Self.properties(schema, "properties", "clocks", "additionalProperties") == Set(DefinitionParser.clockKeys))
        #expect(try Self.properties(schema, "properties", "clocks", "additionalProperties", "properties", "on-breach") == Set(DefinitionParser.breachKeys))
    }

    @Test func fieldKeys() throws {
        #expect(try Self.properties(try Self.schema(), "$defs", "fields", "additionalProperties", "oneOf", 1) == Set(DefinitionParser.fieldKeys))
    }

    @Test func decisionAndRuleKeys() throws {
        let schema = try Self.schema()
        #expect(try Self.properties(schema, "properties", "decisions", "additionalProperties") == Set(DefinitionParser.decisionKeys))
        #expect(try Self.properties(schema, "properties", "decisions", "additionalProperties", "properties", "rules", "items")
                == Set(DefinitionParser.ruleKeys))
    }

    @Test func guardOpenAndSendKeys() throws {
        let schema = try Self.schema()
        #expect(try Self.properties(schema, "$defs", "guard", "oneOf", 1) == Set(DefinitionParser.guardKeys))
        #expect(try Self.properties(schema, "$defs", "open") == Set(DefinitionParser.openKeys))
        #expect(try Self.properties(schema, "$defs", "send") == Set(DefinitionParser.sendKeys))
    }

    @Test func enumerationsMatchTheModel() throws {
        let schema = try Self.schema()
        let hit = try Self.object(schema, "properties", "decisions", "additionalProperties", "properties", "hit")
        #expect(Set(try #require(hit["enum"] as? [String])) == ["unique", "first"])
        for policy in try #require(hit["enum"] as? [String]) { #expect(DecisionTable.HitPolicy(rawValue: policy) != nil) }
        let ops = try Self.object(schema, "properties", "commands", "additionalProperties", "properties", "clocks", "additionalProperties")
        #expect(Set(try #require(ops["enum"] as? [String])) == Set(ClockOperation.Kind.allCases.map(\.rawValue)))
    }

    /// The schema's budget pattern accepts exactly what ``DefinitionParser/parseBudget(_:at:)`` accepts.
    @Test func budgetPatternMatchesTheParser() throws {
        let budget = try Self.object(try Self.schema(), "properties", "clocks", "additionalProperties", "properties", "budget")
        let pattern = try NSRegularExpression(pattern: try #require(budget["pattern"] as? String))
        let location = CasebookWorkflow.SourceLocation(file: "t", line: 1, column: 1)
        for text in ["5 working days", "1 working day", "10 calendar days", "1 calendar day", "3 days", "1 day", "48 hours", "1 hour",
                     "5 工作日", "7 自然日", "24 小时", "0 hours", "five days", "5 weeks", "-1 day", "5 working", "5"] {
            let schemaAccepts = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            let parserAccepts = (try? DefinitionParser.parseBudget(text, at: location)) != nil
            #expect(schemaAccepts == parserAccepts, "'\(text)': schema \(schemaAccepts), parser \(parserAccepts)")
        }
    }

    /// The schema's type pattern accepts exactly the types ``DefinitionParser/parseType(_:at:)`` accepts.
    @Test func typePatternMatchesTheParser() throws {
        let type = try Self.object(try Self.schema(), "$defs", "type")
        let pattern = try NSRegularExpression(pattern: try #require(type["pattern"] as? String))
        let location = CasebookWorkflow.SourceLocation(file: "t", line: 1, column: 1)
        for text in ["string", "text", "integer", "int", "money", "date", "datetime", "boolean", "bool", "enum(a, b)", "list(string)",
                     "list(enum(a, b))", "reference(task-admission)", "strng", "reference()", "enum(a", "number"] {
            let schemaAccepts = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            let parserAccepts = (try? DefinitionParser.parseType(text, at: location)) != nil
            #expect(schemaAccepts == parserAccepts, "'\(text)': schema \(schemaAccepts), parser \(parserAccepts)")
        }
        // `enum` alone is a type only together with `values:`; both accept the word.
        #expect(pattern.firstMatch(in: "enum", range: NSRange(location: 0, length: 4)) != nil)
    }
}
