import Certificates
import Foundation
import KubeModel

/// Section 7 of docs/rules.md: the NGINX Service Mesh upstream CA file (`nginx-meshctl deploy --mtls-upstream-ca-conf`).
///
/// CLI only. File access goes through an injected `FileReader`, so the checks stay testable and the
/// only I/O is the caller's choice.
///
/// Decisions:
/// - Field sets follow NSM's own JSON schema for the file: disk, aws_pca (`ca_signing_template_arn`,
///   `assume_role_arn`, `aws_access_key_id`, `aws_secret_access_key` besides the required ones),
///   awssecret (`aws_access_key_id`, `aws_secret_access_key`, `aws_secret_token`, `assume_role_arn`),
///   vault (`pki_mount_point`, boolean `insecure_skip_verify`, and the fields of each auth block). Every
///   field is a string except `insecure_skip_verify` and the vault auth blocks; `*_arn` fields must look like
///   ARNs (`arn:` and five `:`-separated parts), and path fields must not be empty.
/// - `upstream-ca/pathlen`: the signing certificate needs pathlen >= 1 or unset (the minimum is 1;
///   a larger pathlen is no less able to sign SPIRE's intermediate, so it is accepted). When the chain to the
///   bundle can be built, every CA above the signing certificate at chain position i needs pathlen >= i + 1
///   (for the root right above it: >= 2); when it cannot (aws_pca, or a broken chain), self-signed
///   certificates of a bundle need pathlen >= 2 or unset.
/// - `upstream-ca/chain` judges the shape of the chain, not dates: when verification fails at `now` only
///   because of validity periods, it is repeated in the middle of the signing certificate's validity, and dates
///   are left to `upstream-ca/expiry`. The finding sits at `config.cert_file_path`; certificates after the
///   first in `cert_file_path` are candidate intermediates, as SPIRE reads them.
/// - Files larger than 1 MiB are reported as unreadable instead of being read.
public enum UpstreamCARules {
    static let schema: RuleID = "upstream-ca/schema"
    static let pem: RuleID = "upstream-ca/pem"
    static let keyMatch: RuleID = "upstream-ca/key-match"
    static let pathlen: RuleID = "upstream-ca/pathlen"
    static let chainRule: RuleID = "upstream-ca/chain"
    static let rootDirect: RuleID = "upstream-ca/root-direct"
    static let expiry: RuleID = "upstream-ca/expiry"

    /// The outcome of looking a file up on this machine.
    public enum FileLookup: Sendable, Equatable {
        case contents([UInt8])
        case missing
        /// Exists but cannot be read; the reason names no content.
        case unreadable(String)
    }

    /// Reads the file at a URL; injected so tests (and other callers) decide what the disk is.
    public typealias FileReader = @Sendable (URL) -> FileLookup

    /// The upstream authorities NSM supports, in documentation order.
    public static let authorities = ["disk", "aws_pca", "awssecret", "vault", "cert-manager"]

    /// The largest file read: CA files are a few KiB; anything bigger is not what the field means.
    static let maximumFileSize = 1 << 20

    /// Reads a local file (at most 1 MiB).
    @Sendable public static func readLocalFile(_ url: URL) -> FileLookup {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        if isDirectory.boolValue { return .unreadable("is a directory") }
        guard let handle = FileHandle(forReadingAtPath: path) else { return .unreadable("permission denied or not a regular file") }
        defer { try? handle.close() }
        do {
            let data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
            if data.count > maximumFileSize { return .unreadable("larger than 1 MiB") }
            return .contents([UInt8](data))
        } catch {
            return .unreadable("read failed")
        }
    }

    // MARK: schema tables

    /// What a file named by a path field must hold.
    enum FileKind: Sendable {
        /// The signing certificate, optionally followed by its chain.
        case certificate
        case privateKey
        case bundle

        var noun: String {
            switch self {
            case .certificate: return "a PEM certificate"
            case .privateKey: return "a PEM private key"
            case .bundle: return "a PEM bundle of certificates"
            }
        }
    }

    indirect enum FieldType: Sendable {
        case string
        /// A string that must not be empty.
        case nonEmptyString
        case arn
        case bool
        case path(FileKind)
        case object(ObjectSchema)
    }

    struct ObjectSchema: Sendable {
        var fields: [String: FieldType]
        var required: [String]
        /// Exactly one of these must be present (vault's auth methods).
        var exactlyOneOf: [String] = []
    }

    static let awsCredentials: [String: FieldType] = ["aws_access_key_id": .string, "aws_secret_access_key": .string]

    static let configSchemas: [String: ObjectSchema] = [
        "disk": ObjectSchema(
            fields: ["cert_file_path": .path(.certificate), "key_file_path": .path(.privateKey), "bundle_file_path": .path(.bundle)],
            required: ["cert_file_path", "key_file_path"]),
        "aws_pca": ObjectSchema(
            fields: [
                "region": .string, "certificate_authority_arn": .arn, "ca_signing_template_arn": .arn,
                "signing_algorithm": .string, "assume_role_arn": .arn, "endpoint": .string,
                "supplemental_bundle_path": .path(.bundle),
            ].merging(awsCredentials) { a, _ in a },
            required: ["region", "certificate_authority_arn"]),
        "awssecret": ObjectSchema(
            fields: [
                "region": .string, "cert_file_arn": .arn, "key_file_arn": .arn, "aws_secret_token": .string,
                "assume_role_arn": .arn,
            ].merging(awsCredentials) { a, _ in a },
            required: ["region", "cert_file_arn", "key_file_arn"]),
        "vault": ObjectSchema(
            fields: [
                "vault_addr": .string, "namespace": .string, "pki_mount_point": .string, "ca_cert_path": .path(.bundle),
                "insecure_skip_verify": .bool,
                "cert_auth": .object(ObjectSchema(
                    fields: ["cert_auth_mount_point": .string, "cert_auth_role_name": .string,
                             "client_cert_path": .path(.certificate), "client_key_path": .path(.privateKey)],
                    required: ["client_cert_path", "client_key_path"])),
                "token_auth": .object(ObjectSchema(fields: ["token": .string], required: ["token"])),
                "approle_auth": .object(ObjectSchema(
                    fields: ["approle_auth_mount_point": .string, "approle_id": .string, "approle_secret_id": .string],
                    required: ["approle_id", "approle_secret_id"])),
            ],
            required: ["vault_addr", "namespace", "ca_cert_path"],
            exactlyOneOf: ["cert_auth", "token_auth", "approle_auth"]),
        "cert-manager": ObjectSchema(
            fields: ["namespace": .nonEmptyString, "issuer_name": .nonEmptyString, "issuer_kind": .string,
                     "issuer_group": .string, "kube_config_file": .string],
            required: ["namespace", "issuer_name"]),
    ]

    static let topLevelFields = ["apiVersion", "upstreamAuthority", "config"]

    // MARK: entry point

    /// Every section 7 finding for the parsed upstream CA file.
    ///
    /// - Parameters:
    ///   - document: the file's content (YAML or JSON) as a JSON value.
    ///   - baseDirectory: the directory of the file; relative paths in it are resolved against it.
    ///   - requireFiles: deny (instead of warn) when a file named by a path field does not exist here.
    ///   - readFile: how files are read; the local file system by default.
    public static func check(
        document: JSONValue, baseDirectory: URL, requireFiles: Bool, settings: Settings,
        readFile: FileReader = UpstreamCARules.readLocalFile
    ) -> [Finding] {
        var findings: [Finding] = []
        guard let top = document.objectValue else {
            return [Finding(rule: schema, severity: .deny, field: .object,
                            message: "Invalid value: \(document.typeName): the upstream CA configuration must be a mapping with apiVersion, upstreamAuthority and config")]
        }

        for key in top.keys.sorted() where !topLevelFields.contains(key) {
            findings.append(unknownField(key, at: FieldPath(key), valid: topLevelFields, context: "at the top level"))
        }

        switch top["apiVersion"] {
        case nil:
            findings.append(Finding(rule: schema, severity: .deny, field: FieldPath("apiVersion"), message: "Required value: must be \"v1\""))
        case .string("v1")?:
            break
        case .string(let other)?:
            findings.append(Finding(rule: schema, severity: .deny, field: FieldPath("apiVersion"),
                                    message: "Unsupported value: \(FieldError.quote(other)): supported values: \"v1\""))
        case let other?:
            findings.append(Finding(rule: schema, severity: .deny, field: FieldPath("apiVersion"),
                                    message: "Invalid value: \(other.typeName): must be the string \"v1\""))
        }

        var authority: String?
        let authorityPath = FieldPath("upstreamAuthority")
        let supported = authorities.map { "\"\($0)\"" }.joined(separator: ", ")
        switch top["upstreamAuthority"] {
        case nil:
            findings.append(Finding(rule: schema, severity: .deny, field: authorityPath, message: "Required value: one of \(supported)"))
        case .string(let name)? where authorities.contains(name):
            authority = name
        case .string(let name)?:
            let hint = nearest(to: name, in: authorities).map { "; did you mean \"\($0)\"?" } ?? ""
            findings.append(Finding(rule: schema, severity: .deny, field: authorityPath,
                                    message: "Unsupported value: \(FieldError.quote(name)): supported values: \(supported)\(hint)"))
        case let other?:
            findings.append(Finding(rule: schema, severity: .deny, field: authorityPath,
                                    message: "Invalid value: \(other.typeName): must be a string, one of \(supported)"))
        }

        let configPath = FieldPath("config")
        var files: [FileField] = []
        switch top["config"] {
        case nil:
            findings.append(Finding(rule: schema, severity: .deny, field: configPath,
                                    message: "Required value: the settings of the upstream authority"))
        case .object(let members)?:
            if let authority, let objectSchema = configSchemas[authority] {
                findings += checkObject(members, schema: objectSchema, at: configPath, authority: authority, files: &files)
            }
        case let other?:
            findings.append(Finding(rule: schema, severity: .deny, field: configPath,
                                    message: "Invalid value: \(other.typeName): must be a mapping of the authority's settings"))
        }

        findings += checkFiles(files, authority: authority, baseDirectory: baseDirectory, requireFiles: requireFiles,
                               settings: settings, readFile: readFile)
        return findings
    }

    // MARK: schema

    /// A path field that passed the schema, to be read.
    struct FileField {
        var name: String
        var path: FieldPath
        var value: String
        var kind: FileKind
    }

    private static func checkObject(
        _ members: JSONObject, schema objectSchema: ObjectSchema, at base: FieldPath, authority: String,
        files: inout [FileField]
    ) -> [Finding] {
        var findings: [Finding] = []
        // Required fields first: on a tie of edit distance, they are the likelier intent.
        let valid = objectSchema.required + objectSchema.fields.keys.sorted().filter { !objectSchema.required.contains($0) }
        for key in members.keys.sorted() {
            let path = base.child(key)
            guard let type = objectSchema.fields[key] else {
                findings.append(unknownField(key, at: path, valid: valid, context: "for upstreamAuthority \"\(authority)\""))
                continue
            }
            findings += checkValue(members[key] ?? .null, type: type, name: key, at: path, authority: authority, files: &files)
        }
        for key in objectSchema.required where members[key] == nil {
            findings.append(Finding(rule: schema, severity: .deny, field: base.child(key),
                                    message: "Required value: upstreamAuthority \"\(authority)\" needs \(key)"))
        }
        if !objectSchema.exactlyOneOf.isEmpty {
            let present = objectSchema.exactlyOneOf.filter { members[$0] != nil }
            let names = objectSchema.exactlyOneOf.joined(separator: ", ")
            if present.isEmpty {
                findings.append(Finding(rule: schema, severity: .deny, field: base,
                                        message: "Required value: exactly one of \(names) must be set"))
            } else if present.count > 1 {
                findings.append(Finding(rule: schema, severity: .deny, field: base,
                                        message: "Forbidden: exactly one of \(names) may be set, found \(present.joined(separator: " and "))"))
            }
        }
        return findings
    }

    private static func checkValue(
        _ value: JSONValue, type: FieldType, name: String, at path: FieldPath, authority: String, files: inout [FileField]
    ) -> [Finding] {
        func wrongType(_ expected: String) -> [Finding] {
            [Finding(rule: schema, severity: .deny, field: path, message: "Invalid value: \(value.typeName): must be \(expected)")]
        }
        switch type {
        case .string:
            return value.stringValue == nil ? wrongType("a string") : []
        case .nonEmptyString:
            guard let text = value.stringValue else { return wrongType("a string") }
            return text.isEmpty ? [Finding(rule: schema, severity: .deny, field: path, message: "Required value: must not be empty")] : []
        case .bool:
            return value.boolValue == nil ? wrongType("a boolean (true or false, unquoted)") : []
        case .arn:
            guard let text = value.stringValue else { return wrongType("a string") }
            let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            if parts.count < 6 || parts[0] != "arn" {
                return [Finding(rule: schema, severity: .deny, field: path,
                                message: "Invalid value: \(FieldError.quote(text)): must be an ARN (arn:partition:service:region:account:resource)")]
            }
            return []
        case .path(let kind):
            guard let text = value.stringValue else { return wrongType("a string (a file path)") }
            if text.isEmpty {
                return [Finding(rule: schema, severity: .deny, field: path, message: "Required value: a file path must not be empty")]
            }
            files.append(FileField(name: name, path: path, value: text, kind: kind))
            return []
        case .object(let nested):
            guard let members = value.objectValue else { return wrongType("a mapping") }
            return checkObject(members, schema: nested, at: path, authority: authority, files: &files)
        }
    }

    private static func unknownField(_ key: String, at path: FieldPath, valid: [String], context: String) -> Finding {
        var message = "Unknown field \(FieldError.quote(key)) \(context)"
        if let owner = authorities.first(where: { configSchemas[$0]?.fields[key] != nil }), path.description.hasPrefix("config.") {
            message += " (it is a field of upstreamAuthority \"\(owner)\")"
        }
        if let suggestion = nearest(to: key, in: valid) {
            message += "; the nearest valid field is \"\(suggestion)\""
        }
        return Finding(rule: schema, severity: .deny, field: path, message: message)
    }

    /// The candidate with the smallest (case-insensitive) edit distance to `word`; the first in order on ties.
    static func nearest(to word: String, in candidates: [String]) -> String? {
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            if best == nil || distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    // MARK: files and certificates

    /// Certificates of one file, with the field that named it.
    struct LoadedCertificates {
        var field: FieldPath
        var name: String
        var certificates: [(index: Int, certificate: Certificate)]
    }

    private static func checkFiles(
        _ files: [FileField], authority: String?, baseDirectory: URL, requireFiles: Bool, settings: Settings,
        readFile: FileReader
    ) -> [Finding] {
        var findings: [Finding] = []
        var certificateFiles: [String: LoadedCertificates] = [:]
        var keys: [String: (field: FieldPath, key: PrivateKey)] = [:]

        for file in files.sorted(by: { $0.path < $1.path }) {
            let url = file.value.hasPrefix("/")
                ? URL(fileURLWithPath: file.value)
                : baseDirectory.appendingPathComponent(file.value)
            let shown = FieldError.quote(url.standardizedFileURL.path)
            switch readFile(url) {
            case .missing:
                findings.append(Finding(
                    rule: pem, severity: requireFiles ? .deny : .warn, field: file.path,
                    message: requireFiles
                        ? "Not found: \(shown) does not exist"
                        : "Not found: \(shown) does not exist here; not checked (it may exist only on the deploy host; --require-files makes this a denial)"))
            case .unreadable(let reason):
                findings.append(Finding(rule: pem, severity: .deny, field: file.path, message: "Invalid value: \(shown) cannot be read: \(reason)"))
            case .contents(let bytes):
                switch file.kind {
                case .privateKey:
                    do {
                        keys[file.name] = (file.path, try PEMBundle.privateKey(from: bytes))
                    } catch {
                        findings.append(Finding(rule: pem, severity: .deny, field: file.path,
                                                message: "Invalid value: \(shown) is not \(file.kind.noun): \(error)"))
                    }
                case .certificate, .bundle:
                    let bundle = SecretRules.readCertificateBundle(bytes)
                    for problem in bundle.problems {
                        findings.append(Finding(rule: pem, severity: .deny, field: file.path,
                                                message: "Invalid value: \(shown) is not \(file.kind.noun): \(problem)"))
                    }
                    findings += SecretRules.expiryFindings(bundle.certificates, rule: expiry, field: file.path, settings: settings)
                    if bundle.problems.isEmpty {
                        certificateFiles[file.name] = LoadedCertificates(field: file.path, name: file.name, certificates: bundle.certificates)
                    }
                }
            }
        }

        guard authority == "disk" || authority == "aws_pca" else { return findings }
        let bundle = certificateFiles["bundle_file_path"] ?? certificateFiles["supplemental_bundle_path"]

        guard authority == "disk", let signingFile = certificateFiles["cert_file_path"],
              let signing = signingFile.certificates.first?.certificate
        else {
            if let bundle { findings += rootPathLengths(bundle) }
            return findings
        }

        if let entry = keys["key_file_path"], !entry.key.matches(signing) {
            findings.append(Finding(
                rule: keyMatch, severity: .deny, field: entry.field,
                message: "Invalid value: the private key does not match the certificate of cert_file_path (\(signing.subject)); SPIRE cannot sign with it"))
        }

        if !signing.isCA {
            findings.append(Finding(
                rule: pathlen, severity: .deny, field: signingFile.field,
                message: "Invalid value: \(signing.subject) is not a CA (no basicConstraints CA:TRUE): SPIRE cannot issue its intermediate CA with it"))
        } else if let limit = signing.pathLengthConstraint, limit < 1 {
            findings.append(Finding(
                rule: pathlen, severity: .deny, field: signingFile.field,
                message: "Invalid value: \(signing.subject) has pathlen \(limit): SPIRE's own intermediate CA below it needs pathlen >= 1 or unset"))
        }

        if signing.isSelfSigned {
            findings.append(Finding(
                rule: rootDirect, severity: .warn, field: signingFile.field,
                message: "\(signing.subject) is a self-signed root: sign with an intermediate CA and keep the root key offline (put the root in bundle_file_path)"))
        }

        guard let bundle else { return findings }
        let intermediates = signingFile.certificates.dropFirst().map(\.certificate)
        switch verifiedChain(signing, bundle: bundle.certificates.map(\.certificate), intermediates: intermediates, settings: settings) {
        case .success(let chain) where signing.isCA:
            findings += chainPathLengths(chain, signingFile: signingFile, bundle: bundle)
        case .success:
            break  // Not a CA: already denied above; the CAs above it are judged for a signer that cannot sign.
        case .failure(let error):
            findings.append(Finding(
                rule: chainRule, severity: .deny, field: signingFile.field,
                message: "Invalid value: \(signing.subject) does not verify up to a root in bundle_file_path: \(error.reason)"))
            findings += rootPathLengths(bundle)
        }
        return findings
    }

    /// The chain from `signing` to a root of `bundle`, judged on shape: a failure that is only about dates is retried
    /// within the signing certificate's validity, since `upstream-ca/expiry` reports dates.
    private static func verifiedChain(
        _ signing: Certificate, bundle: [Certificate], intermediates: [Certificate], settings: Settings
    ) -> Result<[Certificate], CertificateError> {
        let atNow = ChainAnalysis.verify(signing, trustAnchors: bundle, untrusted: intermediates, at: settings.now, maxDepth: nil)
        guard case .failure = atNow else { return atNow }
        let middle = signing.notBefore.addingTimeInterval(signing.notAfter.timeIntervalSince(signing.notBefore) / 2)
        let atMiddle = ChainAnalysis.verify(signing, trustAnchors: bundle, untrusted: intermediates, at: middle, maxDepth: nil)
        if case .success = atMiddle { return atMiddle }
        return atNow
    }

    /// Every CA above the signing certificate must allow the CAs below it, SPIRE's intermediate included.
    private static func chainPathLengths(_ chain: [Certificate], signingFile: LoadedCertificates, bundle: LoadedCertificates) -> [Finding] {
        var findings: [Finding] = []
        for (position, certificate) in chain.enumerated().dropFirst() {
            let needed = position + 1
            guard let limit = certificate.pathLengthConstraint, limit < needed else { continue }
            let inBundle = bundle.certificates.contains { $0.certificate == certificate }
            findings.append(Finding(
                rule: pathlen, severity: .deny, field: inBundle ? bundle.field : signingFile.field,
                message: "Invalid value: \(certificate.subject) has pathlen \(limit), but \(needed) CA certificate\(needed == 1 ? "" : "s") (SPIRE's intermediate included) would sit below it; it needs pathlen >= \(needed) or unset"))
        }
        return findings
    }

    /// Without a chain: a root of the bundle signs an intermediate that signs SPIRE's intermediate, so it needs pathlen >= 2.
    private static func rootPathLengths(_ bundle: LoadedCertificates) -> [Finding] {
        bundle.certificates.compactMap { index, certificate in
            guard certificate.isSelfSigned, let limit = certificate.pathLengthConstraint, limit < 2 else { return nil }
            return Finding(
                rule: pathlen, severity: .deny, field: bundle.field,
                message: "Invalid value: root certificate \(index) (\(certificate.subject)) has pathlen \(limit): the signing CA and SPIRE's intermediate below it need pathlen >= 2 or unset")
        }
    }
}
