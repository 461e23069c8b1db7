import Foundation
import TestSupport
import Testing
@testable import KubeModel

/// `validate` runs in CI on pull-request content: hostile YAML, odd file trees and huge files must end
/// in a clear error naming the file (and document), never in an exhausted machine or a silent skip.
@Suite struct UntrustedManifestTests {
    /// `levels` anchors, each a list of `width` aliases of the one before: width^levels nodes expanded.
    static func aliasBomb(levels: Int = 9, width: Int = 9) -> String {
        var lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:", "  a0: &a0 [lol]"]
        for level in 1...levels {
            lines.append("  a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: width).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func expectRefused(_ yaml: String, source: String, document: String) {
        var thrown: ManifestError?
        let elapsed = threadCPUTime {
            do {
                _ = try ManifestLoader.load(data: Data(yaml.utf8), source: source)
            } catch let error as ManifestError {
                thrown = error
            } catch {}
        }
        #expect(thrown?.source == document, "\(String(describing: thrown))")
        #expect(thrown?.reason.contains("aliases expand") == true)
        #expect(elapsed < .seconds(2), "\(elapsed)")
    }

    @Test func aliasBombIsRefusedNamingTheDocument() {
        Self.expectRefused("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\n" + Self.aliasBomb(),
                           source: "bomb.yaml", document: "bomb.yaml#doc2")
    }

    @Test func mergeKeyBombIsRefused() {
        var lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: merge}", "x0: &m0 {" +
                     (0..<10).map { "k\($0): v" }.joined(separator: ", ") + "}"]
        for level in 1...8 {
            let members = (0..<10).map { "k\($0): {<<: *m\(level - 1)}" }.joined(separator: ", ")
            lines.append("x\(level): &m\(level) {\(members)}")
        }
        Self.expectRefused(lines.joined(separator: "\n") + "\n", source: "merge.yaml", document: "merge.yaml#doc1")
    }

    @Test func modestAliasesAreStillExpanded() throws {
        let loaded = try ManifestLoader.load(data: Data(Self.aliasBomb(levels: 3, width: 3).utf8), source: "ok.yaml")
        #expect(loaded.first?.object.raw["data"]?["a3"]?.arrayValue?.count == 3)
    }

    /// YAML 1.1 base-60 numbers are strings, as kubectl's reader (go-yaml v2) reads them; one with
    /// many parts made Yams's conversion trap on overflow (found by UpstreamCAFuzzer).
    @Test(arguments: ["2:2:2:22:2:2:22:22:2:2:2", "1:20", "-1:30", "190:20:30.15", "99:59:59:59:59:59:59:59:59:59:59:59"])
    func baseSixtyNumbersAreStrings(_ scalar: String) throws {
        let value = try ManifestLoader.document(from: Data("port: \(scalar)\n".utf8), source: "sixty.yaml")
        #expect(value["port"] == .string(scalar))
    }

    @Test func singleDocumentReaderRefusesBombsToo() {
        #expect(throws: ManifestError.self) { try ManifestLoader.document(from: Data(Self.aliasBomb().utf8), source: "doc.yaml") }
    }

    @Test func oversizedFileIsRefusedWithItsSize() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("big.yaml").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(ManifestLoader.maximumInputSize + 1))
        try handle.close()
        #expect {
            _ = try ManifestLoader.load(paths: [directory.url.path])
        } throws: { error in
            let error = error as? ManifestError
            return error?.source.hasSuffix("big.yaml") == true && error?.reason.contains("larger than the limit") == true
        }
    }

    static let configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: linked}\n"

    @Test func symlinkedFilesAndDirectoriesAreFollowedOnce() throws {
        let scratch = try TemporaryDirectory()
        let root = scratch.url.appendingPathComponent("manifests")
        let elsewhere = scratch.url.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try Data(Self.configMap.utf8).write(to: elsewhere.appendingPathComponent("real.yaml"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.yaml").path,
                                                   withDestinationPath: elsewhere.appendingPathComponent("real.yaml").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("dir").path, withDestinationPath: elsewhere.path)
        // A loop back to the top: must not recurse forever.
        try FileManager.default.createSymbolicLink(atPath: elsewhere.appendingPathComponent("up").path, withDestinationPath: root.path)
        let loaded = try ManifestLoader.load(paths: [root.path])
        #expect(loaded.map(\.source) == [root.path + "/dir/real.yaml#doc1", root.path + "/link.yaml#doc1"])
    }

    @Test func brokenSymlinkIsAnErrorNamingIt() throws {
        let scratch = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: scratch.url.appendingPathComponent("gone.yaml").path,
                                                   withDestinationPath: scratch.url.appendingPathComponent("missing").path)
        #expect {
            _ = try ManifestLoader.load(paths: [scratch.url.path])
        } throws: { error in
            let error = error as? ManifestError
            return error?.source.hasSuffix("gone.yaml") == true && error?.reason.contains("broken symbolic link") == true
        }
    }
}
