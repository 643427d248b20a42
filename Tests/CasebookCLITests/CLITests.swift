import Foundation
import Testing

@Suite struct CLITests {
    @Test func summaryQueriesAndRebuildRefuseOptionsOutsideTheirRange() throws {
        let store = temporaryPath("cli-by")
        defer { try? FileManager.default.removeItem(atPath: store) }
        #expect(try casebook(["init", "--store", store]).status == 0)
        for (query, allowed) in [("balances", "'department', 'community' or 'month'"), ("ageing", "'department' and 'community'"), ("rating-stats", "'community' and 'year'")] {
            let wrong = try casebook(["query", query, "--store", store, "--by", "street"])
            #expect(wrong.status != 0 && wrong.stderr.contains("The value 'street' is invalid for '--by <part>'. Please provide one of \(allowed)."),
                    "\(query): \(wrong.stderr)")
            // The help lists the values (its lines wrapped anywhere).
            let help = try casebook(["query", query, "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(help.contains("(values: " + allowed.replacingOccurrences(of: "'", with: "").replacingOccurrences(of: " or ", with: ", ").replacingOccurrences(of: " and ", with: ", ") + ")"), "\(query): \(help)")
        }
        let grouped = try casebook(["query", "rating-stats", "--store", store, "--by", "year", "--by", "community", "--format", "json"])
        #expect(grouped.status == 0, "\(grouped.stderr)")
        let zero = try casebook(["projections", "rebuild", "--store", store, "--cache-limit", "0"])
        #expect(zero.status != 0 && zero.stderr.contains("--cache-limit must be at least 1"))
        let one = try casebook(["projections", "rebuild", "--store", store, "--cache-limit", "1"])
        #expect(one.status == 0, "\(one.stderr)")
    }

    @Test func appendPrintsPositionsAndRefusesWrongVersionsWritingNothing() throws {
        let store = temporaryPath("cli")
        defer { try? FileManager.default.removeItem(atPath: store) }
        #expect(try casebook(["init", "--store", store]).status == 0)
        let first = try casebook(["append", "--store", store, "--stream", "s", "--type", "t", "--expected-version", "no-stream", "--data", "{\"n\":1}"])
        #expect(first.status == 0 && first.stdout == "0\n")
        let second = try casebook(["append", "--store", store, "--stream", "s", "--type", "t", "--expected-version", "0", "--data", "{\"n\":2}"])
        #expect(second.status == 0 && second.stdout == "1\n")
        let wrong = try casebook(["append", "--store", store, "--stream", "s", "--type", "t", "--expected-version", "0", "--data", "{}"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("version 1"), "the error names the actual version: \(wrong.stderr)")
        let badJSON = try casebook(["append", "--store", store, "--stream", "s", "--type", "t", "--data", "{nope"])
        #expect(badJSON.status != 0 && badJSON.stderr.contains("not valid JSON"))
        // The engine's own event types are the engine's to write: a hand-made one would stop the projections.
        for type in ["case.opened", "case.command-accepted", "case.effect-targeted", "case.anything-new", "clock.breached", "subject.erased", "workflow.published"] {
            let engines = try casebook(["append", "--store", store, "--stream", "case-x", "--type", type, "--data", #"{"case":"x","set":5}"#])
            #expect(engines.status != 0 && engines.stderr.contains("written by the case engine alone"), "\(type): \(engines.stderr)")
        }
        let read = try casebook(["read", "--store", store, "--json"])
        let lines = read.stdout.split(separator: "\n")
        #expect(lines.count == 2, "nothing was written by the failed appends")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(object["position"] as? Int == 1 && object["stream"] as? String == "s" && object["version"] as? Int == 1)
        #expect(object["type"] as? String == "t" && (object["recordedAt"] as? String)?.hasSuffix("Z") == true)
        #expect((object["data"] as? [String: Any])?["n"] as? Int == 2)
    }

    @Test func checkpointVerifyAndProofsRoundTripThroughFiles() throws {
        let store = temporaryPath("cli-cp")
        let key = temporaryPath("key")
        let cpFile = temporaryPath("cp")
        let proofFile = temporaryPath("proof")
        defer { for p in [store, key, cpFile, proofFile] { try? FileManager.default.removeItem(atPath: p) } }
        for i in 0..<5 {
            #expect(try casebook(["append", "--store", store, "--stream", "s\(i % 2)", "--type", "t", "--data", "\(i)"]).status == 0)
        }
        let cp = try casebook(["checkpoint", "--store", store, "--key", key, "-o", cpFile])
        #expect(cp.status == 0 && cp.stdout.contains("\"treeSize\":5"))
        #expect(try casebook(["append", "--store", store, "--stream", "s9", "--type", "t", "--data", "9"]).status == 0)
        let verify = try casebook(["verify", "--store", store, "--checkpoint", cpFile])
        #expect(verify.status == 0 && verify.stdout.contains("consistent") && verify.stdout.contains("verify: OK"))
        let proof = try casebook(["prove", "inclusion", "--store", store, "--position", "3"])
        #expect(proof.status == 0)
        try Data(proof.stdout.utf8).write(to: URL(fileURLWithPath: proofFile))
        #expect(try casebook(["prove", "check", proofFile]).stdout.contains("proof: OK"))
        // A proof edited in one hex digit fails offline.
        let edited = proof.stdout.replacingOccurrences(of: "\"position\":3", with: "\"position\":2")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: proofFile))
        let bad = try casebook(["prove", "check", proofFile])
        #expect(bad.status != 0 && bad.stdout.contains("FAILED"))
    }
}
