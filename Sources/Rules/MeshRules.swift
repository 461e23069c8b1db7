import Foundation
import KubeModel

/// Section 6 of docs/rules.md: NGINX Service Mesh `config.nsm.nginx.com/mtls-mode` on pods and pod templates.
///
/// Decisions:
/// - A valid value in another case (`Strict`) is accepted (NSM lower-cases it) and gets a **warn**
///   finding under `mesh/mtls-mode-value`, saying the canonical form is lowercase; only values that are
///   not a mode in any case (or not a string) are denied under that ID.
/// - `mesh/mtls-mode-conflict` fires only for a *valid* non-strict value: an invalid value already
///   denies under `mesh/mtls-mode-value`, and NSM would fall back to the (strict) mesh-wide mode for it.
/// - The effective mode is the pod annotation when it is valid, else the mesh-wide mode; the other
///   rules (`mesh/mtls-off`, `mesh/udp-plaintext`, `mesh/ignored-ports`) read only that.
/// - `mesh/mtls-mode-placement` looks at the workload's own metadata and, for a CronJob, also at
///   `spec.jobTemplate.metadata`: annotations there reach the Job, never the pods.
public enum MeshRules {
    /// Kinds whose pod template the mesh rules read.
    public static let workloadKinds: Set<String> = [
        "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
    ]

    /// The per-pod mTLS mode annotation.
    public static let mtlsModeAnnotation = "config.nsm.nginx.com/mtls-mode"
    /// Annotations whose ports bypass the sidecar (and so mTLS).
    public static let ignoredPortAnnotations = [
        "config.nsm.nginx.com/ignore-incoming-ports", "config.nsm.nginx.com/ignore-outgoing-ports",
    ]

    static let modeValue: RuleID = "mesh/mtls-mode-value"
    static let modeConflict: RuleID = "mesh/mtls-mode-conflict"
    static let placement: RuleID = "mesh/mtls-mode-placement"
    static let mtlsOff: RuleID = "mesh/mtls-off"
    static let udpPlaintext: RuleID = "mesh/udp-plaintext"
    static let ignoredPorts: RuleID = "mesh/ignored-ports"

    /// Every section 6 finding for `object`; none when it is not a Pod or a workload with a pod template.
    public static func findings(_ object: KubeObject, settings: Settings) -> [Finding] {
        guard let pod = PodTemplateView(object) else { return [] }
        return findings(pod, settings: settings)
    }

    /// Every section 6 finding for an already built pod view.
    public static func findings(_ pod: PodTemplateView, settings: Settings) -> [Finding] {
        var findings: [Finding] = []
        // Locations are rendered only for a finding: most templates have none.
        func annotationsPath() -> FieldPath { path(pod.templatePath + [.field("metadata"), .field("annotations")]) }
        func modePath() -> FieldPath { annotationsPath().key(mtlsModeAnnotation) }
        let global = settings.meshMTLSMode

        for error in pod.typeErrors where error.area == .metadata {
            findings.append(Finding(
                rule: modeValue, severity: .deny, field: path(error.path),
                message: "Invalid value: \(error.found): must be \(article(error.expected)) \(error.expected); the pod's \(mtlsModeAnnotation) annotation cannot be read"))
        }

        // The annotation as NSM reads it: nil when absent, else the mode it selects (nil when invalid).
        var podMode: MeshMTLSMode?
        if let raw = pod.metadata.malformedAnnotations[mtlsModeAnnotation] {
            findings.append(Finding(
                rule: modeValue, severity: .deny, field: modePath(),
                message: "Invalid value: \(raw.typeName): must be a string, one of \"off\", \"permissive\", \"strict\" (quote it in YAML); NSM falls back to the mesh-wide mode \"\(global.rawValue)\""))
        } else if let value = pod.metadata.annotations[mtlsModeAnnotation] {
            if let mode = MeshMTLSMode(rawValue: value.lowercased()) {
                podMode = mode
                if value != mode.rawValue {
                    findings.append(Finding(
                        rule: modeValue, severity: .warn, field: modePath(),
                        message: "Non-canonical value: \(FieldError.quote(value)): NSM accepts any case, but the canonical form is lowercase \(FieldError.quote(mode.rawValue))"))
                }
            } else {
                findings.append(Finding(
                    rule: modeValue, severity: .deny, field: modePath(),
                    message: "Unsupported value: \(FieldError.quote(value)): supported values: \"off\", \"permissive\", \"strict\"; NSM would silently fall back to the mesh-wide mode \"\(global.rawValue)\""))
            }
        }

        if global == .strict, let podMode, podMode != .strict {
            findings.append(Finding(
                rule: modeConflict, severity: .deny, field: modePath(),
                message: "Forbidden: mtls-mode \(FieldError.quote(podMode.rawValue)) under mesh-wide mode \"strict\": NSM does not allow downgrading a pod below the mesh-wide mode; remove the annotation or set it to \"strict\""))
        }

        for outer in pod.enclosing {
            guard outer.metadata.annotations[mtlsModeAnnotation] != nil
                || outer.metadata.malformedAnnotations[mtlsModeAnnotation] != nil
            else { continue }
            let outerPath = path(outer.path + [.field("annotations")]).key(mtlsModeAnnotation)
            findings.append(Finding(
                rule: placement, severity: .warn, field: outerPath,
                message: "Ineffective: NSM reads this annotation on pods only; move it to \(annotationsPath())"))
        }

        let effective = podMode ?? global
        let effectiveSource = podMode == nil ? "mesh-wide mode" : "annotation"

        if effective == .off {
            findings.append(Finding(
                rule: mtlsOff, severity: .warn, field: podMode == nil ? path(pod.templatePath + [.field("metadata")]) : modePath(),
                message: "mTLS is off for this pod (\(effectiveSource) \"off\"): its mesh traffic is plaintext, suitable only for development"))
        }

        if effective != .off {
            for error in pod.typeErrors where error.area == .spec {
                findings.append(Finding(
                    rule: udpPlaintext, severity: .warn, field: path(error.path),
                    message: "Invalid value: \(error.found): must be \(article(error.expected)) \(error.expected); UDP ports here cannot be checked"))
            }
            for container in pod.containers {
                for port in container.ports where isUDP(port.protocolName) {
                    let portPath = path(pod.templatePath + [.field("spec")]).child(container.list).index(container.index).child("ports").index(port.index)
                    let number = port.containerPort.map { " \($0)" } ?? ""
                    let who = container.name.map { "container \(FieldError.quote($0))" } ?? "this container"
                    findings.append(Finding(
                        rule: udpPlaintext, severity: .warn, field: portPath.child("protocol"),
                        message: "\(who) UDP port\(number): NSM does not protect UDP with mTLS (mode \"\(effective.rawValue)\"); datagrams go in plaintext"))
                }
            }
        }

        if effective == .strict {
            for key in ignoredPortAnnotations {
                guard let value = pod.metadata.annotations[key],
                      !value.trimmingCharacters(in: .whitespaces).isEmpty
                else { continue }
                findings.append(Finding(
                    rule: ignoredPorts, severity: .warn, field: annotationsPath().key(key),
                    message: "Ports \(FieldError.quote(value)) bypass the sidecar: under strict mTLS their traffic is neither encrypted nor authenticated by the mesh"))
            }
        }
        return findings
    }

    /// `protocol` names UDP in any case, as `uppercased() == "UDP"` decides: ASCII (every real
    /// value) by its bytes, anything else by the Unicode case mapping.
    static func isUDP(_ protocolName: String) -> Bool {
        let bytes = protocolName.utf8
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return protocolName.uppercased() == "UDP" }
        return bytes.count == 3 && bytes.elementsEqual("UDP".utf8) { $0 & 0xDF == $1 }
    }

    /// Renders view locations as a `FieldPath`.
    static func path(_ segments: [PodTemplateView.PathSegment]) -> FieldPath {
        var result: FieldPath?
        for segment in segments {
            switch segment {
            case .field(let name): result = result.map { $0.child(name) } ?? FieldPath(name)
            case .index(let i): result = (result ?? FieldPath.object).index(i)
            case .key(let k): result = (result ?? FieldPath.object).key(k)
            }
        }
        return result ?? .object
    }

    /// `an` before the JSON type names that start with a vowel (`an object`, `an array`), else `a`.
    static func article(_ typeName: String) -> String {
        typeName.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    }
}
