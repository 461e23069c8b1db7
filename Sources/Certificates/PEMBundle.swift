import Base64Codec
import COpenSSLShims
import Foundation

/// One BEGIN/END block found in PEM text.
///
/// The description names the block without its content, since the block may hold a private key.
public struct PEMBlock: Sendable, Hashable, CustomStringConvertible {
    /// The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`.
    public let label: String
    /// 1-based position among the blocks of the input.
    public let index: Int
    /// 1-based line of the BEGIN line.
    public let line: Int
    /// The decoded body; nil when the base64 does not decode or the block is not terminated.
    public let der: [UInt8]?
    /// Whether the block carries RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, ...).
    public let hasHeaders: Bool

    public var description: String { "PEM block \(index) (\(label)) at line \(line)" }
}

/// The result of scanning PEM text: every block, and every problem of form, in input order.
public struct PEMScan: Sendable, Hashable {
    /// The blocks found, terminated or not.
    public let blocks: [PEMBlock]
    /// Stray text, unterminated blocks, mismatched END labels and undecodable base64, in line order
    /// (after "more than `PEMBundle.maximumBlocks` blocks", when the input has that many).
    public let errors: [CertificateError]
    /// Whether the input holds nothing but whitespace.
    public let isEmpty: Bool
}

/// Reading certificates, keys and CRLs from PEM text.
public enum PEMBundle {
    /// The most blocks read from one input: CA bundles hold tens to a few hundred certificates; past
    /// this the input is refused (an error, the rest unread) instead of parsed block by block.
    public static let maximumBlocks = 1000

    /// Parse a PEM bundle of certificates.
    ///
    /// Every block must be a `CERTIFICATE` that OpenSSL parses as X.509; non-whitespace bytes outside
    /// BEGIN/END blocks are an error; empty input is an error. The error names the block (1-based),
    /// its line, and what is wrong; the first problem in input order is thrown.
    public static func certificates(from pem: [UInt8]) throws(CertificateError) -> [Certificate] {
        let blocks = try wellFormedBlocks(pem, what: "certificate")
        var certificates: [Certificate] = []
        certificates.reserveCapacity(blocks.count)
        for block in blocks {
            guard block.label == "CERTIFICATE" else {
                throw CertificateError(
                    kind: .unexpectedBlockType, blockIndex: block.index, line: block.line,
                    reason: "expected a CERTIFICATE block, found \"\(block.label)\"")
            }
            guard !block.hasHeaders else {
                throw CertificateError(kind: .malformedPEM, blockIndex: block.index, line: block.line, reason: "a CERTIFICATE block must not carry PEM headers")
            }
            do {
                certificates.append(try Certificate(derEncoded: block.der ?? []))
            } catch {
                throw CertificateError(kind: error.kind, blockIndex: block.index, line: block.line, reason: error.reason)
            }
        }
        return certificates
    }

    /// Parse an unencrypted private key: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY`.
    ///
    /// As in OpenSSL (and so NGINX), text outside blocks is ignored, and so are `EC PARAMETERS` blocks;
    /// the first key block is used. Encrypted keys are rejected: NGINX Ingress cannot use them.
    public static func privateKey(from pem: [UInt8]) throws(CertificateError) -> PrivateKey {
        let scan = blocks(in: pem)
        if scan.isEmpty { throw CertificateError(kind: .emptyInput, reason: "no PEM data: the input is empty") }
        if let unterminated = scan.errors.first(where: { $0.kind != .strayText }) { throw unterminated }
        for block in scan.blocks where block.label != "EC PARAMETERS" {
            switch block.label {
            case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
                guard !block.hasHeaders else {
                    throw CertificateError(kind: .invalidPrivateKey, blockIndex: block.index, line: block.line, reason: "the private key is encrypted; an unencrypted key is required")
                }
                do {
                    return try PrivateKey(der: block.der ?? [], label: block.label)
                } catch {
                    throw CertificateError(kind: error.kind, blockIndex: block.index, line: block.line, reason: error.reason)
                }
            case "ENCRYPTED PRIVATE KEY":
                throw CertificateError(kind: .invalidPrivateKey, blockIndex: block.index, line: block.line, reason: "the private key is encrypted; an unencrypted key is required")
            default:
                throw CertificateError(
                    kind: .unexpectedBlockType, blockIndex: block.index, line: block.line,
                    reason: "expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found \"\(block.label)\"")
            }
        }
        throw CertificateError(kind: .invalidPrivateKey, reason: "no private key block found")
    }

    /// Parse a PEM bundle of CRLs: every block must be an `X509 CRL` that OpenSSL parses; no stray text; not empty.
    public static func crls(from pem: [UInt8]) throws(CertificateError) -> [CRL] {
        let blocks = try wellFormedBlocks(pem, what: "CRL")
        var crls: [CRL] = []
        for block in blocks {
            guard block.label == "X509 CRL" else {
                throw CertificateError(
                    kind: .unexpectedBlockType, blockIndex: block.index, line: block.line,
                    reason: "expected an X509 CRL block, found \"\(block.label)\"")
            }
            do {
                crls.append(try CRL(derEncoded: block.der ?? []))
            } catch {
                throw CertificateError(kind: error.kind, blockIndex: block.index, line: block.line, reason: error.reason)
            }
        }
        return crls
    }

    /// Low level: the blocks found (label, 1-based index, line) and the problems of form, so that rules can
    /// report every one of them precisely. Never throws; each run of stray lines is one error.
    public static func blocks(in pem: [UInt8]) -> PEMScan {
        var scanner = PEMScanner()
        scanner.scan(pem)
        return PEMScan(blocks: scanner.blocks, errors: scanner.errors, isEmpty: scanner.sawNothing)
    }

    /// The blocks of `pem`, or the first problem of form; empty input and input without blocks are errors.
    private static func wellFormedBlocks(_ pem: [UInt8], what: String) throws(CertificateError) -> [PEMBlock] {
        let scan = blocks(in: pem)
        if scan.isEmpty { throw CertificateError(kind: .emptyInput, reason: "no PEM data: the input is empty") }
        if let first = scan.errors.first { throw first }
        if scan.blocks.isEmpty { throw CertificateError(kind: .emptyInput, reason: "no PEM \(what) block found") }
        return scan.blocks
    }
}

/// A line-oriented PEM reader that records every block and every problem instead of stopping at the first.
private struct PEMScanner {
    private struct OpenBlock {
        let label: String
        let index: Int
        let line: Int
        /// The base64 lines, joined.
        var body: [UInt8] = []
        var inHeaders = true
        var hasHeaders = false
    }

    var blocks: [PEMBlock] = []
    var errors: [CertificateError] = []
    var sawNothing = true
    private var open: OpenBlock?
    private var inStrayRun = false
    private var count = 0
    private var tooManyBlocks = false

    mutating func scan(_ bytes: [UInt8]) {
        var lineNumber = 0
        // Split bytes, not Characters: Swift treats "\r\n" as one Character, which would hide CRLF line ends.
        // Walk the lines in place rather than splitting into an array of every line first.
        var lineStart = bytes.startIndex
        while lineStart <= bytes.endIndex, !tooManyBlocks {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let rawLine = bytes[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            lineNumber += 1
            let line = Self.trimmedLine(rawLine)
            if !line.isEmpty { sawNothing = false }
            if open != nil {
                continueBlock(line[...], lineNumber: lineNumber)
            } else {
                outside(line, lineNumber: lineNumber)
            }
        }
        if let block = open {
            errors.append(CertificateError(kind: .malformedPEM, blockIndex: block.index, line: block.line, reason: "BEGIN \(block.label) has no matching END line"))
            blocks.append(PEMBlock(label: block.label, index: block.index, line: block.line, der: nil, hasHeaders: block.hasHeaders))
            open = nil
        }
    }

    /// The line as text without leading and trailing whitespace (`CharacterSet.whitespacesAndNewlines`).
    ///
    /// PEM is ASCII, so ASCII lines are trimmed on bytes (the set's ASCII members are TAB, LF, VT, FF, CR and
    /// space); Foundation's Unicode-aware trimming costs microseconds a line and is kept for other lines.
    private static func trimmedLine(_ raw: ArraySlice<UInt8>) -> String {
        guard raw.allSatisfy({ $0 < 0x80 }) else {
            return String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        var start = raw.startIndex
        var end = raw.endIndex
        while start < end, isSpace(raw[start]) { start += 1 }
        while end > start, isSpace(raw[end - 1]) { end -= 1 }
        return String(decoding: raw[start..<end], as: UTF8.self)
    }

    private static func label(of line: String, marker: String) -> String? {
        // Nearly every line is base64 body: a byte test turns those away before any Character work.
        guard line.utf8.first == UInt8(ascii: "-") else { return nil }
        let prefix = "-----\(marker) "
        guard line.hasPrefix(prefix), line.hasSuffix("-----"), line.count >= prefix.count + 5 else { return nil }
        let label = line.dropFirst(prefix.count).dropLast(5)
        // A label is a few words; anything longer is damage, and is cut so that messages stay one short line.
        return label.count <= 64 ? String(label) : String(label.prefix(64)) + "..."
    }

    private mutating func outside(_ line: String, lineNumber: Int) {
        if line.isEmpty {
            return
        }
        if let label = Self.label(of: line, marker: "BEGIN") {
            inStrayRun = false
            guard count < PEMBundle.maximumBlocks else {
                // First, not in line order: it is the one problem that matters, and lists are cut.
                errors.insert(CertificateError(kind: .malformedPEM, blockIndex: nil, line: lineNumber,
                    reason: "more than \(PEMBundle.maximumBlocks) PEM blocks: the rest of the input is not read"), at: 0)
                tooManyBlocks = true
                return
            }
            count += 1
            open = OpenBlock(label: label, index: count, line: lineNumber)
            return
        }
        if Self.label(of: line, marker: "END") != nil {
            inStrayRun = false
            // Text outside any block, as far as PEM readers go: OpenSSL and Go's pem.Decode skip it.
            errors.append(CertificateError(kind: .strayText, blockIndex: count == 0 ? nil : count, line: lineNumber, reason: "END line without a matching BEGIN line"))
            return
        }
        guard !inStrayRun else { return }
        inStrayRun = true
        let position = count == 0 ? "before the first PEM block" : "after PEM block \(count)"
        errors.append(CertificateError(
            kind: .strayText, blockIndex: count == 0 ? nil : count, line: lineNumber,
            reason: "unexpected text \(position); only whitespace may appear outside BEGIN/END blocks"))
    }

    private mutating func continueBlock(_ line: Substring, lineNumber: Int) {
        // Take the block out of `open` while it changes: a copy left there would make every append copy
        // the whole body (quadratic in the block's lines). Every path that keeps it open puts it back.
        guard var block = open else { return }
        open = nil
        if let endLabel = Self.label(of: String(line), marker: "END") {
            guard endLabel == block.label else {
                errors.append(CertificateError(kind: .malformedPEM, blockIndex: block.index, line: lineNumber, reason: "BEGIN \(block.label) is closed by END \(endLabel)"))
                blocks.append(PEMBlock(label: block.label, index: block.index, line: block.line, der: nil, hasHeaders: block.hasHeaders))
                return
            }
            let base64 = block.body
            let der = base64.withUnsafeBufferPointer { GoBase64.decode($0) }
            if der == nil || base64.isEmpty {
                errors.append(CertificateError(kind: .malformedBase64, blockIndex: block.index, line: block.line, reason: "the base64 body of the \(block.label) block is empty, truncated or not base64"))
            }
            blocks.append(PEMBlock(label: block.label, index: block.index, line: block.line, der: base64.isEmpty ? nil : der, hasHeaders: block.hasHeaders))
            return
        }
        if Self.label(of: String(line), marker: "BEGIN") != nil {
            errors.append(CertificateError(kind: .malformedPEM, blockIndex: block.index, line: block.line, reason: "BEGIN \(block.label) has no matching END line"))
            blocks.append(PEMBlock(label: block.label, index: block.index, line: block.line, der: nil, hasHeaders: block.hasHeaders))
            outside(String(line), lineNumber: lineNumber)
            return
        }
        if block.inHeaders {
            if line.contains(":") {
                block.hasHeaders = true
                open = block
                return
            }
            block.inHeaders = false
            if line.isEmpty {
                open = block
                return
            }
        }
        var line = line
        line.withUTF8 { block.body.append(contentsOf: $0) }
        open = block
    }
}
