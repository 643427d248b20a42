// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Casebook",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "casebook", targets: ["casebook"]),
        .library(name: "CasebookLog", targets: ["CasebookLog"]),
        .library(name: "CasebookWorkflow", targets: ["CasebookWorkflow"]),
        .library(name: "CasebookProjections", targets: ["CasebookProjections"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // LMDB from the system (Debian: liblmdb-dev). Prefixed so it cannot collide with other CLMDBs.
        .systemLibrary(
            name: "CasebookCLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // A thin, safe Swift layer over LMDB: environment, transactions, cursors, typed errors.
        .target(name: "CasebookLMDB", dependencies: ["CasebookCLMDB"]),
        // The event log: envelopes, group-committed appends, reads, subscriptions, Merkle tree, checkpoints.
        .target(
            name: "CasebookLog",
            dependencies: [
                "CasebookLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Workflow definitions (YAML), their linter, guard expressions, working-day calendars, the case engine.
        .target(
            name: "CasebookWorkflow",
            dependencies: [
                "CasebookLog",
                "CasebookLMDB",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Projections: the read models auditors query (requests, admissions, ledger, rectifications),
        // derived from the log into LMDB, checkpointed with their rows, rebuildable.
        .target(name: "CasebookProjections", dependencies: ["CasebookLMDB", "CasebookLog", "CasebookWorkflow"]),
        // Investigators' tools: case replay with explanations, diffs, what-if runs, evidence bundles.
        .target(name: "CasebookAudit", dependencies: ["CasebookLog", "CasebookWorkflow", .product(name: "Crypto", package: "swift-crypto")]),
        // Auditors' queries, standing reports and the SQLite export of the projections and the log.
        .target(name: "CasebookExport", dependencies: ["CasebookProjections", "CasebookWorkflow", "CasebookLog", .product(name: "GRDB", package: "GRDB.swift")]),
        // A synthetic city driven through the engine (the demo, and demo-sized stores for tests).
        .target(name: "CasebookSimulation", dependencies: ["CasebookLog", "CasebookWorkflow"]),
        // The command-line tool.
        .executableTarget(
            name: "casebook",
            dependencies: [
                "CasebookLog",
                "CasebookWorkflow",
                "CasebookProjections",
                "CasebookSimulation",
                "CasebookAudit",
                "CasebookExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "CasebookLMDBTests", dependencies: ["CasebookLMDB"]),
        .testTarget(name: "CasebookWorkflowTests", dependencies: ["CasebookTestSupport", "CasebookWorkflow"]),
        // Shared by the workflow, audit, projections and export tests: the temporary store with an engine over it
        // (StoreHarness), the repository's paths, and scenarios of every workflow driven through it.
        .target(name: "CasebookTestSupport", dependencies: ["CasebookProjections", "CasebookWorkflow", "CasebookLog"], path: "Tests/CasebookTestSupport"),
        .testTarget(
            name: "CasebookProjectionsTests",
            dependencies: ["CasebookTestSupport", "CasebookProjections", "CasebookSimulation", "CasebookWorkflow", "CasebookLog", "CasebookExport",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "CasebookAuditTests", dependencies: ["CasebookTestSupport", "CasebookAudit", "CasebookWorkflow", "CasebookLog"]),
        .testTarget(
            name: "CasebookExportTests",
            dependencies: ["CasebookTestSupport", "CasebookExport", "CasebookProjections", "CasebookWorkflow", "CasebookLog", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "CasebookSimulationTests", dependencies: ["CasebookSimulation", "CasebookWorkflow", "CasebookLog"]),
        .testTarget(
            name: "CasebookLogTests",
            dependencies: ["CasebookLog"],
            resources: [.copy("Fixtures")]
        ),
        // Runs the built `casebook` binary (crash test, CLI behaviour); depends on it so it is built first.
        .testTarget(name: "CasebookCLITests", dependencies: ["CasebookLog", "casebook"]),
    ],
    swiftLanguageModes: [.v6]
)
