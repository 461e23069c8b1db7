import Foundation

/// A `k8s.nginx.org/v1` Policy as the mTLS rules read it.
public struct PolicyView: Sendable, Hashable {
    /// The one member of `spec` that is not a policy type.
    ///
    /// There is deliberately no list of types: the API server prunes members the installed CRD does not
    /// know, so every other member that reaches us is a type of the NIC that is installed (v5.5 has
    /// accessControl, rateLimit, jwt, basicAuth, ingressMTLS, egressMTLS, oidc, waf, apiKey, cache, cors,
    /// externalAuth; newer releases add more).
    public static let nonTypeMembers: Set<String> = ["ingressClassName"]

    public var metadata: ObjectMeta
    /// `spec` is present and an object.
    public var hasSpec: Bool
    /// Policy types set in `spec`: every non-null member except `ingressClassName`, in name order.
    /// `ingressMTLS: {}` counts as set; `ingressMTLS: null` does not.
    public var setTypes: [String]
    /// `spec.ingressMTLS`, when set (even if it was not an object).
    public var ingressMTLS: IngressMTLSView?
    /// `spec.egressMTLS`, when set (even if it was not an object).
    public var egressMTLS: EgressMTLSView?
    /// Containers of the wrong type (`spec: "x"`, `ingressMTLS: []`).
    public var shapeProblems: [ShapeProblem]

    public init(_ object: KubeObject) {
        metadata = object.metadata
        var reader = ShapeReader()
        let spec = reader.object(object.raw["spec"], at: "spec")
        hasSpec = spec != nil
        ingressClassName = spec?["ingressClassName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        setTypes = (spec ?? [:]).filter { key, value in !Self.nonTypeMembers.contains(key) && !value.isNull }
            .keys.sorted()
        if let raw = spec?["ingressMTLS"], !raw.isNull {
            ingressMTLS = IngressMTLSView(reader.object(raw, at: "spec.ingressMTLS") ?? [:])
        }
        if let raw = spec?["egressMTLS"], !raw.isNull {
            egressMTLS = EgressMTLSView(reader.object(raw, at: "spec.egressMTLS") ?? [:])
        }
        shapeProblems = reader.problems
    }

    public var namespace: String { metadata.namespace ?? "default" }
    public var name: String { metadata.name ?? "" }

    /// `spec.ingressClassName`; `nil` when unset or `""` (NIC's `HasCorrectIngressClass` accepts an empty class).
    public var ingressClassName: String?

    /// Whether the Policy's class is one of `classes` (or unset).
    public func belongs(to classes: Set<String>) -> Bool {
        ingressClassName.map(classes.contains) ?? true
    }
}

/// `spec.ingressMTLS` of a Policy: client certificate verification on the NGINX server.
public struct IngressMTLSView: Sendable, Hashable {
    public var clientCertSecret: FieldValue<String>
    public var verifyClient: FieldValue<String>
    public var verifyDepth: FieldValue<Int64>
    public var crlFileName: FieldValue<String>

    public init(_ members: JSONObject) {
        clientCertSecret = FieldValue(string: members["clientCertSecret"])
        verifyClient = FieldValue(string: members["verifyClient"])
        verifyDepth = FieldValue(integer: members["verifyDepth"])
        crlFileName = FieldValue(string: members["crlFileName"])
    }
}

/// `spec.egressMTLS` of a Policy: the client certificate and server verification NGINX uses towards upstreams.
public struct EgressMTLSView: Sendable, Hashable {
    public var tlsSecret: FieldValue<String>
    public var trustedCertSecret: FieldValue<String>
    public var verifyServer: FieldValue<Bool>
    public var serverName: FieldValue<Bool>
    public var sslName: FieldValue<String>
    public var verifyDepth: FieldValue<Int64>
    public var protocols: FieldValue<String>
    public var ciphers: FieldValue<String>
    public var sessionReuse: FieldValue<Bool>

    public init(_ members: JSONObject) {
        tlsSecret = FieldValue(string: members["tlsSecret"])
        trustedCertSecret = FieldValue(string: members["trustedCertSecret"])
        verifyServer = FieldValue(bool: members["verifyServer"])
        serverName = FieldValue(bool: members["serverName"])
        sslName = FieldValue(string: members["sslName"])
        verifyDepth = FieldValue(integer: members["verifyDepth"])
        protocols = FieldValue(string: members["protocols"])
        ciphers = FieldValue(string: members["ciphers"])
        sessionReuse = FieldValue(bool: members["sessionReuse"])
    }
}
