import KubeModel
import Rules

extension LiveSnapshot {
    /// The labels of Namespace `name`; `nil` when the view does not hold it.
    public func namespaceLabels(_ name: String) -> [String: String]? {
        stored(.namespaces, ObjectKey(namespace: "", name: name))?.object.metadata.labels
    }
}
