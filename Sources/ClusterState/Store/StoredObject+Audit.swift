import Rules

extension StoredObject {
    /// For a CA or TLS Secret: the deny findings on its content computed at ingest, while the
    /// private key was still there (it is gone from `object` now); `nil` for other objects.
    public var ingestedContentFailures: [Finding]? { contentFailures }
}
