import COpenSSLShims
import Foundation

/// Small helpers around OpenSSL's C API shared by the files of this module.
enum OpenSSLSupport {
    /// `XN_FLAG_RFC2253`, spelled out because Swift cannot import the composite macro.
    static let rfc2253NameFlags: UInt = {
        let stringFlags = Int32(ASN1_STRFLGS_ESC_2253) | Int32(ASN1_STRFLGS_ESC_CTRL) | Int32(ASN1_STRFLGS_ESC_MSB)
        let moreStringFlags = Int32(ASN1_STRFLGS_UTF8_CONVERT) | Int32(ASN1_STRFLGS_DUMP_UNKNOWN) | Int32(ASN1_STRFLGS_DUMP_DER)
        let nameFlags: UInt = UInt(XN_FLAG_SEP_COMMA_PLUS) | UInt(XN_FLAG_DN_REV) | UInt(XN_FLAG_DUMP_UNKNOWN_FIELDS)
        return UInt(stringFlags | moreStringFlags) | nameFlags | UInt(XN_FLAG_FN_SN)
    }()

    /// Everything written to a memory BIO so far.
    static func contents(of bio: OpaquePointer) -> [UInt8] {
        var data: UnsafeMutablePointer<CChar>?
        let length = mg_BIO_get_mem_data(bio, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) { Array(UnsafeBufferPointer(start: $0, count: Int(length))) }
    }

    /// Runs `body` with a fresh memory BIO and returns what it wrote, or nil when `body` reports failure.
    static func writingToMemory(_ body: (OpaquePointer) -> Bool) -> [UInt8]? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard body(bio) else { return nil }
        return contents(of: bio)
    }

    /// A name in one-line RFC 2253 form, e.g. `CN=client-ca,O=Example`.
    static func rfc2253(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        let bytes = writingToMemory { bio in X509_NAME_print_ex(bio, name, 0, rfc2253NameFlags) >= 0 } ?? []
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The first value of `nid` in `name`, as UTF-8.
    static func firstEntry(_ nid: Int32, in name: OpaquePointer?) -> String? {
        guard let name else { return nil }
        let index = X509_NAME_get_index_by_NID(name, nid, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { mg_OPENSSL_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// An ASN1_TIME as a Date (UTC), via ASN1_TIME_to_tm and timegm.
    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        guard let time else { return nil }
        var broken = tm()
        guard ASN1_TIME_to_tm(time, &broken) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&broken)))
    }

    /// An ASN1_INTEGER as upper-case hex, as `openssl x509 -serial` prints it.
    static func hex(_ integer: UnsafePointer<ASN1_INTEGER>?) -> String {
        guard let integer, let bn = ASN1_INTEGER_to_BN(integer, nil) else { return "" }
        defer { BN_free(bn) }
        guard let text = BN_bn2hex(bn) else { return "" }
        defer { mg_OPENSSL_free(text) }
        return String(cString: text)
    }

    /// Parses DER with a `d2i_*` function, requiring that every byte is consumed.
    static func decode(
        _ der: [UInt8],
        with d2i: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?,
        free: (OpaquePointer) -> Void
    ) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            guard let object = d2i(&cursor, buffer.count) else { return nil }
            guard let end = cursor, end == base + buffer.count else {
                free(object)
                return nil
            }
            return object
        }
    }

    /// Serializes with an `i2d_*` function.
    static func encode(_ i2d: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = i2d(nil)
        guard length > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return i2d(&cursor)
        }
        return written == length ? bytes : nil
    }

    /// PEM text for DER bytes under `label`, 64 base64 characters a line.
    static func pem(label: String, der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }
}
