import Foundation
import KubeModel
import Rules

/// libFuzzer entry: an AdmissionReview body as the webhook receives it, decoded and judged with and
/// without a cluster view (the request's own object forms the view).
@_cdecl("LLVMFuzzerTestOneInput")
public func admissionReviewFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let request = try? AdmissionReview.decodeRequest(from: Data(bytes: data, count: size)) else { return 0 }
    let input = ReviewInput(request)
    let settings = Settings(now: Date(timeIntervalSince1970: 1_900_000_000))
    _ = RuleEngine.evaluate(input, snapshot: nil, settings: settings)
    let objects = [request.currentObject, request.previousObject].compactMap { $0.flatMap(KubeObject.init) }
    _ = RuleEngine.evaluate(input, snapshot: InMemorySnapshot(objects: objects), settings: settings)
    return 0
}
