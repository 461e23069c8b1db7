import Foundation
import KubeModel

/// RULES.md §6: NGINX Service Mesh `config.nsm.nginx.com/mtls-mode` on pods and pod templates.
public enum MeshRules {
    /// Kinds whose pod template the mesh rules read.
    public static let workloadKinds: Set<String> = [
        "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob",
    ]

    public static func findings(_ object: KubeObject, settings: Settings) -> [Finding] {
        [] // Placeholder until §6 lands.
    }
}
