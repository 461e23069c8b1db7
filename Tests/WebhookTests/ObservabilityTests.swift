import Foundation
import KubeModel
import Logging
import NIOConcurrencyHelpers
import Rules
import Testing
@testable import Webhook

/// Metrics handles, the audit queue and the JSON log lines.
@Suite struct ObservabilityTests {
    static let policyJSON = #"{"apiVersion":"k8s.nginx.org/v1","kind":"Policy","metadata":{"name":"p","namespace":"team"},"spec":{"ingressMTLS":{"clientCertSecret":"ca","verifyClient":"maybe","verifyDepth":-1}}}"#

    static func outcome(dryRun: Bool = false) throws -> (AdmissionRequest, AdmissionReviewer.Outcome) {
        let request = AdmissionRequest(
            uid: "uid-\(dryRun)", kind: GroupVersionKind(group: "k8s.nginx.org", version: "v1", kind: "Policy"),
            resource: GroupVersionResource(group: "k8s.nginx.org", version: "v1", resource: "policies"),
            name: "p", namespace: "team", operation: .create,
            object: try JSONParser.parse(Data(policyJSON.utf8)), dryRun: dryRun)
        let reviewer = AdmissionReviewer(mode: .enforce, settings: { Settings(now: Date(timeIntervalSince1970: 1_800_000_000)) })
        return (request, reviewer.review(request, snapshot: InMemorySnapshot(objects: [])))
    }

    static func line(_ text: String, matching pattern: String) -> String? {
        text.split(separator: "\n").map(String.init).first { $0.range(of: pattern, options: .regularExpression) != nil }
    }

    @Test func cachedHandlesCountEveryReviewUnderItsLabels() throws {
        let metrics = WebhookMetrics()
        let (request, outcome) = try Self.outcome()
        let (dryRequest, dryOutcome) = try Self.outcome(dryRun: true)
        for _ in 0..<3 { metrics.recordReview(request: request, mode: .enforce, outcome: outcome, duration: .microseconds(300)) }
        metrics.recordReview(request: dryRequest, mode: .enforce, outcome: dryOutcome, duration: .milliseconds(3))
        metrics.recordRejected(status: 415)
        metrics.recordRejected(status: 415)
        metrics.auditLinesDropped(2)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(Self.line(text, matching: #"^mtls_guard_requests_total\{(?=.*kind="Policy")(?=.*dry_run="false")(?=.*decision="deny").*\} 3(\.0)?$"#) != nil)
        #expect(Self.line(text, matching: #"^mtls_guard_requests_total\{(?=.*dry_run="true").*\} 1(\.0)?$"#) != nil)
        #expect(Self.line(text, matching: #"^mtls_guard_findings_total\{(?=.*rule="ingress-mtls/verify-client")(?=.*severity="deny").*\} 4(\.0)?$"#) != nil)
        #expect(Self.line(text, matching: #"^mtls_guard_request_duration_seconds_count\{kind="Policy"\} 4(\.0)?$"#) != nil)
        #expect(Self.line(text, matching: #"^mtls_guard_http_rejected_total\{code="415"\} 2(\.0)?$"#) != nil)
        #expect(Self.line(text, matching: #"^mtls_guard_audit_lines_dropped_total 2(\.0)?$"#) != nil)
    }

    @Test func unknownKindsShareOneLabel() throws {
        let metrics = WebhookMetrics()
        let (original, outcome) = try Self.outcome()
        var request = original
        for index in 0..<50 {
            request.kind.kind = "Made\(index)"
            metrics.recordReview(request: request, mode: .enforce, outcome: outcome, duration: .microseconds(1))
        }
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(Self.line(text, matching: #"^mtls_guard_requests_total\{(?=.*kind="other").*\} 50(\.0)?$"#) != nil)
        #expect(!text.contains("Made"))
    }

    @Test func fullAuditQueueDropsCountedAndReported() throws {
        let gate = Gate()
        let records = RecordingHandler.Store()
        let logger = Logger(label: "audit") { _ in RecordingHandler(store: records, gate: gate) }
        let dropped = NIOLockedValueBox(0)
        let audit = AuditLog(logger: logger, capacity: 2, dropped: { count in dropped.withLockedValue { $0 += count } })
        let (request, outcome) = try Self.outcome()
        audit.record(request: request, mode: .enforce, outcome: outcome)
        // The writer takes the first line and blocks in the handler; two more fill the queue.
        #expect(records.waitForCalls(1))
        for _ in 0..<5 { audit.record(request: request, mode: .enforce, outcome: outcome) }
        #expect(dropped.withLockedValue { $0 } == 3)
        gate.open()
        audit.flush()
        let lines = records.lines()
        #expect(lines.filter { $0.metadata["audit"] == "true" }.count == 3)
        let report = try #require(lines.first { $0.metadata["audit"] == "dropped" })
        #expect(report.metadata["count"]?.description == "3")
        #expect(report.level == .warning)
    }

    @Test func auditLineCarriesTheReviewAndNoObjectContent() throws {
        let records = RecordingHandler.Store()
        let logger = Logger(label: "audit") { _ in RecordingHandler(store: records, gate: nil) }
        let audit = AuditLog(logger: logger)
        let (request, outcome) = try Self.outcome(dryRun: true)
        audit.record(request: request, mode: .enforce, outcome: outcome)
        audit.flush()
        let line = try #require(records.lines().first)
        #expect(line.metadata["uid"] == "uid-true")
        #expect(line.metadata["dryRun"] == "true")
        #expect(line.metadata["decision"] == "deny")
        #expect(line.metadata["allowed"] == "false")
        #expect(outcome.evaluation.findings.count >= 2)
        if case .array(let findings)? = line.metadata["findings"] {
            #expect(findings.count == outcome.evaluation.findings.count)
        } else {
            Issue.record("no findings")
        }
        #expect(!"\(line.metadata)".contains("clientCertSecret\":"))
    }

    @Test func jsonLinesParseBackWithEscapesAndSortedKeys() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let output = JSONLineOutput(fileDescriptor: fds[1])
        let handler = JSONLogHandler(label: "test", output: output)
        let tricky = "tab\tnl\nquote\"back\\slash/ctl\u{1}é😀"
        handler.log(event: LogEvent(level: .warning, message: "m \(tricky)", metadata: [
            "b": .string(tricky), "a": .array([.string("x"), .dictionary(["z": "1", "y": .stringConvertible(2)])]), "msg": "ignored",
        ], source: "s", file: #fileID, function: #function, line: #line))
        close(fds[1])
        let data = FileHandle(fileDescriptor: fds[0], closeOnDealloc: false).readDataToEndOfFile()
        #expect(data.last == 0x0A)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["b"] as? String == tricky)
        #expect(object["msg"] as? String == "m \(tricky)")
        #expect(object["level"] as? String == "warning")
        #expect(object["logger"] as? String == "test")
        let nested = try #require(object["a"] as? [Any])
        #expect((nested[1] as? [String: String]) == ["z": "1", "y": "2"])
        let ts = try #require(object["ts"] as? String)
        #expect(ts.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
        let text = String(decoding: data, as: UTF8.self)
        let keys = ["\"a\":", "\"b\":", "\"level\":", "\"logger\":", "\"msg\":", "\"ts\":"].map { text.range(of: $0)?.lowerBound }
        #expect(keys.allSatisfy { $0 != nil })
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0! < $1! })
    }
}

/// Blocks log calls until opened.
final class Gate: Sendable {
    private let condition = NIOLockedValueBox(false)
    func open() { condition.withLockedValue { $0 = true } }
    func wait() {
        while !condition.withLockedValue({ $0 }) { usleep(1000) }
    }
}

/// A LogHandler keeping what it is given.
struct RecordingHandler: LogHandler {
    struct Line: Sendable {
        var level: Logger.Level
        var metadata: Logger.Metadata
    }

    final class Store: Sendable {
        private let box = NIOLockedValueBox<(calls: Int, lines: [Line])>((0, []))
        func called() { box.withLockedValue { $0.calls += 1 } }
        func append(_ line: Line) { box.withLockedValue { $0.lines.append(line) } }
        func lines() -> [Line] { box.withLockedValue { $0.lines } }
        /// Waits up to 10 s (a bound so a broken writer fails the test instead of hanging it).
        func waitForCalls(_ count: Int) -> Bool {
            for _ in 0..<10_000 {
                if box.withLockedValue({ $0.calls }) >= count { return true }
                usleep(1000)
            }
            return false
        }
    }

    let store: Store
    let gate: Gate?
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        store.called()
        gate?.wait()
        store.append(Line(level: event.level, metadata: event.metadata ?? [:]))
    }
}
