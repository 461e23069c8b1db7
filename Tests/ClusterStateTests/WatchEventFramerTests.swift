import NIOCore
import Testing
@testable import ClusterState

@Suite("Watch stream framing")
struct WatchEventFramerTests {
    static let stream = Array("""
        {"type":"ADDED","object":{"metadata":{"name":"caf\u{e9}-\u{1F600}","resourceVersion":"1"}}}
        {"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}}

        {"type":"DELETED","object":{"metadata":{"name":"x","resourceVersion":"3"}}}

        """.utf8)

    static var expected: [[UInt8]] {
        String(decoding: stream, as: UTF8.self).split(separator: "\n").map { Array($0.utf8) }
    }

    /// Every way of cutting the stream in two, and in three, yields the same events.
    @Test func splitAtEveryByteOffset() throws {
        for cut in 0...Self.stream.count {
            var framer = WatchEventFramer()
            var events = try framer.append(ByteBuffer(bytes: Self.stream[..<cut]))
            events += try framer.append(ByteBuffer(bytes: Self.stream[cut...]))
            #expect(events == Self.expected, "cut at \(cut)")
            #expect(framer.pendingCount == 0)
        }
        for first in stride(from: 0, through: Self.stream.count, by: 7) {
            for second in first...Self.stream.count {
                var framer = WatchEventFramer()
                var events = try framer.append(ByteBuffer(bytes: Self.stream[..<first]))
                events += try framer.append(ByteBuffer(bytes: Self.stream[first..<second]))
                events += try framer.append(ByteBuffer(bytes: Self.stream[second...]))
                #expect(events == Self.expected, "cuts at \(first), \(second)")
            }
        }
    }

    @Test func oneByteAtATime() throws {
        var framer = WatchEventFramer()
        var events: [[UInt8]] = []
        for byte in Self.stream { events += try framer.append(ByteBuffer(bytes: [byte])) }
        #expect(events == Self.expected)
    }

    @Test func incompleteEventStaysPending() throws {
        var framer = WatchEventFramer()
        let events = try framer.append(ByteBuffer(string: "{\"type\":\"ADDED\""))
        #expect(events.isEmpty)
        #expect(framer.pendingCount == 15)
    }

    @Test func eventLargerThanTheCapIsRefused() throws {
        var framer = WatchEventFramer(limit: 100)
        #expect(try framer.append(ByteBuffer(bytes: [UInt8](repeating: 0x61, count: 60))).isEmpty)
        #expect(throws: WatchEventFramer.EventTooLarge.self) {
            try framer.append(ByteBuffer(bytes: [UInt8](repeating: 0x61, count: 60)))
        }
        var exact = WatchEventFramer(limit: 100)
        let events = try exact.append(ByteBuffer(bytes: [UInt8](repeating: 0x61, count: 100) + [0x0A]))
        #expect(events.count == 1)
    }
}
