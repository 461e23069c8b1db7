import Foundation
import KubeModel
import Logging
import NIOCore
import NIOHTTP1
import Rules

/// client-go's reflector for one source: LIST (paged) into the store, then WATCH from the list's
/// resourceVersion, applying events as they come; a clean end re-watches, an expired
/// resourceVersion relists, errors back off. resourceVersions are opaque: only passed back.
struct Reflector: Sendable {
    let source: WatchSource
    let client: APIClient
    let store: ClusterStore
    let timing: ClusterWatcher.Timing
    let status: StatusBoard
    let logger: Logger

    /// Why the watch loop returned.
    enum WatchEnd {
        case relist(reason: String)
    }

    /// An HTTP answer other than success, or an in-stream ERROR event.
    struct Failure: Error, CustomStringConvertible {
        var code: Int
        var verb: String
        var message: String
        var retryAfter: Duration?
        var description: String { "\(verb) answered \(code): \(message)" }
    }

    func run() async {
        var backoff = Backoff(policy: timing.backoff)
        var needsList = true
        var resourceVersion = ""
        var relistReason = "initial"
        var loggedMissing = false
        while !Task.isCancelled {
            do {
                if needsList {
                    status.update(source) { $0.relists[relistReason, default: 0] += 1 }
                    resourceVersion = try await list()
                    needsList = false
                    loggedMissing = false
                }
                let end = try await watchUntilRelist(resourceVersion: &resourceVersion, backoff: &backoff)
                switch end {
                case .relist(let reason):
                    needsList = true
                    relistReason = reason
                }
            } catch is CancellationError {
                return
            } catch let failure as Failure {
                status.update(source) {
                    $0.apiErrors[String(failure.code), default: 0] += 1
                }
                let delay: Duration
                switch failure.code {
                case 404 where source.isCustomResource && failure.verb == "list",
                     403 where source == .namespaces && failure.verb == "list":
                    // 404: NIC's CRDs are not installed, nothing of this kind can exist. 403 on
                    // Namespaces: they only carry the optional per-namespace modes, and without the
                    // grant (an older ClusterRole) reviews use --mode; the webhook must not stay
                    // unready over it. Either way: synced and empty, rechecked periodically, said once.
                    markSyncedEmpty()
                    if !loggedMissing {
                        if failure.code == 404 {
                            logger.notice("resource not served (NIC CRDs not installed?): treated as empty, rechecked periodically",
                                          metadata: ["source": .string(source.displayName)])
                        } else {
                            logger.warning("namespaces forbidden: per-namespace modes are off and --mode applies everywhere; grant get, list, watch on namespaces",
                                           metadata: ["source": .string(source.displayName)])
                        }
                        loggedMissing = true
                    }
                    needsList = true
                    relistReason = "recheck"
                    delay = timing.resourceRecheckInterval
                case 403:
                    status.update(source) { $0.forbiddenVerb = failure.verb }
                    logger.error("forbidden: the service account needs get, list, watch on this resource",
                                 metadata: ["source": .string(source.displayName), "verb": .string(failure.verb)])
                    delay = backoff.capDelay(random: Double.random(in: 0..<1))
                default:
                    let computed = backoff.nextDelay(now: .now, random: Double.random(in: 0..<1))
                    delay = max(computed, failure.retryAfter ?? .zero)
                    logger.warning("API request failed; retrying", metadata: [
                        "source": .string(source.displayName), "code": .stringConvertible(failure.code),
                        "error": .string(failure.message), "retryInSeconds": .stringConvertible(delay.inSeconds),
                    ])
                }
                if failure.verb == "watch", !needsList {
                    status.update(source) { $0.watchRestarts["error", default: 0] += 1 }
                }
                guard (try? await Task.sleep(for: delay)) != nil else { return }
            } catch {
                let label = Self.errorLabel(error)
                status.update(source) {
                    $0.apiErrors[label, default: 0] += 1
                }
                let delay = backoff.nextDelay(now: .now, random: Double.random(in: 0..<1))
                logger.warning("API server unreachable; retrying", metadata: [
                    "source": .string(source.displayName), "error": .string("\(error)"),
                    "retryInSeconds": .stringConvertible(delay.inSeconds),
                ])
                guard (try? await Task.sleep(for: delay)) != nil else { return }
            }
        }
    }

    // MARK: LIST

    /// Lists every page; the items replace the source's store in one step. Returns the list's resourceVersion.
    /// The next page is fetched while the current one is ingested.
    func list() async throws -> String {
        var items: [StoredObject] = []
        var resourceVersion = ""
        let client = self.client
        let source = self.source
        let pageSize = timing.pageSize
        func fetch(_ continueToken: String?) -> Task<APIClient.Response, any Error> {
            Task {
                var query = [("limit", String(pageSize))]
                if let selector = source.fieldSelector { query.append(("fieldSelector", selector)) }
                if let continueToken { query.append(("continue", continueToken)) }
                return try await client.get(source.collectionPath, query: query)
            }
        }
        var token: String?
        var request: Task<APIClient.Response, any Error>? = fetch(nil)
        defer { request?.cancel() }
        while let current = request {
            try Task.checkCancellation()
            let response = try await current.value
            request = nil
            if response.status == 410, token != nil {
                // The continue token expired between pages: start the list over.
                status.update(source) {
                    $0.apiErrors["410", default: 0] += 1
                    $0.relists["expired-continue", default: 0] += 1
                }
                logger.info("continue token expired; listing again from the start", metadata: ["source": .string(source.displayName)])
                items = []
                token = nil
                request = fetch(nil)
                continue
            }
            guard response.status == 200 else { throw Self.failure(response, verb: "list") }
            let document: JSONValue
            do {
                document = try JSONParser.parse(Data(response.body.readableBytesView))
            } catch {
                throw APIClientError.malformedResponse("list of \(source.displayName): \(error)")
            }
            resourceVersion = document["metadata"]?["resourceVersion"]?.stringValue ?? ""
            let next = document["metadata"]?["continue"]?.stringValue ?? ""
            if !next.isEmpty {
                token = next
                request = fetch(next)
            }
            items += await Self.ingest(document["items"]?.arrayValue ?? [], source: source)
        }
        store.replace(source, with: items)
        let count = items.count
        status.update(source) {
            $0.syncedOnce = true
            $0.forbiddenVerb = nil
            $0.objects = count
            $0.lastActivity = .now
        }
        logger.debug("listed", metadata: ["source": .string(source.displayName), "objects": .stringConvertible(count)])
        return resourceVersion
    }

    /// Ingests a page on every core: a TLS Secret's verdict (parsing the chain and the key,
    /// matching them) is the dearest step of a sync, and the items of a page are independent.
    static func ingest(_ values: [JSONValue], source: WatchSource) async -> [StoredObject] {
        let chunkSize = 32
        guard values.count > chunkSize else { return values.compactMap { ObjectIngest.stored($0, source: source) } }
        return await withTaskGroup(of: (Int, [StoredObject]).self) { group in
            for start in stride(from: 0, to: values.count, by: chunkSize) {
                let chunk = Array(values[start..<min(start + chunkSize, values.count)])
                group.addTask { (start, chunk.compactMap { ObjectIngest.stored($0, source: source) }) }
            }
            var parts: [(Int, [StoredObject])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    // MARK: WATCH

    /// The source holds nothing and counts as synced: its resource is not served, or (Namespaces)
    /// not granted. A recheck that confirms it is activity, so the staleness gauge stays low.
    private func markSyncedEmpty() {
        store.replace(source, with: [])
        status.update(source) {
            $0.syncedOnce = true
            $0.forbiddenVerb = nil
            $0.objects = 0
            $0.lastActivity = .now
        }
    }

    /// Watches from `resourceVersion` again and again (a clean end re-watches at once, a dropped
    /// connection re-watches from the last event applied) until the version expires.
    func watchUntilRelist(resourceVersion: inout String, backoff: inout Backoff) async throws -> WatchEnd {
        while true {
            try Task.checkCancellation()
            let started = ContinuousClock.now
            var applied = 0
            do {
                if let end = try await watchOnce(resourceVersion: &resourceVersion, applied: &applied) { return end }
                status.update(source) { $0.watchRestarts["timeout", default: 0] += 1 }
            } catch let error as APIClientError {
                // The stream broke (reset, cut mid-event, stalled): nothing after the last complete
                // event was applied, so watching again from its resourceVersion loses nothing.
                let reason = error == .readTimeout ? "stalled" : "closed"
                status.update(source) {
                    $0.watchRestarts[reason, default: 0] += 1
                }
                logger.info("watch ended; watching again", metadata: [
                    "source": .string(source.displayName), "reason": .string(reason), "error": .string("\(error)"),
                ])
                if applied == 0, ContinuousClock.now - started < .seconds(1) {
                    // Broke at once: do not spin against a failing server.
                    let delay = backoff.nextDelay(now: .now, random: Double.random(in: 0..<1))
                    try await Task.sleep(for: delay)
                }
            }
        }
    }

    /// One WATCH request. Returns `nil` on a clean end, a `WatchEnd` when a relist is needed.
    private func watchOnce(resourceVersion: inout String, applied: inout Int) async throws -> WatchEnd? {
        let timeoutSeconds = Int.random(in: timing.watchTimeoutSeconds)
        var query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(timeoutSeconds))]
        if !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if let selector = source.fieldSelector { query.append(("fieldSelector", selector)) }
        // No byte for the server's own timeout plus a grace period: the socket is half-open.
        let idle = TimeAmount.seconds(Int64(timeoutSeconds)) + TimeAmount(timing.watchIdleGrace)
        let stream = try await client.open(source.collectionPath, query: query, readTimeout: idle)
        defer { stream.cancel() }
        if stream.status == 410 { return .relist(reason: "expired") }
        guard stream.status == 200 else {
            var body = ByteBuffer()
            // At most 64 KiB of an error body is read: a long one must not hold the reflector.
            for try await var chunk in stream.body {
                body.writeBuffer(&chunk)
                if body.readableBytes >= 65536 { break }
            }
            throw Self.failure(APIClient.Response(status: stream.status, headers: stream.headers, body: body), verb: "watch")
        }
        var framer = WatchEventFramer()
        for try await chunk in stream.body {
            for line in try framer.append(chunk) {
                let event: JSONValue
                do {
                    event = try JSONParser.parse(Data(line))
                } catch {
                    throw APIClientError.malformedResponse("watch event of \(source.displayName): \(error)")
                }
                if let end = try apply(event, resourceVersion: &resourceVersion) { return end }
                applied += 1
            }
        }
        // A stream that ends inside an event was cut, not ended by the server's timeout: the
        // partial event is discarded and the restart is counted as a dropped connection.
        if framer.pendingCount > 0 { throw APIClientError.connectionClosed }
        return nil
    }

    /// Applies one watch event to the store; returns a `WatchEnd` for an ERROR that needs a relist.
    private func apply(_ event: JSONValue, resourceVersion: inout String) throws -> WatchEnd? {
        let object = event["object"] ?? .null
        let version = object["metadata"]?["resourceVersion"]?.stringValue
        switch event["type"]?.stringValue {
        case "ADDED", "MODIFIED":
            if let stored = ObjectIngest.stored(object, source: source) {
                store.upsert(stored)
            }
        case "DELETED":
            if let name = object["metadata"]?["name"]?.stringValue {
                let namespace = source.isNamespaced ? object["metadata"]?["namespace"]?.stringValue ?? "default" : ""
                store.remove(source, ObjectKey(namespace: namespace, name: name))
            }
        case "BOOKMARK":
            break
        case "ERROR":
            let code = Int(object["code"]?.integerValue ?? 0)
            let message = object["message"]?.stringValue ?? ""
            // The code becomes a metric label: only HTTP status codes, so the label set stays bounded.
            let label = (100...599).contains(code) ? String(code) : "other"
            status.update(source) { $0.apiErrors[label, default: 0] += 1 }
            if code == 410 || object["reason"]?.stringValue == "Expired" || object["reason"]?.stringValue == "Gone" {
                return .relist(reason: "expired")
            }
            if message.lowercased().contains("too large resource version") {
                return .relist(reason: "too-large-resource-version")
            }
            throw Failure(code: code, verb: "watch", message: String(message.prefix(300)), retryAfter: nil)
        default:
            throw APIClientError.malformedResponse("watch event without a known type")
        }
        if let version { resourceVersion = version }
        let count = store.count(source)
        status.update(source) {
            $0.lastActivity = .now
            $0.objects = count
        }
        return nil
    }

    // MARK: Helpers

    static func failure(_ response: APIClient.Response, verb: String) -> Failure {
        let status = try? JSONParser.parse(Data(response.body.readableBytesView))
        let message = status?["message"]?.stringValue ?? HTTPResponseStatus(statusCode: response.status).reasonPhrase
        var retryAfter: Duration?
        if let header = response.headers.first(name: "Retry-After"), let seconds = Int(header.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            retryAfter = .seconds(min(seconds, 600))
        }
        return Failure(code: response.status, verb: verb, message: String(message.prefix(300)), retryAfter: retryAfter)
    }

    /// The `code` label of an error without an HTTP status: `timeout` (no byte in time),
    /// `malformed` (a response that cannot be read), `connection` (connect, TLS, reset).
    static func errorLabel(_ error: any Error) -> String {
        switch error {
        case APIClientError.readTimeout: return "timeout"
        case APIClientError.malformedResponse, APIClientError.responseTooLarge, is WatchEventFramer.EventTooLarge: return "malformed"
        default: return "connection"
        }
    }

}
