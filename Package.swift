// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "mtls-guard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mtls-guard", targets: ["mtls-guard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        .target(
            name: "COpenSSLShims",
            dependencies: ["COpenSSL"]
        ),
        .target(
            name: "OpenSSLTLS",
            dependencies: [
                "COpenSSLShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Base64Codec",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Certificates",
            dependencies: ["COpenSSLShims", "Base64Codec"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KubeModel",
            dependencies: ["Base64Codec", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Rules",
            dependencies: ["KubeModel", "Certificates"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ClusterState",
            dependencies: [
                "Rules", "KubeModel", "OpenSSLTLS",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Audit",
            dependencies: [
                "Rules", "KubeModel", "Certificates", "ClusterState",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Webhook",
            dependencies: [
                "Rules", "KubeModel", "Certificates", "OpenSSLTLS", "ClusterState", "Audit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mtls-guard",
            dependencies: [
                "Webhook", "Rules", "KubeModel", "Certificates", "ClusterState", "Audit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mtls-guard-engine-bench",
            dependencies: ["Rules", "KubeModel", "Webhook", "Certificates", "ClusterState"],
            path: "bench/engine/EngineBench",
            swiftSettings: swiftSettings
        ),
        // bench/tls/run.sh: HTTPS responder on OpenSSLTLS, compared with nginx.
        .executableTarget(
            name: "TLSBenchResponder",
            dependencies: [
                "OpenSSLTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/tls/TLSBenchResponder",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OpenSSLTLSTests",
            dependencies: ["OpenSSLTLS", "Certificates", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // Helpers the test targets share (temporary directories, thread CPU time); not part of the product.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(name: "CertificatesTests", dependencies: ["Certificates", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KubeModelTests", dependencies: ["KubeModel", "Base64Codec", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "RulesTests",
            dependencies: ["Rules", "KubeModel", "Certificates", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClusterStateTests",
            dependencies: ["ClusterState", "Rules", "KubeModel", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuditTests",
            dependencies: ["Audit", "Rules", "KubeModel", "ClusterState"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebhookTests",
            dependencies: ["Webhook", "Rules", "KubeModel", .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets (Fuzz/README.md), declared only for `make fuzz`: they have no `main` of their own
// (libFuzzer's is linked with -sanitize=fuzzer), so an ordinary build must not see them.
if Context.environment["MTLS_GUARD_FUZZ"] != nil {
    let fuzzers: [(String, [Target.Dependency])] = [
        ("AdmissionReviewFuzzer", ["KubeModel", "Rules"]),
        ("PEMFuzzer", ["Certificates", "KubeModel", "Rules"]),
        ("ManifestFuzzer", ["KubeModel"]),
        ("UpstreamCAFuzzer", ["KubeModel", "Rules"]),
        ("TLSHandlerFuzzer", ["OpenSSLTLS", "Certificates", .product(name: "NIOCore", package: "swift-nio"),
                              .product(name: "NIOEmbedded", package: "swift-nio")]),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver", swiftSettings: swiftSettings))
    for (name, dependencies) in fuzzers {
        package.targets.append(.executableTarget(name: name, dependencies: ["FuzzDriver"] + dependencies, path: "Fuzz/\(name)",
                                                 swiftSettings: swiftSettings))
    }
}
