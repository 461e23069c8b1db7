import Foundation

/// One entry of a `policies` list of a VirtualServer or VirtualServerRoute.
public struct PolicyReferenceView: Sendable, Hashable {
    public var name: FieldValue<String>
    public var namespace: FieldValue<String>
    /// Rendered path of this entry (`spec.routes[0].policies[1]`).
    public var path: String

    /// `namespace/name` with the namespace defaulted to `defaultNamespace`; `nil` when the name is unreadable.
    public func key(defaultNamespace: String) -> (namespace: String, name: String)? {
        guard let name = name.value, !name.isEmpty else { return nil }
        let namespace = self.namespace.value.flatMap { $0.isEmpty ? nil : $0 } ?? defaultNamespace
        return (namespace, name)
    }
}

/// An upstream of a VirtualServer or VirtualServerRoute.
public struct UpstreamView: Sendable, Hashable {
    public var name: String?
    /// `type`: `http` (default) or `grpc`.
    public var type: String?
    /// `tls.enable`.
    public var tlsEnabled: Bool
    public var path: String

    public var isGRPC: Bool { type == "grpc" }
}

/// A route of a VirtualServer or a subroute of a VirtualServerRoute.
public struct RouteView: Sendable, Hashable {
    public var path: String?
    public var policies: [PolicyReferenceView]
    /// Rendered path of `policies` (`spec.routes[0].policies`).
    public var policiesPath: String
    /// The upstream the route sends to: `action.pass`, else `action.proxy.upstream`.
    public var upstreamName: String?
    /// Rendered path of the field that names the upstream.
    public var upstreamNamePath: String
    /// `route`: the route delegates to a VirtualServerRoute.
    public var delegatesTo: String?
}

/// Reading shared by VirtualServer and VirtualServerRoute.
enum NGINXResourceReader {
    static func policies(_ raw: JSONValue?, at path: String, reader: inout ShapeReader) -> [PolicyReferenceView] {
        reader.array(raw, at: path).enumerated().map { index, entry in
            let entryPath = "\(path)[\(index)]"
            let members = reader.element(entry, at: entryPath)
            return PolicyReferenceView(name: FieldValue(string: members["name"]),
                                       namespace: FieldValue(string: members["namespace"]), path: entryPath)
        }
    }

    static func upstreams(_ raw: JSONValue?, reader: inout ShapeReader) -> [UpstreamView] {
        reader.array(raw, at: "spec.upstreams").enumerated().map { index, entry in
            let path = "spec.upstreams[\(index)]"
            let members = reader.element(entry, at: path)
            let tls = reader.object(members["tls"], at: "\(path).tls")
            return UpstreamView(name: members["name"]?.stringValue, type: members["type"]?.stringValue,
                                tlsEnabled: tls?["enable"]?.boolValue ?? false, path: path)
        }
    }

    static func routes(_ raw: JSONValue?, at path: String, reader: inout ShapeReader) -> [RouteView] {
        reader.array(raw, at: path).enumerated().map { index, entry in
            let routePath = "\(path)[\(index)]"
            let members = reader.element(entry, at: routePath)
            let action = reader.object(members["action"], at: "\(routePath).action")
            var upstreamName = action?["pass"]?.stringValue
            var upstreamNamePath = "\(routePath).action.pass"
            if upstreamName == nil, let proxy = reader.object(action?["proxy"], at: "\(routePath).action.proxy") {
                upstreamName = proxy["upstream"]?.stringValue
                upstreamNamePath = "\(routePath).action.proxy.upstream"
            }
            return RouteView(
                path: members["path"]?.stringValue,
                policies: policies(members["policies"], at: "\(routePath).policies", reader: &reader),
                policiesPath: "\(routePath).policies",
                upstreamName: upstreamName, upstreamNamePath: upstreamNamePath,
                delegatesTo: members["route"]?.stringValue)
        }
    }
}

/// A `k8s.nginx.org/v1` VirtualServer as the mTLS rules read it.
public struct VirtualServerView: Sendable, Hashable {
    public var metadata: ObjectMeta
    public var host: String?
    /// `spec.tls` is present (`tls: {}` included): NIC terminates TLS, with the wildcard certificate
    /// when `secret` is unset and NIC runs with `-wildcard-tls-secret`.
    public var hasTLS: Bool
    /// `spec.tls.secret`.
    public var tlsSecret: FieldValue<String>
    /// `spec.policies`: server-scope policies.
    public var policies: [PolicyReferenceView]
    public var upstreams: [UpstreamView]
    public var routes: [RouteView]
    public var shapeProblems: [ShapeProblem]

    public init(_ object: KubeObject) {
        metadata = object.metadata
        var reader = ShapeReader()
        let spec = reader.object(object.raw["spec"], at: "spec") ?? [:]
        host = spec["host"]?.stringValue
        let tls = reader.object(spec["tls"], at: "spec.tls")
        hasTLS = tls != nil
        tlsSecret = FieldValue(string: tls?["secret"])
        policies = NGINXResourceReader.policies(spec["policies"], at: "spec.policies", reader: &reader)
        upstreams = NGINXResourceReader.upstreams(spec["upstreams"], reader: &reader)
        routes = NGINXResourceReader.routes(spec["routes"], at: "spec.routes", reader: &reader)
        shapeProblems = reader.problems
    }

    public var namespace: String { metadata.namespace ?? "default" }
    public var name: String { metadata.name ?? "" }
}

/// A `k8s.nginx.org/v1` VirtualServerRoute as the mTLS rules read it.
public struct VirtualServerRouteView: Sendable, Hashable {
    public var metadata: ObjectMeta
    public var host: String?
    public var upstreams: [UpstreamView]
    public var subroutes: [RouteView]
    public var shapeProblems: [ShapeProblem]

    public init(_ object: KubeObject) {
        metadata = object.metadata
        var reader = ShapeReader()
        let spec = reader.object(object.raw["spec"], at: "spec") ?? [:]
        host = spec["host"]?.stringValue
        upstreams = NGINXResourceReader.upstreams(spec["upstreams"], reader: &reader)
        subroutes = NGINXResourceReader.routes(spec["subroutes"], at: "spec.subroutes", reader: &reader)
        shapeProblems = reader.problems
    }

    public var namespace: String { metadata.namespace ?? "default" }
    public var name: String { metadata.name ?? "" }
}
