import Hummingbird
import NIOCore

/// The plain-HTTP operations port: `/metrics` in Prometheus text format, plus `/healthz` and
/// `/readyz` for probes that cannot speak TLS.
public struct MetricsResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    let metrics: WebhookMetrics
    let readiness: Readiness
    /// Called before each scrape to refresh values read from elsewhere (certificate expiry).
    let refresh: @Sendable () -> Void

    public init(metrics: WebhookMetrics, readiness: Readiness, refresh: @escaping @Sendable () -> Void = {}) {
        self.metrics = metrics
        self.readiness = readiness
        self.refresh = refresh
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return WebhookResponder.methodNotAllowed("GET, HEAD")
        }
        switch request.uri.path {
        case "/metrics":
            refresh()
            metrics.setReady(readiness.isReady)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        case "/healthz":
            return WebhookResponder.text(.ok, "ok\n")
        case "/readyz":
            if let reason = readiness.notReadyReason { return WebhookResponder.text(.serviceUnavailable, "not ready: \(reason)\n") }
            return WebhookResponder.text(.ok, "ok\n")
        default:
            return WebhookResponder.status(.notFound, "no such path; this port serves /metrics, /healthz, /readyz")
        }
    }
}
