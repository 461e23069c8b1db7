import Foundation
import KubeModel

/// Kubernetes name formats (`k8s.io/apimachinery/pkg/util/validation`), as NIC applies them.
enum NameValidation {
    static let dns1123SubdomainMaxLength = 253
    static let dns1123LabelMaxLength = 63

    /// Why `value` is not a DNS-1123 subdomain, or `nil` when it is one.
    static func dns1123SubdomainProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > dns1123SubdomainMaxLength {
            return "must be no more than \(dns1123SubdomainMaxLength) characters"
        }
        // Every dot-separated label non-empty, lower alphanumerics and '-', alphanumeric at both
        // ends: one pass over the bytes, no label array (this runs on every policy reference).
        var labelStart = true
        var previous: UInt8 = 0
        for byte in value.utf8 {
            if byte == UInt8(ascii: ".") {
                if labelStart || !isLowerAlphanumeric(previous) { return subdomainRule }
                labelStart = true
            } else {
                if labelStart ? !isLowerAlphanumeric(byte) : !(isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-")) {
                    return subdomainRule
                }
                labelStart = false
            }
            previous = byte
        }
        return labelStart || !isLowerAlphanumeric(previous) ? subdomainRule : nil
    }

    /// Why `value` is not a DNS-1123 label, or `nil` when it is one.
    static func dns1123LabelProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > dns1123LabelMaxLength { return "must be no more than \(dns1123LabelMaxLength) characters" }
        return isLabelShaped(Substring(value)) ? nil
            : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    }

    static let subdomainRule = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

    private static func isLabelShaped(_ label: Substring) -> Bool {
        guard let first = label.utf8.first, let last = label.utf8.last else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && label.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Message fragments in `k8s.io/apimachinery` `field.Error` style.
enum FieldError {
    /// The most characters of a value a message quotes: messages and audit lines stay short whatever
    /// the input, and a quoted prefix is enough to find the value.
    static let quotedPrefixLength = 64

    /// `"text"` quoted as Go's `%q` would, so odd characters stay visible and the line stays one line.
    ///
    /// At most `quotedPrefixLength` characters are quoted; the rest is counted (`"abc..." (+1234 more
    /// characters)`), so a message's size is bounded whatever the value.
    static func quote(_ text: String) -> String {
        // Most quoted values (object names, references) are short printable ASCII with nothing to
        // escape: quoted as they are, without the scalar-by-scalar walk.
        if text.utf8.count <= quotedPrefixLength,
           PrintableASCII.only(text, excluding: [UInt8(ascii: "\""), UInt8(ascii: "\\")]) {
            return String(concatenating: "\"", text, "\"")
        }
        var out = "\""
        var quoted = 0
        var remaining = 0
        for scalar in text.unicodeScalars {
            if quoted >= quotedPrefixLength {
                remaining += 1
                continue
            }
            quoted += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return remaining == 0 ? out + "\"" : out + "...\" (+\(remaining) more characters)"
    }

    static func invalid(_ value: String, _ detail: String) -> String { "Invalid value: \(quote(value)): \(detail)" }

    static func required(_ detail: String) -> String { "Required value: \(detail)" }

    static func unsupported(_ value: String, supported: [String]) -> String {
        "Unsupported value: \(quote(value)): supported values: " + supported.map(quote).joined(separator: ", ")
    }

    /// `Not found: ` and the detail, given in parts (joined in one allocation).
    static func notFound(_ detail: String...) -> String { String(concatenating: ["Not found: "] + detail) }

    /// `Invalid value: true: must be a string, found boolean` for a field of the wrong JSON type.
    static func wrongType(_ value: JSONValue, expected: String, hint: String? = nil) -> String {
        "Invalid value: \(literal(value)): must be \(expected), found \(value.typeName)" + (hint.map { ": " + $0 } ?? "")
    }

    /// A raw value as it would read in the manifest: scalars literally, containers by type only.
    static func literal(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .string(let s): return quote(s)
        case .array: return "[...]"
        case .object: return "{...}"
        }
    }
}
