import Foundation
import Hummingbird
import KubeModel
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOPosix
import Rules

/// The webhook's HTTP surface: `POST /validate`, `GET /healthz`, `GET /readyz`.
///
/// A thin transport around `AdmissionReviewer`: it enforces the HTTP contract (method, media type,
/// size, deadline), decodes the review, and encodes the answer. Every error is a JSON `Status`,
/// never a crash or a 500.
public struct WebhookResponder: HTTPResponder {
    public typealias Context = WebhookRequestContext

    /// The API server never sends more than 3 MiB of object (etcd's limit is 1.5 MiB per object,
    /// and UPDATE carries two); 7 MiB leaves room and still bounds memory per request.
    public static let maxBodySize = 7 * 1024 * 1024

    let reviewer: AdmissionReviewer
    let clusterView: ClusterView
    let readiness: Readiness
    let metrics: WebhookMetrics
    let auditLog: AuditLog
    let workers: ReviewWorkers
    let bodyBudget: BodyBudget
    /// The listener's connections, to learn when a caller hangs up.
    let connectionSlots: ConnectionSlots
    let logger: Logger

    public init(reviewer: AdmissionReviewer, clusterView: ClusterView, readiness: Readiness,
                metrics: WebhookMetrics, auditLog: AuditLog, workers: ReviewWorkers, bodyBudget: BodyBudget,
                connectionSlots: ConnectionSlots, logger: Logger) {
        self.bodyBudget = bodyBudget
        self.connectionSlots = connectionSlots
        self.reviewer = reviewer
        self.clusterView = clusterView
        self.readiness = readiness
        self.metrics = metrics
        self.auditLog = auditLog
        self.workers = workers
        self.logger = logger
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        switch request.uri.path {
        case "/validate":
            return await validate(request, connection: context.channel)
        case "/healthz":
            guard request.method == .get || request.method == .head else { return Self.methodNotAllowed("GET, HEAD") }
            return Self.text(.ok, "ok\n")
        case "/readyz":
            guard request.method == .get || request.method == .head else { return Self.methodNotAllowed("GET, HEAD") }
            if let reason = readiness.notReadyReason { return Self.text(.serviceUnavailable, "not ready: \(reason)\n") }
            return Self.text(.ok, "ok\n")
        default:
            return Self.status(.notFound, "no such path \(Self.printable(request.uri.path)); the webhook serves POST /validate")
        }
    }

    /// The outcome of judging one body: the answer, or the 400 for an unusable review.
    enum Judgement: Sendable {
        case answered(ByteBuffer)
        case badRequest(ByteBuffer)
    }

    /// What decoding and reading the view end with: a judgement, a review to judge on a worker, or
    /// one that must first wait for the live view's read-through GETs and then go to a worker.
    enum FirstHop: Sendable {
        case judged(Judgement)
        case needsWorker(AdmissionRequest, ClusterView.Reading)
        case needsLookups(AdmissionRequest, ClusterView.Reading)
    }

    /// An answer to `POST /validate`, whichever way the request was read: through Hummingbird
    /// (`validate`), or on the connection's channel by `ValidateWire` (from the bytes).
    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let body: ByteBuffer
        /// The connection ends after this answer (the body was left unread, or the caller is gone).
        let closing: Bool
    }

    /// Bodies up to this size may be decoded and judged on the event loop: tens of microseconds.
    static let eventLoopBodyLimit = 64 * 1024

    /// Whether judging `request` takes time bounded by its own (small) body, whatever the cluster
    /// holds: CREATE and UPDATE of workloads (pod template annotations and ports; no cluster state)
    /// and of Ingresses (at most 256 Policy references and their TLS Secrets, each a dictionary read,
    /// Secret verdicts remembered by the snapshot). Those are most of the webhook's traffic, and a
    /// worker hop costs more than judging them. Policies (an UPDATE re-judges every Ingress and
    /// VirtualServer that references it), Secrets (certificate parsing), VirtualServers and their
    /// routes, and every DELETE (referrer lookups) go to the review workers.
    static func isJudgedOnEventLoop(_ request: AdmissionRequest) -> Bool {
        guard request.operation == .create || request.operation == .update else { return false }
        let kind = request.kind
        if kind.kind == "Ingress" { return kind.group == "networking.k8s.io" }
        return PodTemplateView.workloadGroups[kind.kind]?.contains(kind.group) ?? false
    }

    private func validate(_ request: Request, connection: any Channel) async -> Response {
        guard request.method == .post else {
            metrics.recordRejected(status: 405)
            return Self.closing(Self.methodNotAllowed("POST"), unlessBodyless: request)
        }
        guard Self.isJSON(request.headers[.contentType]) else {
            metrics.recordRejected(status: 415)
            return Self.closing(Self.status(.unsupportedMediaType, "Content-Type must be application/json"), unlessBodyless: request)
        }
        let announced = request.headers[.contentLength].flatMap(Int.init)
        if let length = announced, length > Self.maxBodySize {
            metrics.recordRejected(status: 413)
            return Self.closing(Self.status(.contentTooLarge, "request body of \(length) bytes exceeds the limit of \(Self.maxBodySize) bytes"))
        }
        let deadline = Self.requestTimeout(request.uri.queryParameters["timeout"].map(String.init))
        metrics.requestStarted()
        defer { metrics.requestFinished() }
        let start = ContinuousClock.now
        // One deadline for the whole request: each stage gets what the ones before it left.
        let expires = start + deadline
        // Bytes held in memory across all requests are bounded: wait for room before reading the body.
        let reserved = announced ?? Self.maxBodySize
        guard await bodyBudget.reserve(reserved, timeout: deadline) else {
            metrics.recordRejected(status: 504)
            return Self.closing(Self.status(.gatewayTimeout, "too many large reviews in flight; not started within the API server's timeout"))
        }
        defer { bodyBudget.release(reserved) }
        let body: ByteBuffer
        do {
            body = try await Self.withDeadline(expires - .now, on: connection.eventLoop) {
                try await request.body.collect(upTo: Self.maxBodySize)
            }
        } catch is NIOTooManyBytesError {
            metrics.recordRejected(status: 413)
            return Self.closing(Self.status(.contentTooLarge, "request body exceeds the limit of \(Self.maxBodySize) bytes"))
        } catch is DeadlineExceeded {
            return Self.response(bodyTimedOut())
        } catch {
            return Self.response(bodyUnreadable(closing: false))
        }
        return Self.response(await answer(body, start: start, expires: expires, connection: connection))
    }

    static func response(_ reply: Reply) -> Response {
        var response = Response(status: reply.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: reply.body))
        if reply.closing { response.headers[.connection] = "close" }
        return response
    }

    /// 504 for a body that did not arrive within the request's deadline; the connection ends.
    func bodyTimedOut() -> Reply {
        metrics.recordRejected(status: 504)
        return Self.errorReply(.gatewayTimeout, "request body not received within the API server's timeout", closing: true)
    }

    /// 400 for a body that could not be read.
    func bodyUnreadable(closing: Bool) -> Reply {
        metrics.recordRejected(status: 400)
        return Self.errorReply(.badRequest, "could not read the request body", closing: closing)
    }

    // MARK: - Judging a body (both transports)

    /// Judges a complete body. Where a review is judged (`isJudgedOnEventLoop`): a small body whose
    /// review costs time bounded by its own size is decoded and judged right here, on the
    /// connection's event loop, as NIO handlers do their work. Everything else runs on a worker,
    /// within what is left of the deadline, and stops when the caller hangs up: a review whose cost
    /// depends on the cluster (a Policy UPDATE re-judges every referrer) or on crypto never holds the
    /// threads that serve connections and probes. Only when the live view lacks a reference does a
    /// review wait for the read-through GETs (bounded to 1 s), then go to a worker, so a worker
    /// never waits on the network.
    func answer(_ body: ByteBuffer, start: ContinuousClock.Instant, expires: ContinuousClock.Instant,
                connection: any Channel) async -> Reply {
        await replying { () async throws(ReviewWorkers.Abandoned) -> Judgement in
            let first = body.readableBytes <= Self.eventLoopBodyLimit
                ? firstHop(body, start: start, judgingEverything: false)
                : try await onWorker(expires: expires, connection: connection) {
                    self.firstHop(body, start: start, judgingEverything: true)
                }
            return try await judgement(after: first, start: start, expires: expires, connection: connection)
        }
    }

    /// `answer` for a review whose first hop (`firstHop`) was taken already and did not end in a
    /// judgement.
    func finish(_ first: FirstHop, start: ContinuousClock.Instant, expires: ContinuousClock.Instant,
                connection: any Channel) async -> Reply {
        await replying { () async throws(ReviewWorkers.Abandoned) -> Judgement in
            try await judgement(after: first, start: start, expires: expires, connection: connection)
        }
    }

    /// Gives back what a review read on the connection's channel held (its body's budget, its
    /// place among the requests in flight), once its answer is written or the connection is gone.
    func reviewEnded(reserved: Int) {
        bodyBudget.release(reserved)
        metrics.requestFinished()
    }

    /// `finish` for the handlers that read reviews on the connection's channel: the review is
    /// judged on a worker, within `expires`, stopped when the caller hangs up, and `answered` gets
    /// the reply back on `context`'s event loop.
    func finish(_ first: FirstHop, start: ContinuousClock.Instant, expires: ContinuousClock.Instant,
                context: ChannelHandlerContext, answered: @escaping (Reply, ChannelHandlerContext) -> Void) {
        let channel = context.channel
        let loop = context.eventLoop
        let callback = NIOLoopBound((answered, context), eventLoop: loop)
        Task(executorPreference: EventLoopTaskExecutor(loop)) {
            let reply = await finish(first, start: start, expires: expires, connection: channel)
            // `loop` is one of NIO's singleton loops (Hummingbird's default group), which are
            // never shut down, so `answered` always runs and gives back the review's body budget.
            // A server on a group of its own would have to release it when `execute` cannot run.
            loop.execute {
                let (answered, context) = callback.value
                answered(reply, context)
            }
        }
    }

    /// Decodes the review and reads the view; judges it too when that is bounded by the body
    /// (`isJudgedOnEventLoop`) or when `judgingEverything` (the caller is a worker already),
    /// unless the judging asked the live view for a Policy or Secret it lacks: that review waits
    /// for the read-through GETs and is judged again on a worker.
    func firstHop(_ body: ByteBuffer, start: ContinuousClock.Instant, judgingEverything: Bool) -> FirstHop {
        let admission: AdmissionRequest
        do throws(AdmissionReviewDecodingError) {
            admission = try AdmissionReview.decodeRequest(from: body)
        } catch {
            return .judged(.badRequest(Self.statusBody(.badRequest, error.description)))
        }
        var reading = clusterView.read(for: admission)
        guard judgingEverything || Self.isJudgedOnEventLoop(admission) else {
            // A worker never waits on the network: what the live view lacks is confirmed first.
            clusterView.findMissingReferences(of: admission, in: &reading)
            return reading.needsLookups ? .needsLookups(admission, reading) : .needsWorker(admission, reading)
        }
        // Judged on the view as it is; a review that asked for a Policy or Secret the view lacks
        // is judged again once the GETs confirm what is missing (`MissWatch`).
        let (snapshot, watch) = reading.watchingMisses()
        let outcome = review(admission, snapshot, mode: reading.mode)
        if watch?.missed == true {
            clusterView.findMissingReferences(of: admission, in: &reading)
            if reading.needsLookups { return .needsLookups(admission, reading) }
        }
        return .judged(record(outcome, of: admission, start: start))
    }

    /// The answer a judgement is sent as; counts the refusal of an unusable review.
    func reply(_ judgement: Judgement) -> Reply {
        switch judgement {
        case .answered(let buffer):
            return Reply(status: .ok, body: buffer, closing: false)
        case .badRequest(let buffer):
            metrics.recordRejected(status: 400)
            return Reply(status: .badRequest, body: buffer, closing: false)
        }
    }

    private func judge(_ admission: AdmissionRequest, _ snapshot: (any ClusterSnapshot)?, mode: ReviewMode?,
                       start: ContinuousClock.Instant) -> Judgement {
        record(review(admission, snapshot, mode: mode), of: admission, start: start)
    }

    /// The review's outcome, nothing recorded yet.
    private func review(_ admission: AdmissionRequest, _ snapshot: (any ClusterSnapshot)?, mode: ReviewMode?)
        -> (outcome: AdmissionReviewer.Outcome, mode: ReviewMode) {
        // A Namespace label may override --mode for the objects in it (per-namespace rollout).
        var reviewer = reviewer
        if let mode { reviewer.mode = mode }
        return (reviewer.review(admission, snapshot: snapshot), reviewer.mode)
    }

    /// The answer for a review's outcome, counted in the metrics and the audit log.
    private func record(_ reviewed: (outcome: AdmissionReviewer.Outcome, mode: ReviewMode), of admission: AdmissionRequest,
                        start: ContinuousClock.Instant) -> Judgement {
        guard !ReviewCancellation.isCurrentCancelled else { return .answered(ByteBuffer()) }
        let (outcome, mode) = reviewed
        let elapsed = ContinuousClock.now - start
        metrics.recordReview(request: admission, mode: mode, outcome: outcome, duration: elapsed)
        auditLog.record(request: admission, mode: mode, outcome: outcome)
        return .answered(AdmissionWire.responseBuffer(outcome.response))
    }

    private func judgement(after first: FirstHop, start: ContinuousClock.Instant, expires: ContinuousClock.Instant,
                           connection: any Channel) async throws(ReviewWorkers.Abandoned) -> Judgement {
        switch first {
        case .judged(let answer):
            return answer
        case .needsWorker(let admission, let reading):
            return try await onWorker(expires: expires, connection: connection) {
                self.judge(admission, reading.snapshot, mode: reading.mode, start: start)
            }
        case .needsLookups(let admission, let reading):
            let snapshot = await clusterView.completing(reading)
            return try await onWorker(expires: expires, connection: connection) {
                self.judge(admission, snapshot, mode: reading.mode, start: start)
            }
        }
    }

    private func onWorker<T: Sendable>(expires: ContinuousClock.Instant, connection: any Channel,
                                       _ work: @escaping @Sendable () -> T) async throws(ReviewWorkers.Abandoned) -> T {
        let (slots, logger) = (connectionSlots, self.logger)
        return try await workers.run(
            deadline: expires - .now, eventLoop: connection.eventLoop,
            whenClientGone: { action in slots.whenClosed(connection, action) },
            onAbandon: { reason in
                logger.warning("review abandoned: work stopped", metadata: [
                    "reason": .string(reason == .deadline ? "deadline passed" : "client closed the connection"),
                ])
            },
            work)
    }

    /// The reply for `work`'s judgement, or for why a worker stopped before it.
    private func replying(_ work: () async throws(ReviewWorkers.Abandoned) -> Judgement) async -> Reply {
        do throws(ReviewWorkers.Abandoned) {
            return reply(try await work())
        } catch {
            switch error {
            case .deadline:
                metrics.recordRejected(status: 504)
                return Self.errorReply(.gatewayTimeout, "review not finished within the API server's timeout; stopped", closing: true)
            case .clientGone:
                // Nobody reads this answer: the connection is closed.
                return Self.errorReply(.gatewayTimeout, "the client closed the connection", closing: true)
            }
        }
    }

    // MARK: - HTTP helpers

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        // What the API server sends, without Foundation's trimming and lowercasing.
        if contentType == "application/json" { return true }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        return mediaType == "application/json"
    }

    /// Parses the API server's `?timeout=` (a Go duration such as `10s` or `500ms`), capped at 30 s.
    static func requestTimeout(_ value: String?) -> Duration {
        let fallback = Duration.seconds(30)
        guard let value, !value.isEmpty, value.count <= 32 else { return fallback }
        for (suffix, scale) in durationUnits where value.hasSuffix(suffix) {
            // Double() also reads "inf", "nan" and hex floats: bound the value before converting.
            guard let number = Double(value.dropLast(suffix.count)), number.isFinite, number > 0 else { return fallback }
            let seconds = min(number * scale, 30)
            return .nanoseconds(Int64(seconds * 1e9))
        }
        return fallback
    }

    private static let durationUnits: [(String, Double)] = [
        ("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600),
    ]

    struct DeadlineExceeded: Error {}

    /// Runs `body`, cancelled after `limit` (then `DeadlineExceeded` is thrown).
    ///
    /// The timer is an event-loop scheduled task, cancelled (and freed) as soon as `body` ends. A
    /// racing `Task.sleep` child did the same job, but a cancelled sleep's timer stays queued until
    /// its deadline: at thousands of reviews a second with a 10–30 s limit that kept tens of MB of
    /// timers alive and cost a third of the throughput.
    /// `body` and its timer run on `eventLoop` (the connection's loop, where its bytes arrive).
    static func withDeadline<T: Sendable>(_ limit: Duration, on eventLoop: any EventLoop,
                                          _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let work = Task(executorPreference: EventLoopTaskExecutor(eventLoop)) { try await body() }
        let timedOut = NIOLockedValueBox(false)
        let timer = eventLoop.scheduleTask(in: TimeAmount(limit)) {
            timedOut.withLockedValue { $0 = true }
            work.cancel()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            do {
                return try await work.value
            } catch {
                if timedOut.withLockedValue({ $0 }) { throw DeadlineExceeded() }
                throw error
            }
        } onCancel: {
            work.cancel()
        }
    }

    /// Paths are echoed in errors: keep them short and printable.
    static func printable(_ path: String) -> String {
        String(path.prefix(100).map { $0.isASCII && !$0.isNewline ? $0 : "?" })
    }

    /// Marks a response that leaves (part of) the request body unread `Connection: close`, so the
    /// connection ends instead of reading the refused body to its end (`HTTP1Semantics`).
    static func closing(_ response: Response, unlessBodyless request: Request? = nil) -> Response {
        if let request, request.headers[.contentLength] == "0" || (request.headers[.contentLength] == nil && request.headers[.transferEncoding] == nil) {
            return response
        }
        var response = response
        response.headers[.connection] = "close"
        return response
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func methodNotAllowed(_ allow: String) -> Response {
        var response = status(.methodNotAllowed, "method not allowed; use \(allow)")
        response.headers[.allow] = allow
        return response
    }

    /// A Kubernetes-style `Status` object, so clients that speak the API read the error.
    static func status(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: statusBody(status, message)))
    }

    /// The body of `status(_:_:)`.
    static func statusBody(_ status: HTTPResponse.Status, _ message: String) -> ByteBuffer {
        ByteBuffer(data: AdmissionWire.encode(ErrorStatus(
            message: message, reason: status.reasonPhrase.replacingOccurrences(of: " ", with: ""), code: status.code)))
    }

    static func errorReply(_ status: HTTPResponse.Status, _ message: String, closing: Bool) -> Reply {
        Reply(status: status, body: statusBody(status, message), closing: closing)
    }

}

/// The bytes the webhook sends, shared with `mtls-guard review` so both answer identically.
public enum AdmissionWire {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ value: some Encodable) -> Data {
        (try? encoder.encode(value)) ?? Data(#"{"message":"encoding failed"}"#.utf8)
    }

    /// The AdmissionReview answering a review.
    public static func responseBody(_ response: AdmissionResponse) -> Data {
        Data(buffer: responseBuffer(response), byteTransferStrategy: .noCopy)
    }

    /// `responseBody` written straight into a `ByteBuffer` (`AdmissionResponseWriter`).
    static func responseBuffer(_ response: AdmissionResponse) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 512)
        AdmissionResponseWriter.write(response, into: &buffer)
        return buffer
    }

    /// The `Status` sent with HTTP 400 for a review that cannot be used.
    public static func badRequestBody(_ message: String) -> Data {
        Data(buffer: WebhookResponder.statusBody(.badRequest, message), byteTransferStrategy: .noCopy)
    }
}

struct ErrorStatus: Encodable {
    let apiVersion = "v1"
    let kind = "Status"
    let status = "Failure"
    let message: String
    let reason: String
    let code: Int
}
