import ClusterState
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Keeps one PolicyReport per namespace in step with the audit's findings: created when a
/// namespace has findings, replaced only when their content changes (timestamps aside), deleted
/// when the namespace has none left. Only reports labelled as managed by mtls-guard are touched.
public actor PolicyReportPublisher {
    private struct Written {
        /// A digest of the content, not the content: a report can hold megabytes of results.
        var content: ContentDigest
        var resourceVersion: String?
    }

    /// 128 bits of two independently salted hashes: compared only within this process.
    struct ContentDigest: Equatable {
        var first: Int
        var second: Int

        init(_ content: String) {
            var a = Hasher()
            a.combine(0x6d746c73)
            a.combine(content)
            var b = Hasher()
            b.combine(0x67756172)
            b.combine(content)
            first = a.finalize()
            second = b.finalize()
        }
    }

    private let client: APIClient
    private let logger: Logger
    /// What the API server holds, as far as this program knows.
    private var written: [String: Written] = [:]
    private var loaded = false
    /// Namespaces whose last write failed: tried again at every publish until it succeeds.
    private var failed = Set<String>()
    /// After a failed load, the next attempt waits this long (the CRD may never be installed).
    private var nextLoad: ContinuousClock.Instant?
    static let loadRetry: Duration = .seconds(60)
    private var loggedUnavailable = false

    public init(client: APIClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let collection = "/apis/wgpolicyk8s.io/v1alpha2/policyreports"

    static func path(namespace: String) -> String {
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/\(APIClient.escape(namespace))/policyreports"
    }

    /// Brings the reports of `namespaces` in line with `results`.
    public func publish(_ namespaces: Set<String>, results: AuditResults, now: Date = Date()) async {
        // Until the existing reports are known (the CRD or RBAC may not be there yet), nothing is
        // written; the namespaces asked for stay pending, and the first publish after a successful
        // load covers every namespace with findings, so none is left without its report.
        var everyNamespace: Set<String> = []
        if !loaded {
            if let nextLoad, ContinuousClock.now < nextLoad {
                failed.formUnion(namespaces)
                return
            }
            guard await load() else {
                failed.formUnion(namespaces)
                nextLoad = ContinuousClock.now + Self.loadRetry
                return
            }
            everyNamespace = Set(results.namespaces)
        }
        // Reports left from before (a restart, a namespace whose last finding went unnoticed) go too.
        let stale = Set(written.keys).subtracting(results.namespaces)
        let retried = failed
        failed = []
        for namespace in namespaces.union(stale).union(retried).union(everyNamespace).sorted() {
            guard !Task.isCancelled else { return }
            let objects = results.findings(in: namespace)
            do {
                if objects.isEmpty {
                    if written[namespace] != nil { try await delete(namespace) }
                } else {
                    try await write(PolicyReport(objects, now: now), namespace: namespace)
                }
            } catch {
                failed.insert(namespace)
                logger.warning("could not write the PolicyReport", metadata: [
                    "namespace": .string(namespace), "error": .string("\(error)"),
                ])
            }
        }
    }

    /// Reads the reports this program wrote before (a restart must not rewrite unchanged ones).
    private func load() async -> Bool {
        do {
            let response = try await client.get(Self.collection, query: [
                ("labelSelector", "\(PolicyReport.managedByLabel.0)=\(PolicyReport.managedByLabel.1)"),
            ])
            guard response.status == 200 else {
                if !loggedUnavailable {
                    logger.warning("PolicyReports unavailable: install the wgpolicyk8s.io CRD and grant get, list, create, update, delete on policyreports (manifests/components/policy-reports); retrying every minute",
                                   metadata: ["code": .stringConvertible(response.status)])
                    loggedUnavailable = true
                }
                return false
            }
            struct List: Decodable { var items: [PolicyReport.Stored]? }
            let list = try JSONDecoder().decode(List.self, from: Data(response.body.readableBytesView))
            for item in list.items ?? [] where item.metadata.name == PolicyReport.name {
                guard let namespace = item.metadata.namespace else { continue }
                written[namespace] = Written(content: ContentDigest(item.report.content), resourceVersion: item.metadata.resourceVersion)
            }
            loaded = true
            return true
        } catch {
            logger.warning("could not list PolicyReports; retrying every minute", metadata: ["error": .string("\(error)")])
            return false
        }
    }

    private func write(_ report: PolicyReport, namespace: String) async throws {
        let content = ContentDigest(report.content)
        if let known = written[namespace], known.content == content { return }
        let object = "\(Self.path(namespace: namespace))/\(PolicyReport.name)"
        if let known = written[namespace] {
            var response = try await client.send(.PUT, object, json: report.document(namespace: namespace, resourceVersion: known.resourceVersion))
            if response.status == 409 {
                // Changed by someone else since: take its resourceVersion and replace it.
                let current = try await client.get(object)
                let version = (try? JSONDecoder().decode(PolicyReport.Stored.self, from: Data(current.body.readableBytesView)))?.metadata.resourceVersion
                response = try await client.send(.PUT, object, json: report.document(namespace: namespace, resourceVersion: version))
            }
            if response.status == 404 {
                written[namespace] = nil
                return try await write(report, namespace: namespace)
            }
            try record(response, verb: "update", namespace: namespace, content: content)
        } else {
            var response = try await client.send(.POST, Self.path(namespace: namespace), json: report.document(namespace: namespace, resourceVersion: nil))
            if response.status == 409 {
                // A report of this name exists but was not known (not labelled, or made meanwhile).
                response = try await client.send(.PUT, object, json: report.document(namespace: namespace, resourceVersion: nil))
                try record(response, verb: "update", namespace: namespace, content: content)
                return
            }
            try record(response, verb: "create", namespace: namespace, content: content)
        }
    }

    private func delete(_ namespace: String) async throws {
        let response = try await client.send(.DELETE, "\(Self.path(namespace: namespace))/\(PolicyReport.name)", json: nil)
        guard response.status == 200 || response.status == 202 || response.status == 404 else {
            throw PublishError(verb: "delete", status: response.status, body: Self.message(response))
        }
        written[namespace] = nil
    }

    private func record(_ response: APIClient.Response, verb: String, namespace: String, content: ContentDigest) throws {
        guard (200..<300).contains(response.status) else {
            throw PublishError(verb: verb, status: response.status, body: Self.message(response))
        }
        let stored = try? JSONDecoder().decode(PolicyReport.Stored.self, from: Data(response.body.readableBytesView))
        written[namespace] = Written(content: content, resourceVersion: stored?.metadata.resourceVersion)
    }

    private static func message(_ response: APIClient.Response) -> String {
        struct Status: Decodable { var message: String? }
        let status = try? JSONDecoder().decode(Status.self, from: Data(response.body.readableBytesView))
        return String((status?.message ?? "").prefix(300))
    }

    struct PublishError: Error, CustomStringConvertible {
        var verb: String
        var status: Int
        var body: String
        var description: String { "\(verb) answered \(status): \(body)" }
    }
}
