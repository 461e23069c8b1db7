/// The members of a JSON object: each name once, in the order the document first gave it.
///
/// Kubernetes objects are many small objects (a backend is `{"service": {"name": ..., "port":
/// {"number": 80}}}`): a hashed `Dictionary` per object cost more than parsing its bytes (storage
/// allocation, generic metadata, hashing every name on insert and lookup, half of decoding an
/// Ingress review). Members live in one array and are found by comparing names, which for the
/// short names of Kubernetes fields is a couple of word compares. Objects with more members than
/// `indexThreshold` (label and annotation maps, Secret data) also keep a name index, so a hostile
/// object with a million members is still found in constant time and built in linear time.
///
/// As in Go's `encoding/json`, which the API server uses, a repeated name keeps its last value.
public struct JSONObject: Sendable {
    public typealias Element = (key: String, value: JSONValue)

    @usableFromInline
    struct Member: Sendable, Equatable {
        var key: String
        var value: JSONValue
    }

    @usableFromInline var members: ContiguousArray<Member>
    /// Position of each name in `members`, only for objects above `indexThreshold`.
    @usableFromInline var index: [String: Int]?

    static let indexThreshold = 16

    public init() {
        members = []
        index = nil
    }

    fileprivate init(members: ContiguousArray<Member>, index: [String: Int]?) {
        self.members = members
        self.index = index
    }

    /// Members in order; a repeated name keeps its first position and its last value.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        self.init()
        members.reserveCapacity(pairs.underestimatedCount)
        for (key, value) in pairs { self[key] = value }
    }

    /// From a dictionary: members sorted by name, so the order does not depend on hashing.
    public init(_ dictionary: [String: JSONValue]) {
        self.init(dictionary.sorted { $0.key < $1.key }.lazy.map { ($0.key, $0.value) })
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public var values: [JSONValue] { members.map(\.value) }

    private func position(of key: String) -> Int? {
        if let index { return index[key] }
        return members.firstIndex { Self.sameName($0.key, key) }
    }

    /// `==` with the byte counts compared first: most names compared along a member list differ,
    /// and for two short names of different length that is one instruction instead of the
    /// standard library's slow path for strings whose bits differ.
    @inline(__always)
    static func sameName(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && lhs == rhs
    }

    /// The member `key`; assigning `nil` removes it.
    public subscript(key: String) -> JSONValue? {
        get { position(of: key).map { members[$0].value } }
        set {
            switch (position(of: key), newValue) {
            case (let found?, let value?):
                members[found].value = value
            case (let found?, nil):
                members.remove(at: found)
                reindex()
            case (nil, let value?):
                members.append(Member(key: key, value: value))
                if index != nil {
                    index?[key] = members.count - 1
                } else if members.count > Self.indexThreshold {
                    reindex()
                }
            case (nil, nil):
                break
            }
        }
    }

    private mutating func reindex() {
        guard members.count > Self.indexThreshold else {
            index = nil
            return
        }
        var positions = [String: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() { positions[member.key] = position }
        index = positions
    }

    /// The members `isIncluded` keeps, in order.
    public func filter(_ isIncluded: (Element) throws -> Bool) rethrows -> JSONObject {
        var kept = JSONObject()
        for member in members where try isIncluded((member.key, member.value)) {
            kept.members.append(member)
        }
        kept.reindex()
        return kept
    }

    /// The members as a dictionary.
    public var dictionary: [String: JSONValue] {
        Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }
}

extension JSONObject {
    /// The object of members the parser collected in document order, which may repeat a name
    /// (rare): kept as they are unless a name repeats. Small objects (nearly all) are checked
    /// pairwise, larger ones through the index. `mayRepeat: false` is the parser's word that no
    /// name repeats (it tells short ASCII names apart by their bytes while reading them).
    init(parsed members: consuming ContiguousArray<Member>, mayRepeat: Bool = true) {
        if members.count <= Self.indexThreshold {
            var repeated = false
            if mayRepeat {
                outer: for later in members.indices.dropFirst() {
                    for earlier in members.indices[..<later] where Self.sameName(members[earlier].key, members[later].key) {
                        repeated = true
                        break outer
                    }
                }
            }
            if !repeated {
                self = JSONObject(members: members, index: nil)
                return
            }
        } else {
            var positions = [String: Int](minimumCapacity: members.count)
            for (position, member) in members.enumerated() where positions.updateValue(position, forKey: member.key) == nil {}
            if positions.count == members.count {
                self = JSONObject(members: members, index: positions)
                return
            }
        }
        var object = JSONObject()
        for member in members { object[member.key] = member.value }
        self = object
    }
}

extension JSONObject: Sequence {
    public struct Iterator: IteratorProtocol {
        var base: ContiguousArray<Member>.Iterator

        public mutating func next() -> Element? {
            base.next().map { ($0.key, $0.value) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: members.makeIterator()) }
    public var underestimatedCount: Int { members.count }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}

/// Equal when both have the same names with equal values, in any order (as JSON objects are).
extension JSONObject: Hashable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.members.allSatisfy { rhs[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of each member's own hash.
        var sum = 0
        for member in members {
            var own = Hasher()
            own.combine(member.key)
            own.combine(member.value)
            sum &+= own.finalize()
        }
        hasher.combine(members.count)
        hasher.combine(sum)
    }
}
