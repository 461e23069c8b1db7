import KubeModel

/// Builds the `warnings` of an AdmissionResponse within the API server's limits.
///
/// Kubernetes asks for warnings of at most 120 characters and drops what exceeds its total budget
/// unpredictably, so this truncates first, predictably: each warning is shortened to
/// `perWarningLimit` by cutting the message and keeping the field and the rule ID, and the list
/// stops before `totalLimit` bytes with a last entry saying how many were left out.
public struct WarningList: Sendable {
    public static let perWarningLimit = 120
    public static let totalLimit = 4096

    public private(set) var warnings: [String] = []
    private var bytes = 0
    private var omitted = 0

    public init() {}

    /// Adds one warning; an entry that would exceed the total budget is counted as omitted.
    public mutating func append(_ text: String) {
        guard omitted == 0 else {
            omitted += 1
            return
        }
        let size = text.utf8.count
        if bytes + size > Self.totalLimit - Self.omissionLineReserve {
            omitted += 1
            return
        }
        warnings.append(text)
        bytes += size
    }

    /// The warnings, with a final "N more" entry when some were left out.
    public func finished() -> [String] {
        guard omitted > 0 else { return warnings }
        return warnings + [Self.omissionLine(omitted)]
    }

    static func omissionLine(_ count: Int) -> String {
        "\(count) more warning\(count == 1 ? "" : "s") not shown; run `mtls-guard validate` or see the audit log"
    }

    /// Room kept free for the "N more" line, so it always fits (N < 10^8 here, far beyond any object).
    static let omissionLineReserve = omissionLine(99_999_999).utf8.count

    /// `prefix + field: message (rule)`, shortened to `perWarningLimit` characters where the field,
    /// prefix and rule ID leave room for some of the message.
    public static func format(prefix: String, field: String, message: String, rule: String) -> String {
        // Never more characters than UTF-8 bytes: a short warning is kept without counting.
        let bytes = prefix.utf8.count + field.utf8.count + message.utf8.count + rule.utf8.count + 5
        // Printable ASCII (almost every warning): one byte is one character, so sizes and cuts are
        // byte counts, without walking grapheme clusters, and only the shortened text is built.
        if bytes > perWarningLimit, PrintableASCII.only(message), PrintableASCII.only(prefix),
           PrintableASCII.only(field), PrintableASCII.only(rule) {
            let room = perWarningLimit - prefix.utf8.count - field.utf8.count - rule.utf8.count - 5 - 1
            if room >= 16 {
                return String(concatenating: prefix, field, ": ", String(decoding: message.utf8.prefix(room), as: UTF8.self),
                              "…", " (", rule, ")")
            }
        }
        let full = String(concatenating: prefix, field, ": ", message, " (", rule, ")")
        guard bytes > perWarningLimit else { return full }
        let head = String(concatenating: prefix, field, ": ")
        let tail = String(concatenating: " (", rule, ")")
        guard full.count > perWarningLimit else { return full }
        let room = perWarningLimit - head.count - tail.count - 1
        if room >= 16 { return head + message.prefix(room) + "…" + tail }
        // A very long field path: keep its end (the part that names the field), then the message.
        let fieldRoom = perWarningLimit - prefix.count - tail.count - 2 - 1 - 16 - 1
        guard fieldRoom >= 8 else { return full }
        return "\(prefix)…\(field.suffix(fieldRoom)): \(message.prefix(16))…\(tail)"
    }

}
