import Foundation
import Testing
@_spi(Testing) @testable import KubeModel
@testable import Rules

/// The webhook reads `spec.rules` of an Ingress under review straight from the body into the view
/// (`JSONParser.readIngressRules`) when they have the shape the API server sends, and builds the
/// tree from the same bytes otherwise. These tests hold the reading to the tree, rule by rule and
/// error by error: for every shape, and for thousands of mutated bodies, the request decodes to
/// the same view, the same findings and the same error as with the rules kept in the tree.
@Suite struct IngressRulesReadingTests {
    static let annotations = #"{"nginx.org/policies":"ingress-mtls-policy","nginx.org/ssl-services":"coffee-svc,tea-svc"}"#

    static func review(rules: String, operation: String = "CREATE") -> String {
        let object = #"{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"cafe","namespace":"cafe","annotations":\#(annotations)},"spec":{"ingressClassName":"nginx","tls":[{"hosts":["cafe.example.com"],"secretName":"tls-secret"}],"rules":\#(rules)}}"#
        let old = operation == "UPDATE" ? object : "null"
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"networking.k8s.io","version":"v1","kind":"Ingress"},"namespace":"cafe","name":"cafe","operation":"\#(operation)","object":\#(object),"oldObject":\#(old)}}"#
    }

    static let path = #"{"path":"/tea","pathType":"Prefix","backend":{"service":{"name":"tea-svc","port":{"number":80}}}}"#
    static let views: [InMemorySnapshot?] = [InMemorySnapshot(objects: []), nil]

    /// Decodes `text` both ways and expects the same outcome; whether the rules were read directly.
    @discardableResult
    static func agree(_ text: String, _ comment: Comment? = nil) -> Bool? {
        let data = Data(text.utf8)
        let read = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: data) }
        let tree = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: data, readingIngressRules: false) }
        switch (read, tree) {
        case (.failure(let readError), .failure(let treeError)):
            #expect(readError.description == treeError.description, comment)
            return nil
        case (.success(let request), .success(let reference)):
            #expect(reference.objectIngressRules == nil)
            var withoutRules = request
            withoutRules.object = nil
            var referenceWithoutRules = reference
            referenceWithoutRules.object = nil
            withoutRules.objectIngressRules = nil
            #expect(withoutRules == referenceWithoutRules, comment)
            if request.objectIngressRules != nil {
                #expect(request.object?["spec"]?["rules"] == nil, comment)
            } else {
                #expect(request.object == reference.object, comment)
            }
            let subject = ReviewInput(request).subject
            let referenceSubject = ReviewInput(reference).subject
            #expect(subject.map(IngressView.init) == referenceSubject.map(IngressView.init), comment)
            let settings = Settings(now: Date(timeIntervalSince1970: 1_800_000_000))
            for view in views {
                #expect(RuleEngine.evaluate(ReviewInput(request), snapshot: view, settings: settings)
                        == RuleEngine.evaluate(ReviewInput(reference), snapshot: view, settings: settings), comment)
            }
            return request.objectIngressRules != nil
        default:
            Issue.record("one way decoded and the other did not: \(read) / \(tree) \(comment?.rawValue ?? "")")
            return nil
        }
    }

    /// Shapes read directly: the view reads each as the tree gives it.
    @Test(arguments: [
        "[]", "null", "[{}]", " [ { \"host\" : \"cafe.example.com\" , \"http\" : { \"paths\" : [ \(path) ] } } ] ",
        #"[{"host":"cafe.example.com","http":null}]"#, #"[{"http":{}}]"#, #"[{"http":{"paths":null}}]"#,
        #"[{"http":{"paths":[{}]}}]"#, #"[{"http":{"paths":[{"path":"/","backend":null}]}}]"#,
        #"[{"http":{"paths":[{"path":"/","backend":{}}]}}]"#, #"[{"http":{"paths":[{"backend":{"service":null}}]}}]"#,
        #"[{"http":{"paths":[{"backend":{"resource":{"apiGroup":"k8s.example.com","kind":"Bucket","name":"b"}}}]}}]"#,
        #"[{"host":5,"http":{"paths":[{"path":true,"backend":{"service":{"name":7,"port":{"name":"https"}}}}]}}]"#,
        #"[{"host":"caf\u00e9.example.com","x-unknown":{"deep":[1,2,{"a":null}]},"http":{"paths":[{"path":"/p\u0030","pathType":"Pre\u0066ix","backend":{"service":{"name":"coffee\u002dsvc"}}}]}}]"#,
        #"[{"host":"a.example.com","http":{"paths":[\#(path),\#(path)]}},{"host":"b.example.com","http":{"paths":[\#(path)]}}]"#,
        #"[{"http":{"paths":[{"path":"/","backend":{"service":{"name":"unknown-svc"}}}]}}]"#,
    ])
    func plainShapesAreReadIntoTheView(rules: String) {
        for operation in ["CREATE", "UPDATE"] {
            #expect(Self.agree(Self.review(rules: rules, operation: operation), "\(rules)") == true)
        }
    }

    /// Shapes the view reports, repeated names and names it cannot compare by bytes: left to the tree.
    @Test(arguments: [
        "[null]", #""rules""#, "{}", "5", #"[{"http":[]}]"#, #"[{"http":{"paths":{}}}]"#, #"[{"http":{"paths":[1]}}]"#,
        #"[{"http":{"paths":[{"backend":"svc"}]}}]"#, #"[{"http":{"paths":[{"backend":{"service":"svc"}}]}}]"#,
        #"[{"host":"a","host":"b"}]"#, #"[{"http":{"paths":[],"paths":[\#(path)]}}]"#,
        #"[{"http":{"paths":[{"path":"/a","path":"/b"}]}}]"#, #"[{"http":{"paths":[{"backend":{"service":{"name":"a","name":"tea-svc"}}}]}}]"#,
        #"[{"ho\u0073t":"cafe.example.com"}]"#, #"[{"hé":1,"host":"cafe.example.com"}]"#,
    ])
    func otherShapesAreLeftToTheTree(rules: String) {
        #expect(Self.agree(Self.review(rules: rules), "\(rules)") == false)
    }

    /// Invalid JSON inside the rules: the same error, at the same byte, as the tree's.
    @Test(arguments: [
        #"[{"host":"a"},]"#, #"[{"host":"a" "http":{}}]"#, #"[{"host":"a\#u{01}"}]"#, #"[{"http":{"paths":[{"pathType":"Pre\u00"}]}}]"#,
        #"[{"http":{"paths":[{"backend":{"service":{"port":{"number":01}}}}]}}]"#, #"[{"x":tru}]"#, "[", #"[{"host":"a"}"#,
        "[{\"x\":" + String(repeating: "[", count: 300) + String(repeating: "]", count: 300) + "}]",
    ])
    func invalidRulesGiveTheTreesError(rules: String) {
        #expect(Self.agree(Self.review(rules: rules), "\(rules)") == nil)
    }

    @Test func invalidUTF8InANameGivesTheTreesError() {
        var bytes = Array(Self.review(rules: #"[{"hXst":"a"}]"#).utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "X"))!
        bytes[at] = 0xFF
        let data = Data(bytes)
        #expect(throws: AdmissionReviewDecodingError.self) { try AdmissionReview.decodeRequest(from: data) }
        let readError = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: data) }
        let treeError = Result { () throws(AdmissionReviewDecodingError) in try AdmissionReview.decodeRequest(from: data, readingIngressRules: false) }
        if case .failure(let read) = readError, case .failure(let tree) = treeError {
            #expect(read.description == tree.description)
        }
    }

    /// A repeated `object`, `spec` or `rules`: the last one counts, as in the tree.
    @Test func repeatedMembersKeepTheLast() {
        let plain = #"[{"host":"a.example.com","http":{"paths":[\#(Self.path)]}}]"#
        let problem = "[null]"
        let review = Self.review(rules: plain)
        let object = #""object":{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"cafe"},"spec":{"rules":"#
        let cases = [
            // rules twice: plain then a problem, a problem then plain
            review.replacingOccurrences(of: #""rules":\#(plain)"#, with: #""rules":\#(plain),"rules":\#(problem)"#),
            review.replacingOccurrences(of: #""rules":\#(plain)"#, with: #""rules":\#(problem),"rules":\#(plain)"#),
            // spec twice, the second without rules; object twice, the second without spec
            review.replacingOccurrences(of: #""spec":{"ingressClassName":"nginx""#, with: #""spec":{"rules":\#(plain)},"spec":{"ingressClassName":"nginx""#)
                .replacingOccurrences(of: #","rules":\#(plain)}}"#, with: "}}"),
            review.replacingOccurrences(of: #""oldObject":null"#, with: #"\#(object)\#(plain)}},"object":{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"cafe"}}"#),
        ]
        for text in cases {
            #expect(text != review)
            Self.agree(text, "\(text)")
        }
        // A read after a repeated `spec` or `request` holds.
        let emptySpecFirst = review.replacingOccurrences(of: #""spec":{"ingressClassName":"nginx""#, with: #""spec":{},"spec":{"ingressClassName":"nginx""#)
        #expect(emptySpecFirst != review && Self.agree(emptySpecFirst) == true)
        let requestPart = String(review[review.range(of: #""request":"#)!.lowerBound...].dropLast())
        let twoRequests = String(review.dropLast()) + "," + requestPart + "}"
        #expect(Self.agree(twoRequests) == true)
        let secondWithoutRules = String(review.dropLast()) + "," + requestPart.replacingOccurrences(of: #","rules":\#(plain)"#, with: "") + "}"
        #expect(Self.agree(secondWithoutRules) == false)
        // A DELETE judges oldObject (in the tree) even when `object` was read; a later `kind` that
        // is not Ingress is judged as that kind both ways.
        let deleting = review.replacingOccurrences(of: #""operation":"CREATE""#, with: #""operation":"DELETE""#)
            .replacingOccurrences(of: #""oldObject":null"#, with: #""oldObject":{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"cafe"},"spec":{"rules":\#(plain)}}"#)
        #expect(Self.agree(deleting) == true)
        let kindAfter = String(review.dropLast(2)) + #","kind":{"group":"","version":"v1","kind":"Pod"}}}"#
        #expect(Self.agree(kindAfter) == true)

        // An oldObject's rules stay in the tree; only the reviewed object's are read.
        let update = Self.review(rules: plain, operation: "UPDATE")
        #expect(Self.agree(update) == true)
        let request = try? AdmissionReview.decodeRequest(from: Data(update.utf8))
        #expect(request?.oldObject?["spec"]?["rules"]?.arrayValue?.count == 1)
    }

    /// Thousands of bodies with the rules mutated byte by byte (a fixed seed): every one decodes
    /// to the same view, findings and error both ways, and many are still read directly.
    @Test func mutatedRulesAgreeWithTheTree() {
        let rules = #"[{"host":"cafe.example.com","http":{"paths":[\#(Self.path),{"path":"/coffee","backend":{"service":{"name":"coffee-svc"}}}]}},{"http":null}]"#
        let base = Array(rules.utf8)
        let alphabet = Array(#"{}[],:" \nab0-9.e\u/nulltruefalse"#.utf8)
        let names = ["host", "http", "paths", "path", "backend", "service", "name", "port", "resource", "pathType", "x"]
        let values = ["null", "1", #""tea-svc""#, "{}", "[]", #"{"name":"coffee-svc"}"#, #"[{"path":"/"}]"#, "true"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var outcomes = (read: 0, tree: 0, failed: 0)
        for _ in 0..<3_000 {
            var bytes = base
            for _ in 0...next(3) {
                let at = next(bytes.count)
                switch next(4) {
                case 0: bytes[at] = alphabet[next(alphabet.count)]
                case 1: bytes.insert(alphabet[next(alphabet.count)], at: at)
                case 2: bytes.remove(at: at)
                default:
                    // After a '{' or ',': a member the view reads (or a repeat of one), of any type.
                    guard let place = bytes[at...].firstIndex(where: { $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: ",") }) else { continue }
                    let member = "\"\(names[next(names.count)])\":\(values[next(values.count)]),"
                    bytes.insert(contentsOf: Array(member.utf8), at: place + 1)
                }
            }
            let text = Self.review(rules: String(decoding: bytes, as: UTF8.self))
            switch Self.agree(text, "\(String(decoding: bytes, as: UTF8.self))") {
            case true?: outcomes.read += 1
            case false?: outcomes.tree += 1
            case nil: outcomes.failed += 1
            }
        }
        #expect(outcomes.read > 500 && outcomes.tree > 50 && outcomes.failed > 500, "\(outcomes)")
    }
}
