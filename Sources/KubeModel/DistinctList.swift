/// Distinct elements in first-seen order. Lists that are almost always one to a few elements long
/// (backend Service names, Policy references) are checked by comparing along the list, without
/// hashing or a set's allocation; past `setThreshold` elements a set takes over, so long hostile
/// lists stay linear.
public struct DistinctList<Element: Hashable> {
    @usableFromInline static var setThreshold: Int { 8 }

    public var elements: [Element] { list }
    @usableFromInline var list: [Element] = []
    @usableFromInline var set: Set<Element>?

    @inlinable public init() {}

    /// Appends `element` unless it is already in the list; returns whether it was appended.
    /// Inlinable, so callers in other modules get it specialized for their element type.
    @discardableResult @inlinable
    public mutating func insert(_ element: Element) -> Bool {
        if set == nil, list.count >= Self.setThreshold { set = Set(list) }
        if set != nil {
            guard set?.insert(element).inserted == true else { return false }
        } else if list.contains(element) {
            return false
        }
        list.append(element)
        return true
    }
}
