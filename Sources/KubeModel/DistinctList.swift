/// Distinct elements in first-seen order. Lists that are almost always one to a few elements long
/// (backend Service names, Policy references) are checked by comparing along the list, without
/// hashing or a set's allocation; past `setThreshold` elements a set takes over, so long hostile
/// lists stay linear.
public struct DistinctList<Element: Hashable> {
    static var setThreshold: Int { 8 }

    public private(set) var elements: [Element] = []
    private var set: Set<Element>?

    public init() {}

    /// Appends `element` unless it is already in the list; returns whether it was appended.
    @discardableResult
    public mutating func insert(_ element: Element) -> Bool {
        if set == nil, elements.count >= Self.setThreshold { set = Set(elements) }
        if set != nil {
            guard set?.insert(element).inserted == true else { return false }
        } else if elements.contains(element) {
            return false
        }
        elements.append(element)
        return true
    }
}
