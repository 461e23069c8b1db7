// Engine benchmark: reviews/s for a typical Ingress AdmissionReview against snapshots of 100 and
// 10,000 each of Policies, Secrets and Ingresses. The two sizes in one run show whether lookups
// scan (the rate would fall with size); JSON parsing of the same body is the reference (run.sh
// adds orjson's parse rate of the same file, the fast-parser reference, in the same run).
// Then a CREATE and an UPDATE of an nginx.org/ca Secret holding 3 self-signed RSA-2048 CAs (as
// bench/webhook's secret.json), timed whole and piece by piece: Secret decoding, PEM scanning,
// certificate parsing.
//
// Usage: mtls-guard-engine-bench [iterations]
//        mtls-guard-engine-bench profile <iterations> ingress|ingress-served|ingress-live|ingress-lookups|secret-update   (one loop, for callgrind)
// "ingress" reviews ENGINE_BENCH_BODY, whatever its kind (bench/profile.sh also runs it on the
// Deployment review); "ingress-served": the same against the manifests in ENGINE_BENCH_STATE as
// the snapshot, the cluster view `serve --state` has in bench/webhook (its Policy, Secrets and
// Services present), so the review judged is the one bench/webhook times.
// ENGINE_BENCH_BODY=<file>: the Ingress AdmissionReview to review (default: the one below).
// ENGINE_BENCH_STATE=<dir>: manifests for that view (bench/lib.sh's `bench_state` writes them).
import Certificates
import ClusterState
import Foundation
import KubeModel
import Rules
import Webhook

func object(_ json: String) -> KubeObject? {
    guard let value = try? JSONParser.parse(Data(json.utf8)) else { return nil }
    return KubeObject(value)
}

func snapshotObjects(count: Int) -> [KubeObject] {
    var objects: [KubeObject] = []
    objects.reserveCapacity(count * 3)
    for i in 0..<count {
        let ns = "team-\(i % 50)"
        objects.append(contentsOf: [
            object(#"{"apiVersion":"k8s.nginx.org/v1","kind":"Policy","metadata":{"name":"mtls-\#(i)","namespace":"\#(ns)"},"spec":{"ingressMTLS":{"clientCertSecret":"ca-\#(i)","verifyClient":"on","verifyDepth":1}}}"#),
            object(#"{"apiVersion":"v1","kind":"Secret","type":"Opaque","metadata":{"name":"ca-\#(i)","namespace":"\#(ns)"},"data":{"note":"aGVsbG8="}}"#),
            object(#"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"app-\#(i)","namespace":"\#(ns)","annotations":{"nginx.org/policies":"mtls-\#(i)"}},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["app-\#(i).example.com"],"secretName":"tls-\#(i)"}],"rules":[{"host":"app-\#(i).example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}"#),
        ].compactMap { $0 })
    }
    return objects
}

/// The cluster view bench/webhook's `serve --state` has: the manifests in ENGINE_BENCH_STATE.
func servedState() -> InMemorySnapshot? {
    guard let directory = ProcessInfo.processInfo.environment["ENGINE_BENCH_STATE"],
          let loaded = try? ManifestLoader.load(paths: [directory]) else { return nil }
    return InMemorySnapshot(objects: loaded.map(\.object))
}

let inlineReviewBody = Data(#"""
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench","kind":{"group":"networking.k8s.io","version":"v1","kind":"Ingress"},"resource":{"group":"networking.k8s.io","version":"v1","resource":"ingresses"},"name":"new-app","namespace":"team-7","operation":"CREATE","userInfo":{"username":"ci"},"object":{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"new-app","namespace":"team-7","annotations":{"nginx.org/policies":"mtls-7, mtls-57","nginx.org/ssl-services":"web"}},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["new-app.example.com","*.new-app.example.com"],"secretName":"tls-7"}],"rules":[{"host":"new-app.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}},{"path":"/api","pathType":"Prefix","backend":{"service":{"name":"api","port":{"number":8080}}}}]}},{"host":"v2.new-app.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}},"oldObject":null,"dryRun":false}}
"""#.utf8)
let reviewBody = ProcessInfo.processInfo.environment["ENGINE_BENCH_BODY"].flatMap { FileManager.default.contents(atPath: $0) }
    ?? inlineReviewBody

func measure(_ label: String, iterations: Int, _ body: () -> Void) -> Double {
    for _ in 0..<min(200, iterations) { body() }  // warm-up
    let clock = ContinuousClock()
    let elapsed = clock.measure { for _ in 0..<iterations { body() } }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(iterations) / seconds
    print(String(format: "%-52@ %10.0f /s", label as NSString, rate))
    return rate
}

let profiling = CommandLine.arguments.dropFirst().first == "profile"
let arguments = Array(CommandLine.arguments.dropFirst(profiling ? 2 : 1))
let iterations = Int(arguments.first ?? "") ?? 20_000
let reviewer = AdmissionReviewer(mode: .enforce, settings: { Settings(now: Date()) })

/// What the webhook does per request after the body has arrived: decode, review, encode, and
/// freeing the decoded request. Never inlined, so `bench/profile.sh` counts exactly this.
@inline(never)
func fullReview(_ body: Data, snapshot: any ClusterSnapshot) {
    guard let request = try? AdmissionReview.decodeRequest(from: body) else { return }
    let outcome = reviewer.review(request, snapshot: snapshot)
    _ = AdmissionWire.responseBody(outcome.response)
}

/// `serve --kubeconfig`'s view of the same manifests, as its reflectors would store them.
func liveState() -> LiveSnapshot? {
    guard let directory = ProcessInfo.processInfo.environment["ENGINE_BENCH_STATE"],
          let loaded = try? ManifestLoader.load(paths: [directory]) else { return nil }
    return LiveSnapshot(ingesting: loaded.map(\.object))
}

/// What `serve` with the live view did per review before judging until it judged first and looked
/// up only what the review missed (`ClusterView.findMissingReferences`, now only after a miss): the
/// object built, its references listed and each read from the live snapshot. Profiled alone by
/// `ingress-lookups` (callgrind's per-function counts).
@inline(never)
func referencesLackingBeforeJudging(_ request: AdmissionRequest, snapshot: LiveSnapshot) -> Int {
    guard let object = ReviewInput(request).subject else { return 0 }
    return ClusterWatcher.missingReferences(of: object, in: snapshot).count
}

if profiling, let kind = arguments.dropFirst().first, kind == "ingress-live", let live = liveState() {
    // As `serve --kubeconfig` judges an Ingress on the event loop: the Namespace's mode label read,
    // the review judged through a `MissWatch` over the live snapshot.
    for _ in 0..<iterations {
        guard let request = try? AdmissionReview.decodeRequest(from: reviewBody) else { exit(1) }
        _ = request.namespace.flatMap { live.namespaceLabels($0)?[ClusterView.modeLabel] }
        let outcome = reviewer.review(request, snapshot: MissWatch(live))
        _ = AdmissionWire.responseBody(outcome.response)
    }
    exit(0)
}
if profiling, let kind = arguments.dropFirst().first, kind == "ingress-lookups", let live = liveState() {
    for _ in 0..<iterations {
        guard let request = try? AdmissionReview.decodeRequest(from: reviewBody) else { exit(1) }
        _ = referencesLackingBeforeJudging(request, snapshot: live)
    }
    exit(0)
}
if profiling, let kind = arguments.dropFirst().first, kind == "ingress" || kind == "ingress-served" {
    let snapshot: InMemorySnapshot
    if kind == "ingress" {
        snapshot = InMemorySnapshot(objects: snapshotObjects(count: 100))
    } else if let served = servedState() {
        snapshot = served
    } else {
        print("error: ingress-served needs ENGINE_BENCH_STATE, a directory of manifests")
        exit(1)
    }
    for _ in 0..<iterations { fullReview(reviewBody, snapshot: snapshot) }
    exit(0)
}
if !profiling {
    print("Ingress review body: \(reviewBody.count) bytes")

    let parseRate = measure("reference: JSONSerialization parse of the body", iterations: iterations) {
        _ = try? JSONSerialization.jsonObject(with: reviewBody)
    }
    var rates: [Int: Double] = [:]
    for size in [100, 10_000] {
        let build = ContinuousClock().measure { _ = InMemorySnapshot(objects: snapshotObjects(count: size)) }
        let snapshot = InMemorySnapshot(objects: snapshotObjects(count: size))
        print("snapshot of \(size * 3) objects built in \(build)")
        guard let request = try? AdmissionReview.decodeRequest(from: reviewBody) else {
            print("error: the bench review body does not decode")
            exit(1)
        }
        let findings = reviewer.review(request, snapshot: snapshot).evaluation.findings.map(\.rule.rawValue)
        print("  findings on the bench review: \(findings)")
        _ = measure("  engine only (\(size * 3) objects)", iterations: iterations) {
            _ = RuleEngine.evaluate(ReviewInput(request), snapshot: snapshot, settings: Settings(now: Date()))
        }
        rates[size] = measure("  decode + review + encode (\(size * 3) objects)", iterations: iterations) {
            fullReview(reviewBody, snapshot: snapshot)
        }
        if size == 100 {
            let outcome = reviewer.review(request, snapshot: snapshot)
            _ = measure("  decode only", iterations: iterations) { _ = try? AdmissionReview.decodeRequest(from: reviewBody) }
            _ = measure("  review only (AdmissionReviewer)", iterations: iterations) { _ = reviewer.review(request, snapshot: snapshot) }
            _ = measure("  encode only", iterations: iterations) { _ = AdmissionWire.responseBody(outcome.response) }
            if let served = servedState() {
                print("  against serve's view in bench/webhook (ENGINE_BENCH_STATE), findings: \(reviewer.review(request, snapshot: served).evaluation.findings.map(\.rule.rawValue))")
                _ = measure("  decode + review + encode, serve's view", iterations: iterations) {
                    fullReview(reviewBody, snapshot: served)
                }
            }
        }
    }
    if let small = rates[100], let large = rates[10_000] {
        print(String(format: "ratio full review / reference parse (30,000 objects): %.2f", large / parseRate))
        print(String(format: "ratio 30,000-object / 300-object snapshot rate: %.2f (1.0 = lookups do not scan)", large / small))
    }
}

// MARK: CA Secret review

func caBundlePEM() -> String? {
    var pem = ""
    for i in 0..<3 {
        let request = CertificateRequest(commonName: "bench CA \(i)", isCA: true, keyType: .rsa2048)
        guard let issued = try? CertificateFactory.selfSigned(request) else { return nil }
        pem += issued.certificatePEM
    }
    return pem
}

guard let bundlePEM = caBundlePEM() else {
    print("error: cannot generate the CA bundle")
    exit(1)
}
let bundleBytes = Array(bundlePEM.utf8)
let secretJSON = #"{"apiVersion":"v1","kind":"Secret","type":"nginx.org/ca","metadata":{"name":"ingress-mtls-secret","namespace":"cafe"},"data":{"ca.crt":"\#(Data(bundleBytes).base64EncodedString())"}}"#
let secretReviewBody = Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench-secret","kind":{"group":"","version":"v1","kind":"Secret"},"resource":{"group":"","version":"v1","resource":"secrets"},"name":"ingress-mtls-secret","namespace":"cafe","operation":"CREATE","userInfo":{"username":"ci"},"object":\#(secretJSON),"oldObject":null,"dryRun":false}}"#.utf8)
let secretUpdateBody = Data(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"bench-secret-update","kind":{"group":"","version":"v1","kind":"Secret"},"resource":{"group":"","version":"v1","resource":"secrets"},"name":"ingress-mtls-secret","namespace":"cafe","operation":"UPDATE","userInfo":{"username":"ci"},"object":\#(secretJSON),"oldObject":\#(secretJSON),"dryRun":false}}"#.utf8)
/// A Policy using the Secret, so an UPDATE also runs secret/in-use-update on the new content.
let usingSnapshot = InMemorySnapshot(objects: [
    object(#"{"apiVersion":"k8s.nginx.org/v1","kind":"Policy","metadata":{"name":"ingress-mtls","namespace":"cafe"},"spec":{"ingressMTLS":{"clientCertSecret":"ingress-mtls-secret","verifyClient":"on"}}}"#),
    object(secretJSON),
].compactMap { $0 })
if profiling {
    for _ in 0..<iterations { fullReview(secretUpdateBody, snapshot: usingSnapshot) }
    exit(0)
}
guard let secretObject = object(secretJSON),
      let secretRequest = try? AdmissionReview.decodeRequest(from: secretReviewBody),
      let ders = try? PEMBundle.certificates(from: bundleBytes).map(\.der)
else {
    print("error: the CA Secret bench inputs do not decode")
    exit(1)
}
let secretIterations = max(1, iterations / 4)
let secretSettings = Settings(now: Date())
print("CA Secret review (3 self-signed RSA-2048 CAs, \(secretReviewBody.count)-byte body)")
print("  findings: \(reviewer.review(secretRequest, snapshot: InMemorySnapshot(objects: [])).evaluation.findings.map(\.rule.rawValue))")
let emptySnapshot = InMemorySnapshot(objects: [])
_ = measure("  decode + review + encode", iterations: secretIterations) {
    fullReview(secretReviewBody, snapshot: emptySnapshot)
}
_ = measure("  UPDATE (old + new, Secret in use), full", iterations: secretIterations) {
    fullReview(secretUpdateBody, snapshot: usingSnapshot)
}
_ = measure("  engine only", iterations: secretIterations) {
    _ = RuleEngine.evaluate(ReviewInput(secretRequest), snapshot: emptySnapshot, settings: secretSettings)
}
_ = measure("  SecretView (base64 of data)", iterations: secretIterations) { _ = SecretView(secretObject) }
let secretView = SecretView(secretObject)
_ = measure("  SecretRules.contentFindings", iterations: secretIterations) {
    _ = SecretRules.contentFindings(secretView, settings: secretSettings)
}
_ = measure("  PEMBundle.blocks (scan + base64)", iterations: secretIterations) { _ = PEMBundle.blocks(in: bundleBytes) }
_ = measure("  PEMBundle.certificates", iterations: secretIterations) { _ = try? PEMBundle.certificates(from: bundleBytes) }
_ = measure("  3 x Certificate(derEncoded:)", iterations: secretIterations) {
    for der in ders { _ = try? Certificate(derEncoded: der) }
}
