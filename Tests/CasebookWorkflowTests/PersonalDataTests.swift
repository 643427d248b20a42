import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

/// Every file under `dir`, read raw.
private func rawFiles(_ dir: String) throws -> [(String, Data)] {
    let names = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
    return try names.compactMap { name in
        var isDirectory: ObjCBool = false
        let path = dir + "/" + name
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return (name, try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

@Suite struct PersonalDataTests {
    @Test func personalDataNeverReachesTheStoreInPlaintextAndErasureShredsIt() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            let name = "张三丰-PLAINTEXT-4242"
            let counter = Actor(role: "counter", id: "wang")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "resident-request", caseId: "p1", actor: counter,
                                        data: .object(["item": .string("residence-certificate"), "community": .string("dongcheng"), "applicant": .string(name)]), at: t)
            // A refused command carrying personal data records it sealed too.
            _ = try await h.engine.open(workflow: "resident-request", caseId: "p1", actor: counter,
                                        data: .object(["item": .string("residence-certificate"), "community": .string("dongcheng"), "applicant": .string(name)]), at: t)
            #expect(try h.engine.load("p1")?.data["applicant"] == .string(name))

            let needle = Data(name.utf8)
            for (file, bytes) in try rawFiles(h.storePath) {
                #expect(bytes.range(of: needle) == nil, "plaintext personal data found in \(file)")
            }

            #expect(try await h.engine.eraseSubject(ofCase: "p1", actor: Actor(role: "supervisor", id: "li"), at: t))
            let erased = try #require(try h.engine.load("p1"))
            #expect(erased.data["applicant"] == .null)
            #expect(erased.redacted == ["applicant"])
            #expect(erased.data["item"] == .string("residence-certificate"))
            #expect(try h.engine.vault.key(for: PersonalData.subject(ofCase: "p1"), create: false) == nil)
            // A fresh engine cannot read it either, and the log still verifies: the tree covers ciphertext.
            #expect(try CaseEngine(store: h.store).load("p1")?.data["applicant"] == .null)
            #expect(try h.store.verify().isValid)
            for (file, bytes) in try rawFiles(h.storePath) {
                #expect(bytes.range(of: needle) == nil, "plaintext personal data found in \(file) after erasure")
            }
            // Erasing again finds no key and records nothing new.
            #expect(try await h.engine.eraseSubject(ofCase: "p1", actor: Actor(role: "supervisor", id: "li"), at: t) == false)
            #expect(try h.types("p1").filter { $0 == CaseEventType.subjectErased }.count == 1)
        }
    }

    @Test func guardsSeePersonalDataWhileItExists() async throws {
        try await StoreHarness.run { h in
            try await h.publish("""
                workflow: named
                roles: [clerk]
                fields:
                  person: { type: string, pii: true }
                states:
                  open: { initial: true, owner: clerk }
                  done: { final: true }
                commands:
                  start:
                    opens: true
                    roles: [clerk]
                    data: { person: { type: string, required: true, pii: true } }
                    set: { person: data.person }
                  finish:
                    from: [open]
                    to: done
                    roles: [clerk]
                    guard: { if: "case.person is set", message: the person must be known }
                """, file: "named.yaml")
            let clerk = Actor(role: "clerk", id: "x")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "named", caseId: "n1", actor: clerk, data: .object(["person": .string("李四")]), at: t)
            _ = try await h.engine.open(workflow: "named", caseId: "n2", actor: clerk, data: .object(["person": .string("王五")]), at: t)
            try await h.engine.eraseSubject(ofCase: "n2", actor: clerk, at: t)
            guard case .accepted = try await h.engine.handle(caseId: "n1", command: "finish", actor: clerk, at: t) else {
                Issue.record("finish refused while the person is known"); return
            }
            guard case .rejected(let r, _) = try await h.engine.handle(caseId: "n2", command: "finish", actor: clerk, at: t) else {
                Issue.record("finish accepted after erasure"); return
            }
            #expect(r.check == .guardFailed && r.message == "the person must be known")
        }
    }

    @Test func theKeyVaultGrowsPastItsInitialMapAndKeepsEveryKey() throws {
        let dir = NSTemporaryDirectory() + "casebook-vault-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vault = try KeyVault(path: dir, initialMapSize: 64 << 10)
        var keys: [String: [UInt8]] = [:]
        for i in 0..<1_500 {
            let key = try #require(try vault.key(for: "subject-\(i)", create: true))
            keys["subject-\(i)"] = key.withUnsafeBytes { Array($0) }
        }
        let file = try FileManager.default.attributesOfItem(atPath: dir + "/data.mdb")[.size] as? Int ?? 0
        #expect(file > 64 << 10, "the vault outgrew its first map (\(file) bytes)")
        let reopened = try KeyVault(path: dir, initialMapSize: 64 << 10)
        for (subject, bytes) in keys {
            #expect(try reopened.key(for: subject, create: false)?.withUnsafeBytes { Array($0) } == bytes)
        }
        let sealed = try reopened.seal("\"张三\"", subject: "subject-7")
        #expect(try reopened.open(sealed, subject: "subject-7") == "\"张三\"")
    }
}
