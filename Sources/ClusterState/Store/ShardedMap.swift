import Rules

/// A dictionary split into a fixed number of shards, so that a copy-on-write change to one key
/// copies one shard (about n/64 entries) and the shard table, never the whole map: a snapshot
/// published after every watch event then costs O(n/64), not O(n), and readers keep theirs.
struct ShardedMap<Value: Sendable>: Sendable {
    static var shardCount: Int { 64 }

    private var shards: [[ObjectKey: Value]] = Array(repeating: [:], count: 64)
    private(set) var count = 0

    subscript(key: ObjectKey) -> Value? {
        get { shards[Self.shard(key)][key] }
        set {
            let index = Self.shard(key)
            if let newValue {
                if shards[index].updateValue(newValue, forKey: key) == nil { count += 1 }
            } else if shards[index].removeValue(forKey: key) != nil {
                count -= 1
            }
        }
    }

    /// Removes and returns the value for `key`.
    mutating func take(_ key: ObjectKey) -> Value? {
        let value = shards[Self.shard(key)].removeValue(forKey: key)
        if value != nil { count -= 1 }
        return value
    }

    /// Every key, in no particular order.
    var keys: [ObjectKey] { shards.flatMap(\.keys) }

    /// Every value, in no particular order.
    var values: [Value] { shards.flatMap(\.values) }

    private static func shard(_ key: ObjectKey) -> Int {
        Int(UInt(bitPattern: key.hashValue) % UInt(shardCount))
    }
}
