import Foundation
import Testing
@testable import KubeModel

@Suite struct ViewTests {
    static func object(_ yaml: String) throws -> KubeObject {
        try #require(try ManifestLoader.load(data: Data(yaml.utf8), source: "t").first?.object)
    }

    @Test func policyTypesAndFields() throws {
        let view = PolicyView(try Self.object("""
            apiVersion: k8s.nginx.org/v1
            kind: Policy
            metadata: {name: p, namespace: n}
            spec:
              ingressClassName: nginx
              egressMTLS: {tlsSecret: t, verifyServer: true, serverName: "yes", protocols: TLSv1.3, sessionReuse: false, verifyDepth: 2}
              ingressMTLS: null
            """))
        #expect(view.setTypes == ["egressMTLS"])
        #expect(view.ingressMTLS == nil)
        let egress = try #require(view.egressMTLS)
        #expect(egress.tlsSecret == .value("t"))
        #expect(egress.verifyServer == .value(true))
        #expect(egress.serverName == .wrongType(.string("yes")))
        #expect(egress.verifyDepth == .value(2))
        #expect(egress.sessionReuse == .value(false))
        #expect(egress.trustedCertSecret == .absent)
        #expect(view.namespace == "n")
    }

    @Test func emptyIngressMTLSCountsAsSet() throws {
        let view = PolicyView(try Self.object("apiVersion: k8s.nginx.org/v1\nkind: Policy\nmetadata: {name: p}\nspec: {ingressMTLS: {}}\n"))
        #expect(view.setTypes == ["ingressMTLS"])
        #expect(view.ingressMTLS?.clientCertSecret == .absent)
    }

    /// No closed list of types: every non-null member of spec but ingressClassName is one, in name order.
    @Test func everySpecMemberButTheClassIsAType() throws {
        let view = PolicyView(try Self.object("""
            apiVersion: k8s.nginx.org/v1
            kind: Policy
            metadata: {name: p}
            spec: {ingressClassName: "", someFutureType: {}, cache: {cacheZoneName: z}, waf: null}
            """))
        #expect(view.setTypes == ["cache", "someFutureType"])
        #expect(view.ingressClassName == nil)
        #expect(view.belongs(to: ["nginx"]))
        let classed = PolicyView(try Self.object("apiVersion: k8s.nginx.org/v1\nkind: Policy\nmetadata: {name: p}\nspec: {ingressClassName: other, cors: {}}\n"))
        #expect(classed.ingressClassName == "other" && !classed.belongs(to: ["nginx"]))
    }

    /// NIC's HasCorrectIngressClass: the legacy annotation, when non-empty, wins over spec.ingressClassName.
    @Test(arguments: [("{kubernetes.io/ingress.class: a}", "{ingressClassName: b}", "a"), ("{kubernetes.io/ingress.class: \"\"}", "{ingressClassName: b}", "b"),
                      ("{}", "{ingressClassName: b}", "b"), ("{}", "{ingressClassName: \"\"}", nil)])
    func ingressClassPrecedence(annotations: String, spec: String, expected: String?) throws {
        let view = IngressView(try Self.object("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i, annotations: \(annotations)}\nspec: \(spec)\n"))
        #expect(view.ingressClass == expected)
    }

    @Test func virtualServerTLSPresence() throws {
        func view(_ spec: String) throws -> VirtualServerView {
            VirtualServerView(try Self.object("apiVersion: k8s.nginx.org/v1\nkind: VirtualServer\nmetadata: {name: v}\nspec: \(spec)\n"))
        }
        #expect(try view("{tls: {}}").hasTLS && view("{tls: {}}").tlsSecret == .absent)
        #expect(try !view("{}").hasTLS)
        #expect(try view("{tls: {secret: s}}").tlsSecret == .value("s"))
    }

    @Test func ingressView() throws {
        let view = IngressView(try Self.object("""
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: i, annotations: {kubernetes.io/ingress.class: nginx, nginx.org/policies: 3}}
            spec:
              defaultBackend: {service: {name: fallback}}
              tls: [{hosts: [a.example.com], secretName: s}, {hosts: [b.example.com]}]
              rules:
              - host: a.example.com
                http: {paths: [{path: /, backend: {service: {name: web}}}, {path: /r, backend: {resource: {kind: Bucket, name: b}}}]}
              - host: b.example.com
                http: {paths: [{path: /, backend: {service: {name: web}}}]}
            """))
        #expect(view.ingressClass == "nginx")
        #expect(view.backendServiceNames == ["fallback", "web"])
        #expect(view.rules.map(\.host) == ["a.example.com", "b.example.com"])
        #expect(view.tls.map(\.secretName) == [.value("s"), .absent])
        #expect(view.metadata.malformedAnnotations["nginx.org/policies"] == .integer(3))
        #expect(view.shapeProblems.isEmpty)
    }

    @Test func wrongShapesAreRecordedNotFatal() throws {
        let view = IngressView(try Self.object("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: {host: a}, tls: [x]}\n"))
        #expect(view.rules.isEmpty)
        #expect(view.shapeProblems.map(\.path) == ["spec.rules", "spec.tls[0]"])
    }

    @Test func virtualServerView() throws {
        let view = VirtualServerView(try Self.object("""
            apiVersion: k8s.nginx.org/v1
            kind: VirtualServer
            metadata: {name: v, namespace: n}
            spec:
              host: a.example.com
              tls: {secret: s}
              policies: [{name: p}, {name: q, namespace: other}]
              upstreams: [{name: u, service: s, port: 80, type: grpc, tls: {enable: true}}]
              routes:
              - {path: /, action: {pass: u}, policies: [{name: r}]}
              - {path: /p, action: {proxy: {upstream: u}}}
              - {path: /d, route: n/vsr}
            """))
        #expect(view.tlsSecret == .value("s"))
        #expect(view.policies.map { $0.key(defaultNamespace: "n")?.namespace } == ["n", "other"])
        #expect(view.upstreams.first?.isGRPC == true && view.upstreams.first?.tlsEnabled == true)
        #expect(view.routes.map(\.upstreamName) == ["u", "u", nil])
        #expect(view.routes[1].upstreamNamePath == "spec.routes[1].action.proxy.upstream")
        #expect(view.routes[0].policies.first?.path == "spec.routes[0].policies[0]")
        #expect(view.routes[2].delegatesTo == "n/vsr")
    }

    @Test func virtualServerRouteView() throws {
        let view = VirtualServerRouteView(try Self.object("""
            apiVersion: k8s.nginx.org/v1
            kind: VirtualServerRoute
            metadata: {name: r}
            spec: {host: a.example.com, upstreams: [{name: u}], subroutes: [{path: /a, policies: [{name: 5}], action: {pass: u}}]}
            """))
        #expect(view.subroutes.first?.policies.first?.name == .wrongType(.integer(5)))
        #expect(view.subroutes.first?.policiesPath == "spec.subroutes[0].policies")
        #expect(view.namespace == "default")
    }
}
