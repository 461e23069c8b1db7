import Rules

/// The reverse index walk: which objects a change can alter the verdict of. A Secret's verdict
/// reaches the Policies and Ingresses/VirtualServers that name it, and a Policy's verdict reaches
/// the Ingresses, VirtualServers and VirtualServerRoutes that use it; nothing else reads another
/// object. The snapshot's referrer indexes answer each step, so the cost is the number of
/// referrers, never the size of the cluster.
public enum ReferrerClosure {
    /// `changed` and every object whose verdict may depend on one of them, in `snapshot`.
    /// Deleted objects stay in the answer (their verdict is removed), and their referrers are
    /// found all the same: the indexes are keyed by the name referenced, not by the object.
    public static func affected(by changed: some Sequence<AuditSubject>, in snapshot: any ClusterSnapshot) -> Set<AuditSubject> {
        var affected = Set<AuditSubject>()
        var policies = Set<ObjectKey>()
        for subject in changed {
            affected.insert(subject)
            if subject.isSecret {
                for referrer in snapshot.secretReferrers(namespace: subject.key.namespace, name: subject.key.name) {
                    let referring = AuditSubject(referrer)
                    affected.insert(referring)
                    if referring.isPolicy { policies.insert(referring.key) }
                }
            } else if subject.isPolicy {
                policies.insert(subject.key)
            }
        }
        for policy in policies {
            for referrer in snapshot.policyReferrers(namespace: policy.namespace, name: policy.name) {
                affected.insert(AuditSubject(referrer))
            }
        }
        return affected
    }
}
