import Foundation

/// A strict RFC 8259 parser from UTF-8 bytes straight into `JSONValue`.
///
/// The webhook parses every AdmissionReview body; `JSONDecoder` into an enum has to try each
/// type in turn (throwing on every miss), which made decoding cost ten times the rules. This
/// parser reads each byte once, keeps integers exact, rejects invalid UTF-8 and unpaired
/// surrogates, and bounds nesting so hostile input cannot exhaust the stack.
public struct JSONParser {
    /// Nesting deeper than this is refused; Kubernetes objects stay far below it.
    public static let maximumDepth = 256

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        /// Byte offset of the problem.
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// What a parse keeps.
    public enum Retention: Sendable {
        /// Every member of every object.
        case everything
        /// An AdmissionReview: everything except, in `request.object` and `request.oldObject`,
        /// what no rule reads and a body is mostly made of: `metadata.managedFields` (the API
        /// server's field-manager bookkeeping), and of each container of a pod or pod template
        /// (`spec`, `spec.template.spec`, `spec.jobTemplate.spec.template.spec`; `containers` and
        /// `initContainers`) every member but `name` and `ports` (environment, probes, resources,
        /// volume mounts: what `PodTemplateView.readsContainerMember` does not name). The paths
        /// are matched whatever the object's kind: only Pods and workloads have them (the API
        /// server prunes unknown fields), and `PodTemplateView` is the only reader of containers.
        /// When `request.kind` (which the API server sends before the objects) says
        /// `networking.k8s.io` `Ingress`, also each path's `pathType` and each backend's
        /// `service.port` (`spec.rules[].http.paths[]`, `spec.defaultBackend`): `IngressView`
        /// reads neither, and in an Ingress of many paths they are a third of the objects built.
        /// What is dropped is still checked to be valid JSON.
        case admissionReview
    }

    /// Parses one JSON text (surrounding whitespace allowed, nothing else).
    public static func parse(_ data: Data, retaining retention: Retention = .everything) throws(SyntaxError) -> JSONValue {
        let result: Result<JSONValue, SyntaxError> = data.withUnsafeBytes { raw in
            Result { () throws(SyntaxError) in try parse(bytes: raw, retaining: retention) }
        }
        return try result.get()
    }

    /// Parses one JSON text straight from memory the caller owns (a NIO `ByteBuffer`'s readable
    /// bytes), so the body is never copied into a `Data` first.
    public static func parse(bytes raw: UnsafeRawBufferPointer, retaining retention: Retention = .everything) throws(SyntaxError) -> JSONValue {
        try parseDocument(raw, role: retention == .admissionReview ? .review : .other, readingIngressRules: false).root
    }

    /// Parses an AdmissionReview as `Retention.admissionReview` does, and reads `spec.rules` of
    /// `request.object` of an Ingress review straight into `IngressView.Rule`s when it has the
    /// shape the API server sends (see `readIngressRules`). The rules are then not in the tree:
    /// `ingressRules` is what `IngressView` reads instead. `nil` when they are in the tree.
    /// `readingIngressRules: false` is `parse(bytes:retaining: .admissionReview)`.
    static func parseAdmissionReview(bytes raw: UnsafeRawBufferPointer,
                                     readingIngressRules: Bool = true) throws(SyntaxError) -> (root: JSONValue, ingressRules: [IngressView.Rule]?) {
        try parseDocument(raw, role: .review, readingIngressRules: readingIngressRules)
    }

    /// One JSON text (surrounding whitespace allowed, nothing else), its top value in `role`.
    private static func parseDocument(_ raw: UnsafeRawBufferPointer, role: Role,
                                      readingIngressRules: Bool) throws(SyntaxError) -> (root: JSONValue, ingressRules: [IngressView.Rule]?) {
        var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
        parser.readsIngressRules = readingIngressRules
        defer { parser.scratch.release() }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0, role: role)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected data after the JSON value") }
        return (value, parser.ingressRules)
    }

    /// Where a value sits in an AdmissionReview, to find the members `Retention.admissionReview` drops.
    private enum Role: UInt8 {
        /// `request`; `request.object` and its `spec` (as `reviewedObject` and `objectSpec`), and
        /// that `spec`'s `rules` when the review is of an Ingress (as `ingressRules`): where
        /// `parseAdmissionReview` reads them straight into the view. First, so that one compare
        /// of the raw value tells a member in one of these roles from all others.
        case request, currentObject, currentSpec, currentRules
        case review, reviewedObject, metadata
        /// `spec` of the reviewed object: a Pod's spec, or a workload's (with `template` or `jobTemplate`).
        case objectSpec
        /// `spec.template` of a workload, or of a CronJob's job template.
        case podTemplate
        /// `spec.jobTemplate` of a CronJob, and its `spec`.
        case jobTemplate, jobSpec
        /// `spec` of a pod template.
        case podSpec
        /// `containers` or `initContainers`, and one of their items.
        case containers, container
        /// An Ingress's `spec.rules` and one of its items, an item's `http`, its `paths` and one
        /// of their items, a backend (a path's or `spec.defaultBackend`) and its `service`.
        case ingressRules, ingressRule, ingressHTTP, ingressPaths, ingressPath, ingressBackend, ingressService
        case other

        /// The role of member `key` of an object in this role; `nil` when the member is dropped.
        /// `ingress`: the reviewed objects are Ingresses.
        func child(_ key: String, ingress: Bool) -> Role? {
            switch self {
            case .other: return .other
            case .review: return Self.named(key, "request") ? .request : .other
            case .request:
                if Self.named(key, "object") { return .currentObject }
                return Self.named(key, "oldObject") ? .reviewedObject : .other
            case .reviewedObject: return Self.named(key, "metadata") ? .metadata : Self.named(key, "spec") ? .objectSpec : .other
            case .currentObject: return Self.named(key, "metadata") ? .metadata : Self.named(key, "spec") ? .currentSpec : .other
            case .metadata: return Self.named(key, "managedFields") ? nil : .other
            case .objectSpec, .currentSpec:
                if ingress {
                    if Self.named(key, "rules") { return self == .currentSpec ? .currentRules : .ingressRules }
                    return Self.named(key, "defaultBackend") ? .ingressBackend : .other
                }
                if Self.named(key, "template") { return .podTemplate }
                if Self.named(key, "jobTemplate") { return .jobTemplate }
                return PodTemplateView.isContainerList(key) ? .containers : .other
            case .podTemplate: return Self.named(key, "spec") ? .podSpec : .other
            case .jobTemplate: return Self.named(key, "spec") ? .jobSpec : .other
            case .jobSpec: return Self.named(key, "template") ? .podTemplate : .other
            case .podSpec: return PodTemplateView.isContainerList(key) ? .containers : .other
            case .containers, .ingressRules, .currentRules, .ingressPaths: return .other
            case .container: return PodTemplateView.readsContainerMember(key) ? .other : nil
            case .ingressRule: return Self.named(key, "http") ? .ingressHTTP : .other
            case .ingressHTTP: return Self.named(key, "paths") ? .ingressPaths : .other
            case .ingressPath:
                if Self.named(key, "pathType") { return nil }
                return Self.named(key, "backend") ? .ingressBackend : .other
            case .ingressBackend: return Self.named(key, "service") ? .ingressService : .other
            case .ingressService: return Self.named(key, "port") ? nil : .other
            }
        }

        /// The role of an item of an array in this role.
        var element: Role {
            switch self {
            case .containers: return .container
            case .ingressRules, .currentRules: return .ingressRule
            case .ingressPaths: return .ingressPath
            default: return .other
            }
        }

        /// `key == name`, deciding most names by their length: two different short strings
        /// otherwise go to the standard library's slow comparison.
        @inline(__always)
        private static func named(_ key: String, _ name: String) -> Bool {
            JSONObject.sameName(key, name)
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var scratch = Scratch()
    /// `request.kind` of the AdmissionReview read so far is `networking.k8s.io` `Ingress`.
    private var reviewsIngress = false
    /// `parseAdmissionReview`: `spec.rules` of an Ingress's `request.object` may be read into `ingressRules`.
    private var readsIngressRules = false
    /// `spec.rules` of the last `request.object` read so far, when read straight into the view.
    private var ingressRules: [IngressView.Rule]?

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The work space of one parse, released by `parse` whether it returns or throws.
    ///
    /// - The members and elements of the objects and arrays still open sit on two stacks; a finished
    ///   object or array moves its own off the top into an array reserved at exactly their count.
    ///   Growing an array per object item by item cost an allocation and a copy for most objects.
    /// - Strings of up to 16 bytes already built are remembered by their bytes: the names and values
    ///   a Kubernetes object repeats (`path`, `pathType`, `Prefix`, `backend`, `service`, `name` in
    ///   every path of an Ingress) are built once and shared. A slot holds the last string that
    ///   hashed to it, so the table's size is fixed.
    ///
    /// A struct owned by the parser, not a class, so its fields are accessed without dynamic
    /// exclusivity checks; its memory comes from `malloc`, as `UnsafeMutablePointer.allocate` takes
    /// glibc's much slower aligned-allocation path on Linux.
    private struct Scratch {
        /// A remembered string and its first and last eight bytes (they overlap below 16; bytes past
        /// the end of a shorter string are zero). The string's own count completes the key.
        struct Slot {
            var head: UInt64
            var tail: UInt64
            var string: String
        }

        private(set) var memberCount = 0
        private(set) var elementCount = 0
        private var memberCapacity = Self.capacity(of: JSONObject.Member.self)
        private var elementCapacity = Self.capacity(of: JSONValue.self)
        private var members: UnsafeMutablePointer<JSONObject.Member>
        private var elements: UnsafeMutablePointer<JSONValue>
        /// The remembered strings, in four pieces (each under 1 KiB, see `allocationBytes`): an
        /// Ingress review has about 60 distinct short strings, and one piece's 30 slots kept
        /// evicting them (114 strings built per review instead of 62).
        private let pieces: (UnsafeMutablePointer<Slot>, UnsafeMutablePointer<Slot>, UnsafeMutablePointer<Slot>, UnsafeMutablePointer<Slot>)
        /// Which slots hold a string (bit `n % 64` of word `n / 64`): the others are uninitialized
        /// memory, so a parse initializes and frees only the slots it used.
        private var used = SIMD2<UInt64>()
        /// Each first allocation stays below glibc's large-chunk size (1,024 bytes with its header):
        /// a larger request first consolidates every small freed chunk (the last review's tree),
        /// which cost over a thousand instructions per allocation.
        static let allocationBytes = 960
        static let slotsPerPiece = allocationBytes / MemoryLayout<Slot>.stride
        static let slotCount = 4 * slotsPerPiece
        /// Strings of at most this many bytes are remembered.
        static let rememberedLength = 16

        private static func capacity<T>(of _: T.Type) -> Int { allocationBytes / MemoryLayout<T>.stride }

        init() {
            members = Self.allocate(JSONObject.Member.self, capacity: memberCapacity)
            elements = Self.allocate(JSONValue.self, capacity: elementCapacity)
            pieces = (Self.allocate(Slot.self, capacity: Self.slotsPerPiece), Self.allocate(Slot.self, capacity: Self.slotsPerPiece),
                      Self.allocate(Slot.self, capacity: Self.slotsPerPiece), Self.allocate(Slot.self, capacity: Self.slotsPerPiece))
        }

        /// Frees everything; a parse that threw leaves the items of the objects and arrays it had open.
        func release() {
            members.deinitialize(count: memberCount)
            free(members)
            elements.deinitialize(count: elementCount)
            free(elements)
            for word in 0..<2 {
                var bits = used[word]
                while bits != 0 {
                    slot(at: word * 64 + bits.trailingZeroBitCount).deinitialize(count: 1)
                    bits &= bits &- 1
                }
            }
            free(pieces.0)
            free(pieces.1)
            free(pieces.2)
            free(pieces.3)
        }

        mutating func push(_ member: consuming JSONObject.Member) {
            if memberCount == memberCapacity {
                members = Self.grown(members, count: memberCount, to: &memberCapacity)
            }
            (members + memberCount).initialize(to: member)
            memberCount += 1
        }

        mutating func push(_ element: consuming JSONValue) {
            if elementCount == elementCapacity {
                elements = Self.grown(elements, count: elementCount, to: &elementCapacity)
            }
            (elements + elementCount).initialize(to: element)
            elementCount += 1
        }

        /// The members pushed since the stack held `start`, moved out.
        mutating func popMembers(from start: Int) -> ContiguousArray<JSONObject.Member> {
            var taken = ContiguousArray<JSONObject.Member>()
            taken.reserveCapacity(memberCount - start)
            for position in start..<memberCount { taken.append((members + position).move()) }
            memberCount = start
            return taken
        }

        /// The elements pushed since the stack held `start`, moved out.
        mutating func popElements(from start: Int) -> [JSONValue] {
            var taken: [JSONValue] = []
            taken.reserveCapacity(elementCount - start)
            for position in start..<elementCount { taken.append((elements + position).move()) }
            elementCount = start
            return taken
        }

        /// The string of `slice` (at most `rememberedLength` bytes), built once per parse, and the
        /// slot it is remembered in (chosen by its bytes alone). `readable` bytes from the slice's
        /// start are inside the body, so eight can be read at once.
        mutating func string(_ slice: UnsafeBufferPointer<UInt8>, readable: Int) -> (string: String, slot: Int) {
            let length = slice.count
            var head: UInt64 = 0
            var tail: UInt64 = 0
            if let base = UnsafeRawPointer(slice.baseAddress), readable >= 8 {
                let first = base.loadUnaligned(as: UInt64.self)  // little-endian: the string's bytes are the low ones
                if length >= 8 {
                    head = first
                    tail = base.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
                } else if length > 0 {
                    head = first & (UInt64.max >> (64 - 8 * UInt64(length)))
                }
            } else {
                for (offset, byte) in slice.enumerated() where offset < 8 { head |= UInt64(byte) << (UInt64(offset) * 8) }
            }
            let hash = (head ^ (tail &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(length)) &* 0xBF58_476D_1CE4_E5B9
            let number = Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(Self.slotCount)) >> 32)
            let slot = slot(at: number)
            let bit: UInt64 = 1 << UInt64(number & 63)
            if used[number >> 6] & bit == 0 {
                used[number >> 6] |= bit
            } else {
                if slot.pointee.head == head, slot.pointee.tail == tail, slot.pointee.string.utf8.count == length {
                    return (slot.pointee.string, number)
                }
                slot.deinitialize(count: 1)
            }
            let string = Self.build(slice)
            slot.initialize(to: Slot(head: head, tail: tail, string: string))
            return (string, number)
        }

        private func slot(at number: Int) -> UnsafeMutablePointer<Slot> {
            let (piece, offset) = number.quotientAndRemainder(dividingBy: Self.slotsPerPiece)
            switch piece {
            case 0: return pieces.0 + offset
            case 1: return pieces.1 + offset
            case 2: return pieces.2 + offset
            default: return pieces.3 + offset
            }
        }

        /// The string of valid UTF-8 `bytes`. Up to 15 bytes the standard library builds it in place
        /// (a small string) and checks only that it is ASCII; `String(decoding:)` validated it again
        /// through a generic path at about twice the cost.
        static func build(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
            guard bytes.count <= 15, let source = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
            return String(unsafeUninitializedCapacity: bytes.count) { buffer in
                buffer.baseAddress?.update(from: source, count: bytes.count)
                return bytes.count
            }
        }

        private static func allocate<T>(_: T.Type, capacity: Int) -> UnsafeMutablePointer<T> {
            guard let raw = malloc(MemoryLayout<T>.stride * capacity) else { fatalError("out of memory") }
            return raw.bindMemory(to: T.self, capacity: capacity)
        }

        private static func grown<T>(_ old: UnsafeMutablePointer<T>, count: Int, to capacity: inout Int) -> UnsafeMutablePointer<T> {
            capacity *= 2
            let new = allocate(T.self, capacity: capacity)
            new.moveInitialize(from: old, count: count)
            free(old)
            return new
        }
    }

    private func error(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int, role: Role = .other) throws(SyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1, role: role)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1, role: role)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character")
        }
    }

    private mutating func expect(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] { throw error("invalid literal") }
        index += count
    }

    private mutating func parseObject(depth: Int, role: Role) throws(SyntaxError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object([:])
        }
        let start = scratch.memberCount
        // The slots of the names read so far: a name in a slot not yet seen is not a repeat, so
        // the object is built without comparing its names pairwise (`JSONObject(parsed:)`).
        var seenSlots = SIMD2<UInt64>()
        var mayRepeat = false
        /// A `rules` of the reviewed object's `spec` came before: a repeated one is left to the tree.
        var sawRules = false
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
            var slot = -1
            let key = try parseString(slot: &slot)
            if slot < 0 {
                mayRepeat = true
            } else {
                let bit: UInt64 = 1 << UInt64(slot & 63)
                if seenSlots[slot >> 6] & bit != 0 { mayRepeat = true }
                seenSlots[slot >> 6] |= bit
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            // Duplicate keys: the last wins, as in Go's encoding/json (what the API server uses).
            if let childRole = role.child(key, ingress: reviewsIngress) {
                var readIntoView = false
                if childRole.rawValue <= Role.currentRules.rawValue {
                    if childRole == .currentRules, readsIngressRules {
                        // A repeated `rules` replaces what an earlier one held, and is left to the
                        // tree (the tree keeps the last, and then holds every one but a read one).
                        ingressRules = sawRules ? nil : readIngressRules(depth: depth)
                        readIntoView = ingressRules != nil
                        sawRules = true
                    } else {
                        ingressRules = nil  // a repeated `request`, `object` or `spec` replaces what an earlier one held
                    }
                }
                if !readIntoView {
                    let value = try parseValue(depth: depth, role: childRole)
                    if role == .request, Self.isIngressKind(key, value) { reviewsIngress = true }
                    scratch.push(JSONObject.Member(key: key, value: value))
                }
            } else {
                try skipMember(depth: depth)
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(JSONObject(parsed: scratch.popMembers(from: start), mayRepeat: mayRepeat))
            }
            throw error("expected ',' or '}'")
        }
    }

    /// Whether member `key` of an AdmissionReview's request, `value`, is a `kind` naming Ingress.
    private static func isIngressKind(_ key: String, _ value: JSONValue) -> Bool {
        guard JSONObject.sameName(key, "kind"), case .object(let kind) = value else { return false }
        return kind["kind"]?.stringValue == "Ingress" && kind["group"]?.stringValue == "networking.k8s.io"
    }

    private mutating func parseArray(depth: Int, role: Role) throws(SyntaxError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array([])
        }
        let start = scratch.elementCount
        while true {
            skipWhitespace()
            scratch.push(try parseValue(depth: depth, role: role.element))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(scratch.popElements(from: start)) }
            throw error("expected ',' or ']'")
        }
    }

    /// Checks a value as strictly as `parseValue` does, without building it, with the same errors
    /// at the same offsets. A loop, not a recursion: what is skipped (the API server's managedFields)
    /// is many small objects, and a call per value cost more than reading its bytes. The kinds of
    /// the containers open inside the value are bits of a 256-bit stack (bit set: an object), so
    /// `depth` plus what is open here stays within `maximumDepth` as in `parseValue`.
    private mutating func skipValue(depth: Int) throws(SyntaxError) {
        var objects = SIMD4<UInt64>()
        var open = 0
        while true {
            // A value starts here.
            guard index < bytes.count else { throw error("unexpected end of input") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                try skipString()
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                guard depth + open + 1 <= Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
                let isObject = byte == UInt8(ascii: "{")
                if isObject { objects[open >> 6] |= 1 << UInt64(open & 63) } else { objects[open >> 6] &= ~(1 << UInt64(open & 63)) }
                open += 1
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1
                    open -= 1
                } else {
                    if isObject { try skipMemberName() }
                    continue
                }
            } else {
                _ = try parseValue(depth: depth + open)  // scalars allocate nothing
            }
            // A value ended: close containers until one has a next item.
            while true {
                guard open > 0 else { return }
                let isObject = objects[(open - 1) >> 6] & (1 << UInt64((open - 1) & 63)) != 0
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of input") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    if isObject { try skipMemberName() }
                    break
                }
                guard bytes[index] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw error(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
                index += 1
                open -= 1
            }
        }
    }

    /// A skipped object's member name and its colon, up to the value.
    @inline(__always)
    private mutating func skipMemberName() throws(SyntaxError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a member name") }
        try skipString()
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
        index += 1
        skipWhitespace()
    }

    // MARK: An Ingress's `spec.rules`, read straight into the view

    /// Reads `spec.rules` of the Ingress under review into `IngressView.Rule`s, exactly as
    /// `IngressView` reads them from the tree, when each rule and path is an object, `rules`,
    /// `http`, `paths`, `backend` and `service` are objects, arrays or null as the view expects, and
    /// no member the view reads appears twice in one object: the shape the API server sends. Then none of the objects of the paths is built, kept or freed: in an
    /// Ingress of many paths they were most of a review. Member names are compared by their bytes
    /// (a name with an escape or a byte beyond ASCII ends the reading here); the strings the view
    /// reads are parsed as the tree parses them; other members are checked and skipped, as dropped
    /// members are.
    ///
    /// At anything else (a shape the view reports as a problem, a repeated name, invalid JSON) it
    /// returns `nil` with `index` where it was, and the caller builds the tree from the same bytes:
    /// the outcome, finding or error, is always the tree's.
    private mutating func readIngressRules(depth: Int) -> [IngressView.Rule]? {
        let start = index
        // The deepest value read here (a service's members) is seven levels below `spec`, which
        // is at depth 4 in a review: never near the limit, but the reader must not rely on that.
        guard depth + 8 <= Self.maximumDepth else { return nil }
        do {
            if let rules = try plainIngressRules(depth: depth) { return rules }
        } catch {}
        index = start
        return nil
    }

    /// `spec.rules`; `depth` is that of `spec`, so a rule is an object at `depth + 2`.
    private mutating func plainIngressRules(depth: Int) throws(SyntaxError) -> [IngressView.Rule]? {
        var rules: [IngressView.Rule] = []
        if skipNull() { return rules }
        let read = try plainElements { (parser: inout JSONParser) throws(SyntaxError) -> Bool in
            guard let rule = try parser.plainIngressRule(rules.count, depth: depth + 2) else { return false }
            rules.append(rule)
            return true
        }
        return read ? rules : nil
    }

    /// One of `spec.rules`, an object at `depth`.
    private mutating func plainIngressRule(_ number: Int, depth: Int) throws(SyntaxError) -> IngressView.Rule? {
        var rule = IngressView.Rule(host: nil, hasHTTP: false, paths: [])
        var seen = (host: false, http: false)
        let read = try plainMembers { (parser: inout JSONParser, name) throws(SyntaxError) -> Bool in
            if Self.isName(name, "host") {
                guard Self.first(&seen.host) else { return false }
                rule.host = try parser.plainStringOrSkip(depth: depth)
            } else if Self.isName(name, "http") {
                guard Self.first(&seen.http) else { return false }
                if !parser.skipNull() {
                    guard let paths = try parser.plainIngressHTTP(rule: number, depth: depth + 1) else { return false }
                    rule.hasHTTP = true
                    rule.paths = paths
                }
            } else {
                try parser.skipMember(depth: depth)
            }
            return true
        }
        return read ? rule : nil
    }

    /// A rule's `http`, an object at `depth`: its paths.
    private mutating func plainIngressHTTP(rule: Int, depth: Int) throws(SyntaxError) -> [IngressView.Path]? {
        var paths: [IngressView.Path] = []
        let read = try plainMember("paths", depth: depth) { (parser: inout JSONParser) throws(SyntaxError) -> Bool in
            guard let read = try parser.plainIngressPaths(rule: rule, depth: depth + 1) else { return false }
            paths = read
            return true
        }
        return read ? paths : nil
    }

    /// `http.paths`, an array at `depth`.
    private mutating func plainIngressPaths(rule: Int, depth: Int) throws(SyntaxError) -> [IngressView.Path]? {
        var paths: [IngressView.Path] = []
        let read = try plainElements { (parser: inout JSONParser) throws(SyntaxError) -> Bool in
            let position = IngressView.Backend.Position(rule: rule, path: paths.count)
            guard let path = try parser.plainIngressPath(at: position, depth: depth + 1) else { return false }
            paths.append(path)
            return true
        }
        return read ? paths : nil
    }

    /// One of `http.paths`, an object at `depth`.
    private mutating func plainIngressPath(at position: IngressView.Backend.Position, depth: Int) throws(SyntaxError) -> IngressView.Path? {
        var path = IngressView.Path(path: nil, backend: IngressView.Backend(serviceName: nil, position: position))
        var seen = (path: false, backend: false)
        let read = try plainMembers { (parser: inout JSONParser, name) throws(SyntaxError) -> Bool in
            if Self.isName(name, "path") {
                guard Self.first(&seen.path) else { return false }
                path.path = try parser.plainStringOrSkip(depth: depth)
            } else if Self.isName(name, "backend") {
                guard Self.first(&seen.backend) else { return false }
                if !parser.skipNull() {
                    guard let serviceName = try parser.plainBackendServiceName(depth: depth + 1) else { return false }
                    path.backend.serviceName = serviceName
                }
            } else {
                try parser.skipMember(depth: depth)  // `pathType`
            }
            return true
        }
        return read ? path : nil
    }

    /// `service.name` of a backend, an object at `depth`: `.some(nil)` when `service` or its `name`
    /// is absent, null or (`name`) not a string, as the view reads it; `nil` when the reading must stop.
    private mutating func plainBackendServiceName(depth: Int) throws(SyntaxError) -> String?? {
        var serviceName: String?
        let read = try plainMember("service", depth: depth) { (parser: inout JSONParser) throws(SyntaxError) -> Bool in
            try parser.plainMember("name", depth: depth + 1) { (parser: inout JSONParser) throws(SyntaxError) -> Bool in
                serviceName = try parser.plainStringOrSkip(depth: depth + 1)
                return true
            }
        }
        return read ? .some(serviceName) : nil
    }

    /// Reads an object at `depth` of which the view reads one member, `name`: `value` reads it
    /// (unless it is null, which the view reads as absent) and returns `false` where the reading
    /// must stop; the other members are checked and skipped, and a repeated `name` stops it.
    /// Whether the object was read through its `}`.
    @inline(__always)
    private mutating func plainMember(
        _ name: StaticString, depth: Int, _ value: (inout JSONParser) throws(SyntaxError) -> Bool
    ) throws(SyntaxError) -> Bool {
        var seen = false
        return try plainMembers { (parser: inout JSONParser, member) throws(SyntaxError) -> Bool in
            guard Self.isName(member, name) else {
                try parser.skipMember(depth: depth)
                return true
            }
            guard Self.first(&seen) else { return false }
            if parser.skipNull() { return true }
            return try value(&parser)
        }
    }

    /// Reads the object here member by member: `member` gets the parser on each member's value
    /// and its name, and returns `false` where the reading must stop. Whether the object was read
    /// through its `}`.
    @inline(__always)
    private mutating func plainMembers(
        _ member: (inout JSONParser, UnsafeBufferPointer<UInt8>) throws(SyntaxError) -> Bool
    ) throws(SyntaxError) -> Bool {
        guard let empty = plainOpen(UInt8(ascii: "{"), UInt8(ascii: "}")) else { return false }
        if empty { return true }
        while true {
            guard let name = plainName(), try member(&self, name), let more = plainNext(UInt8(ascii: "}")) else { return false }
            if !more { return true }
        }
    }

    /// Reads the array here element by element, as `plainMembers` reads an object.
    @inline(__always)
    private mutating func plainElements(_ element: (inout JSONParser) throws(SyntaxError) -> Bool) throws(SyntaxError) -> Bool {
        guard let empty = plainOpen(UInt8(ascii: "["), UInt8(ascii: "]")) else { return false }
        if empty { return true }
        while true {
            guard try element(&self), let more = plainNext(UInt8(ascii: "]")) else { return false }
            if !more { return true }
        }
    }

    /// Marks a member the view reads as seen: `false` when it was already (a repeated name).
    @inline(__always)
    private static func first(_ seen: inout Bool) -> Bool {
        defer { seen = true }
        return !seen
    }

    /// A member value the view reads as a string: parsed when it is one, else checked and `nil`
    /// (`stringValue` of any other value).
    private mutating func plainStringOrSkip(depth: Int) throws(SyntaxError) -> String? {
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") { return try parseString() }
        try skipValue(depth: depth)
        return nil
    }

    /// Consumes a `null` here (the view reads it as an absent member).
    private mutating func skipNull() -> Bool {
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l") else { return false }
        index += 4
        return true
    }

    /// Consumes `open` and the whitespace after it: whether the container is empty (then its
    /// `close` is consumed too); `nil` when the value here is not such a container.
    @inline(__always)
    private mutating func plainOpen(_ open: UInt8, _ close: UInt8) -> Bool? {
        guard index < bytes.count, bytes[index] == open else { return nil }
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == close else { return false }
        index += 1
        return true
    }

    /// After an item: `true` at a `,` (consumed, with the whitespace after it), `false` at
    /// `close` (consumed); `nil` at anything else.
    @inline(__always)
    private mutating func plainNext(_ close: UInt8) -> Bool? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return true
        }
        guard bytes[index] == close else { return nil }
        index += 1
        return false
    }

    /// A member name of plain ASCII (no escape), its colon consumed and `index` on the value;
    /// `nil` for any other name.
    @inline(__always)
    private mutating func plainName() -> UnsafeBufferPointer<UInt8>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        let (stop, isASCII) = scanPlain(from: start)
        guard isASCII, stop < bytes.count, bytes[stop] == UInt8(ascii: "\"") else { return nil }
        index = stop + 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
        index += 1
        skipWhitespace()
        return UnsafeBufferPointer(rebasing: bytes[start..<stop])
    }

    @inline(__always)
    private static func isName(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        guard name.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for offset in 0..<name.count where name[offset] != expected[offset] { return false }
        return true
    }

    /// Checks the value of a member not kept, of an object at `depth`, without building it: a
    /// string (an Ingress path's `pathType`) without a call.
    @inline(__always)
    private mutating func skipMember(depth: Int) throws(SyntaxError) {
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            try skipString()
        } else {
            try skipValue(depth: depth)
        }
    }

    /// Checks a string (UTF-8, escapes, control characters) without building it.
    @inline(__always)
    private mutating func skipString() throws(SyntaxError) {
        let start = index + 1
        let (stop, isASCII) = scanPlain(from: start)
        if stop < bytes.count, bytes[stop] == UInt8(ascii: "\"") {
            if !isASCII, !Self.isValidUTF8(UnsafeBufferPointer(rebasing: bytes[start..<stop])) {
                index = stop
                throw error("invalid UTF-8 in string")
            }
            index = stop + 1
            return
        }
        // Escapes: rare in what is skipped, so the full path checks them.
        index = stop
        if stop < bytes.count, bytes[stop] < 0x20 { throw error("control character in string") }
        _ = try parseEscapedString(from: start)
    }

    /// The first byte from `start` on that ends a string's plain run (`"`, `\\` or a control
    /// character; `bytes.count` when there is none), and whether the run is ASCII. Eight bytes at a
    /// time while none of them is special.
    @inline(__always)
    private func scanPlain(from start: Int) -> (stop: Int, isASCII: Bool) {
        let highs: UInt64 = 0x8080_8080_8080_8080
        var cursor = start
        var highBits: UInt64 = 0
        let end = bytes.count
        if let base = UnsafeRawPointer(bytes.baseAddress) {
            while end - cursor >= 8 {
                let word = base.loadUnaligned(fromByteOffset: cursor, as: UInt64.self)
                let special = JSONStringBytes.specialMask(word)
                if special != 0 {
                    // The lowest flagged byte is the first special one.
                    let offset = special.trailingZeroBitCount >> 3
                    highBits |= word & ((1 << (UInt64(offset) << 3)) &- 1)
                    return (cursor + offset, highBits & highs == 0)
                }
                highBits |= word
                cursor += 8
            }
        }
        while cursor < end {
            let byte = bytes[cursor]
            if JSONStringBytes.isSpecial(byte) { break }
            highBits |= UInt64(byte)
            cursor += 1
        }
        return (cursor, highBits & highs == 0)
    }

    private static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = Unicode.UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        var slot = 0
        return try parseString(slot: &slot)
    }

    /// A string, and in `slot` the remembered-string slot of a short ASCII string without escapes,
    /// or -1. Equal such strings get the same slot (it is chosen by their bytes), so two member
    /// names in different slots are different, also as Swift compares strings (for ASCII that is
    /// byte for byte).
    @inline(__always)
    private mutating func parseString(slot: inout Int) throws(SyntaxError) -> String {
        slot = -1
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, so the bytes between the quotes are the string. ASCII needs no
        // validation; `String(validating:)` went through unspecialized generic code in the
        // standard library and cost a fifth of a review.
        let (stop, isASCII) = scanPlain(from: start)
        index = stop
        if stop < bytes.count, bytes[stop] == UInt8(ascii: "\"") {
            let slice = UnsafeBufferPointer(rebasing: bytes[start..<stop])
            guard isASCII || Self.isValidUTF8(slice) else { throw error("invalid UTF-8 in string") }
            index += 1
            guard slice.count <= Scratch.rememberedLength else { return String(decoding: slice, as: UTF8.self) }
            let remembered = scratch.string(slice, readable: bytes.count - start)
            if isASCII { slot = remembered.slot }
            return remembered.string
        }
        if stop < bytes.count, bytes[stop] < 0x20 { throw error("control character in string") }
        return try parseEscapedString(from: start)
    }

    /// The rest of a string from its first escape on (rare): kept out of `parseString` so the
    /// common path stays small.
    @inline(never)
    private mutating func parseEscapedString(from start: Int) throws(SyntaxError) -> String {
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                let valid = buffer.withUnsafeBufferPointer { Self.isValidUTF8($0) }
                guard valid else { throw error("invalid UTF-8 in string") }
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unexpected end of input") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in string") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired surrogate in string")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error("invalid escape in string")
                }
            default:
                if byte < 0x20 { throw error("control character in string") }
                buffer.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue {
        let start = index
        var isInteger = true
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
        // Integers of up to 18 digits cannot overflow Int64: accumulate them while scanning.
        var magnitude: Int64 = 0
        let digitsStart = index
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("leading zero in number") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                if index - digitsStart < 18 { magnitude = magnitude &* 10 &+ Int64(bytes[index] &- UInt8(ascii: "0")) }
                index += 1
            }
        }
        let integerDigits = index - digitsStart
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if isInteger, integerDigits <= 18 { return .integer(isNegative ? -magnitude : magnitude) }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else { throw SyntaxError(offset: start, reason: "number out of range") }
        return .number(double)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
