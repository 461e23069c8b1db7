import Foundation
@_spi(Testing) import KubeModel
import Rules

/// libFuzzer entry: an AdmissionReview body as the webhook receives it, decoded and judged with and
/// without a cluster view (the request's own object forms the view). An Ingress's `spec.rules`
/// read straight into the view must give what the tree gives: the same error, or the same view and
/// findings; a difference stops the fuzzer as a crash would.
@_cdecl("LLVMFuzzerTestOneInput")
public func admissionReviewFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    let read = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: body) }
    let tree = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: body, readingIngressRules: false) }
    let settings = Settings(now: Date(timeIntervalSince1970: 1_900_000_000))
    switch (read, tree) {
    case (.failure(let readError), .failure(let treeError)):
        guard readError.description == treeError.description else { fatalError("errors differ: \(readError) / \(treeError)") }
        return 0
    case (.success(let request), .success(let reference)):
        let view = ReviewInput(request).subject.map(IngressView.init)
        guard view == ReviewInput(reference).subject.map(IngressView.init),
              RuleEngine.evaluate(ReviewInput(request), snapshot: nil, settings: settings)
                == RuleEngine.evaluate(ReviewInput(reference), snapshot: nil, settings: settings)
        else { fatalError("spec.rules read straight into the view differ from the tree's") }
    default:
        fatalError("decoded one way only: \(read) / \(tree)")
    }
    guard case .success(let request) = read else { return 0 }
    let input = ReviewInput(request)
    _ = RuleEngine.evaluate(input, snapshot: nil, settings: settings)
    let objects = [request.currentObject, request.previousObject].compactMap { $0.flatMap(KubeObject.init) }
    _ = RuleEngine.evaluate(input, snapshot: InMemorySnapshot(objects: objects), settings: settings)
    return 0
}
