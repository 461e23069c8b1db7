import Foundation
import Rules

/// A `wgpolicyk8s.io/v1alpha2` PolicyReport as mtls-guard writes it: one per namespace, named
/// `mtls-guard`, one result per finding (the format Kyverno writes and Policy Reporter shows).
public struct PolicyReport: Codable, Sendable, Equatable {
    public static let apiVersion = "wgpolicyk8s.io/v1alpha2"
    public static let name = "mtls-guard"
    public static let policy = "mtls-guard"
    public static let source = "mtls-guard"
    /// Marks the reports this program owns; only those are ever updated or deleted.
    public static let managedByLabel = ("app.kubernetes.io/managed-by", "mtls-guard")
    /// Results written into one report at most; the summary still counts every finding. Keeps a
    /// report far below etcd's 1.5 MiB object limit.
    public static let resultLimit = 2000

    public struct Resource: Codable, Sendable, Equatable {
        public var apiVersion: String
        public var kind: String
        public var namespace: String?
        public var name: String
        public var uid: String?
    }

    public struct Timestamp: Codable, Sendable, Equatable {
        public var seconds: Int64
        public var nanos: Int32
    }

    public struct Result: Codable, Sendable, Equatable {
        public var policy: String
        public var rule: String?
        /// `fail` (a deny finding) or `warn`.
        public var result: String?
        /// `high` (deny) or `medium` (warn), from the CRD's enumeration.
        public var severity: String?
        public var message: String?
        public var category: String?
        public var source: String?
        public var properties: [String: String]?
        public var resources: [Resource]?
        public var timestamp: Timestamp?
    }

    public struct Summary: Codable, Sendable, Equatable {
        public var pass = 0
        public var fail = 0
        public var warn = 0
        public var error = 0
        public var skip = 0

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            pass = try container.decodeIfPresent(Int.self, forKey: .pass) ?? 0
            fail = try container.decodeIfPresent(Int.self, forKey: .fail) ?? 0
            warn = try container.decodeIfPresent(Int.self, forKey: .warn) ?? 0
            error = try container.decodeIfPresent(Int.self, forKey: .error) ?? 0
            skip = try container.decodeIfPresent(Int.self, forKey: .skip) ?? 0
        }
    }

    public var results: [Result]
    public var summary: Summary

    /// The report for one namespace's objects with findings, stamped with `now`.
    public init(_ objects: [AuditedObject], now: Date) {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        var results: [Result] = []
        var summary = Summary()
        for object in objects {
            let resource = Resource(apiVersion: object.apiVersion, kind: object.subject.kind,
                                    namespace: object.subject.key.namespace, name: object.subject.key.name, uid: object.uid)
            for finding in object.findings {
                if finding.severity == .deny { summary.fail += 1 } else { summary.warn += 1 }
                guard results.count < Self.resultLimit else { continue }
                results.append(Result(
                    policy: Self.policy, rule: finding.rule.rawValue,
                    result: finding.severity == .deny ? "fail" : "warn",
                    severity: finding.severity == .deny ? "high" : "medium",
                    message: "\(finding.field): \(finding.message)",
                    category: "mTLS", source: Self.source,
                    properties: ["field": finding.field.description],
                    resources: [resource], timestamp: Timestamp(seconds: seconds, nanos: 0)))
            }
        }
        self.results = results
        self.summary = summary
    }

    /// What a change is judged by: everything but the timestamps, as canonical JSON. Two reports
    /// with the same content are not written again.
    public var content: String {
        var copy = self
        for index in copy.results.indices { copy.results[index].timestamp = nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(copy)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The object to send to the API server for namespace `namespace`; `resourceVersion` for a PUT.
    func document(namespace: String, resourceVersion: String?) -> Data {
        struct Metadata: Encodable {
            var name: String
            var namespace: String
            var labels: [String: String]
            var resourceVersion: String?
        }
        struct Document: Encodable {
            var apiVersion = PolicyReport.apiVersion
            var kind = "PolicyReport"
            var metadata: Metadata
            var results: [Result]
            var summary: Summary
        }
        let document = Document(
            metadata: Metadata(name: Self.name, namespace: namespace, labels: [Self.managedByLabel.0: Self.managedByLabel.1],
                               resourceVersion: resourceVersion),
            results: results, summary: summary)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(document)) ?? Data()
    }

    /// A report as the API server returns it: its content and resourceVersion. Fields this
    /// program does not write are ignored, so a report edited by hand is rewritten.
    struct Stored: Decodable {
        struct Metadata: Decodable {
            var name: String?
            var namespace: String?
            var resourceVersion: String?
        }
        var metadata: Metadata
        var results: [Result]?
        var summary: Summary?

        var report: PolicyReport { PolicyReport(results: results ?? [], summary: summary ?? Summary()) }
    }

    init(results: [Result], summary: Summary) {
        self.results = results
        self.summary = summary
    }
}
