import HTTPTypes
import Logging
import NIOCore

/// Answers the API server's reviews straight from the bytes TLS decrypted, ahead of NIO's HTTP/1
/// codec.
///
/// With reviews judged in tens of microseconds, the HTTP machinery between the socket and the
/// review had become a tenth of `serve`'s time: llhttp, a request-head object with its header
/// list, the request parts wrapped and passed through four handlers, and the answer's head
/// rebuilt as a header list, encoded, and passed back through them. This handler reads the one
/// request shape the API server sends, `POST /validate` over HTTP/1.1 with a JSON body of known
/// small length, from the bytes themselves, and writes the answer as bytes.
///
/// It accepts only a strict subset of HTTP/1.1 (RFC 9112): a request line `POST <target>
/// HTTP/1.1` whose target is made of RFC 3986 path and query characters, `CRLF` line ends, field names made of token
/// characters, field values of printable ASCII, spaces and tabs, one `Content-Length` of digits
/// (at most `WebhookResponder.eventLoopBodyLimit`), a JSON `Content-Type`, and no
/// `Transfer-Encoding`, `Expect` or `Upgrade`; `Connection` only `keep-alive` or `close`. Anything
/// else (another method, path, version or framing, a probe, a head longer than
/// `maximumHeadLength`, a full body budget, garbage) is not judged here: from that request on, the
/// connection's bytes go on unchanged to NIO's decoder and the handlers behind it
/// (`HTTP1Semantics`, Hummingbird), which answer as they always have. That
/// switch happens only between requests, so the decoder starts at a request's first byte, and it
/// is final for the connection. What this handler accepts, llhttp accepts too, with the same
/// meaning: it never answers a request the codec would have refused or framed otherwise.
///
/// It keeps the rules the handlers behind it keep for their answers: answers in request order,
/// nothing read while a review is judged off the event loop, the request's deadline for its body,
/// its body budget, `Connection: close` asked or answered (and on draining or quiesce) ending the
/// connection after the answer, and `ConnectionWatch` told of each head and answer.
final class ValidateWire: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request head longer than this goes on to NIO's decoder (the API server's is ~200 bytes).
    static let maximumHeadLength = 8 * 1024

    /// A review's head as read here.
    struct Head: Equatable {
        /// Bytes up to and including the blank line.
        let length: Int
        let bodyLength: Int
        let keepAlive: Bool
        let deadline: Duration
    }

    /// What the bytes at the start of a request are.
    enum Reading: Equatable {
        /// Possibly a review whose head has not fully arrived.
        case incomplete
        /// Not a request this handler answers.
        case other
        case review(Head)
    }

    private struct Collecting {
        let head: Head
        let start: ContinuousClock.Instant
        let expires: ContinuousClock.Instant
        /// `expires` on the event loop's clock, for the timer.
        let loopDeadline: NIODeadline
        var timer: Scheduled<Void>?
    }

    private enum State {
        /// Between requests (the next one's head may have partly arrived).
        case idle
        /// A review's head was read; its body is arriving.
        case collecting(Collecting)
        /// A review is judged off the event loop.
        case answering(keepAlive: Bool, reserved: Int)
        /// An answer that ends the connection was sent; what still arrives is dropped.
        case closing
        /// Every byte goes on to NIO's HTTP/1 decoder, for the rest of the connection.
        case passing
    }

    private let responder: WebhookResponder
    private let watch: ConnectionWatch?
    private let isDraining: @Sendable () -> Bool
    private var state = State.idle
    /// Bytes received and not yet read as part of a request.
    private var pending: ByteBuffer?
    private var targets = ValidateTargets()
    private var date = HTTPDate()
    private var readHeld = false
    /// Between a read's first `channelRead` and its `channelReadComplete`.
    private var inRead = false
    private var removed = false
    /// The client half-closed while a review was judged off the event loop.
    private var inputClosed = false
    /// Shutdown: answers close, an idle connection closes when quiet.
    private let grace = QuiesceGrace()

    init(responder: WebhookResponder, watch: ConnectionWatch?, isDraining: @escaping @Sendable () -> Bool) {
        self.responder = responder
        self.watch = watch
        self.isDraining = isDraining
    }

    func handlerAdded(context: ChannelHandlerContext) {
        grace.active(at: context.eventLoop.now)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passing:
            context.fireChannelRead(data)
            return
        case .closing:
            return
        case .idle, .collecting, .answering:
            break
        }
        inRead = true
        let bytes = unwrapInboundIn(data)
        if var buffer = pending, buffer.readableBytes > 0 {
            pending = nil  // uniquely referenced while it grows
            buffer.writeImmutableBuffer(bytes)
            pending = buffer
        } else {
            pending = bytes
        }
        advance(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        armDeadline(context: context)
        context.fireChannelReadComplete()
    }

    /// Reads and answers the requests `pending` holds, as far as they have arrived.
    private func advance(context: ChannelHandlerContext) {
        while true {
            switch state {
            case .idle:
                guard let buffer = pending, buffer.readableBytes > 0 else {
                    pending = nil
                    return
                }
                switch buffer.withUnsafeReadableBytes({ Self.read($0, targets: &targets) }) {
                case .incomplete:
                    return
                case .other:
                    passOn(context: context)
                    return
                case .review(let head):
                    // A full budget: the handlers behind answer as they do when it is full.
                    guard responder.bodyBudget.tryReserve(head.bodyLength) else {
                        passOn(context: context)
                        return
                    }
                    begin(head, context: context)
                }
            case .collecting(let request):
                guard var buffer = pending, buffer.readableBytes >= request.head.bodyLength,
                      let body = buffer.readSlice(length: request.head.bodyLength)
                else { return }
                pending = buffer.readableBytes > 0 ? buffer : nil
                state = .idle
                request.timer?.cancel()
                judge(body, request, context: context)
            case .answering, .closing, .passing:
                return
            }
        }
    }

    private func begin(_ head: Head, context: ChannelHandlerContext) {
        responder.metrics.requestStarted()
        watch?.requestHeadReceived()
        grace.active(at: context.eventLoop.now)
        pending?.moveReaderIndex(forwardBy: head.length)
        let start = ContinuousClock.now
        // The deadline's timer is armed at the end of the read only if the body is incomplete then.
        state = .collecting(Collecting(head: head, start: start, expires: start + head.deadline,
                                       loopDeadline: context.eventLoop.now + TimeAmount(head.deadline)))
    }

    /// From here on, every byte goes to NIO's decoder, starting with those not read yet.
    private func passOn(context: ChannelHandlerContext) {
        state = .passing
        responder.metrics.connectionHandedOn()
        guard let buffer = pending, buffer.readableBytes > 0 else { return }
        pending = nil
        context.fireChannelRead(wrapInboundOut(buffer))
        // Outside a read (after a review judged off the event loop, or at the half-close), the read's
        // end is signalled too: the handlers behind pass what they got along at the end of a read.
        if !inRead { context.fireChannelReadComplete() }
    }

    /// Arms the deadline of a review whose body is still to come, once.
    private func armDeadline(context: ChannelHandlerContext) {
        guard case .collecting(var request) = state, request.timer == nil else { return }
        request.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: request.loopDeadline) { [self] in
            refuseCollecting(responder.bodyTimedOut(), context: context)
        }
        state = .collecting(request)
    }

    /// Answers the review being collected with `reply` (its body will not be judged).
    private func refuseCollecting(_ reply: WebhookResponder.Reply, context: ChannelHandlerContext) {
        guard case .collecting(let request) = state else { return }
        state = .idle
        request.timer?.cancel()
        send(reply, keepAlive: request.head.keepAlive, context: context)
        responder.reviewEnded(reserved: request.head.bodyLength)
    }

    private func abandonCollecting() {
        guard case .collecting(let request) = state else { return }
        state = .idle
        request.timer?.cancel()
        responder.reviewEnded(reserved: request.head.bodyLength)
    }

    private func judge(_ body: ByteBuffer, _ request: Collecting, context: ChannelHandlerContext) {
        let first = responder.firstHop(body, start: request.start, judgingEverything: false)
        if case .judged(let judgement) = first {
            send(responder.reply(judgement), keepAlive: request.head.keepAlive, context: context)
            responder.reviewEnded(reserved: request.head.bodyLength)
            return
        }
        // A review whose cost depends on the cluster or on crypto: a worker judges it, within the
        // deadline, stopped when the caller hangs up. Nothing more is read until it is answered.
        state = .answering(keepAlive: request.head.keepAlive, reserved: request.head.bodyLength)
        responder.finish(first, start: request.start, expires: request.expires, context: context) { [self] reply, context in
            answered(reply, context: context)
        }
    }

    private func answered(_ reply: WebhookResponder.Reply, context: ChannelHandlerContext) {
        guard case .answering(let keepAlive, let reserved) = state else { return }
        state = .idle
        if !removed { send(reply, keepAlive: keepAlive, context: context) }
        responder.reviewEnded(reserved: reserved)
        guard !removed else { return }
        // What arrived while the review was judged: the next requests, then the half-close.
        advance(context: context)
        if inputClosed {
            inputClosed = false
            handleInputClosed(context: context)
        }
        armDeadline(context: context)
        if readHeld, !isAnswering {
            readHeld = false
            context.read()
        }
    }

    private var isAnswering: Bool {
        if case .answering = state { return true }
        return false
    }

    private func send(_ reply: WebhookResponder.Reply, keepAlive: Bool, context: ChannelHandlerContext) {
        grace.active(at: context.eventLoop.now)
        let closes = reply.closing || !keepAlive || isDraining() || grace.quiesced
        let date = date.now()
        var out = context.channel.allocator.buffer(capacity: 160 + reply.body.readableBytes)
        out.writeStaticString("HTTP/1.1 ")
        out.writeString(String(reply.status.code))
        out.writeStaticString(" ")
        out.writeString(reply.status.reasonPhrase)
        out.writeStaticString("\r\nContent-Type: application/json\r\nContent-Length: ")
        out.writeString(String(reply.body.readableBytes))
        out.writeStaticString("\r\nDate: ")
        out.writeString(date)
        out.writeStaticString(closes ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n")
        out.writeImmutableBuffer(reply.body)
        guard closes else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            watch?.responsesFinished()
            return
        }
        state = .closing
        pending = nil
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .passing = state {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            handleInputClosed(context: context)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // The handlers behind have seen no request: shutdown is this handler's to carry out.
            grace.quiesce(context: context) { [unowned self] in
                if case .idle = state { return pending == nil }
                return false
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client sends nothing more: the connection ends once what it sent is answered.
    private func handleInputClosed(context: ChannelHandlerContext) {
        switch state {
        case .passing:
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        case .closing:
            break
        case .answering:
            inputClosed = true
        case .collecting:
            // The body cannot arrive any more.
            refuseCollecting(responder.bodyUnreadable(closing: true), context: context)
        case .idle:
            if pending == nil {
                context.close(promise: nil)
            } else {
                // Part of a head: NIO's decoder reports it as it reports any request cut short.
                passOn(context: context)
                context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        abandonCollecting()
        grace.cancel()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        abandonCollecting()
        grace.cancel()
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if isAnswering {
            readHeld = true
            return
        }
        context.read()
    }

    // MARK: Reading a head

    /// What the bytes at the start of a request are (see the type's documentation for the subset
    /// of HTTP/1.1 read as a review).
    static func read(_ bytes: UnsafeRawBufferPointer, targets: inout ValidateTargets) -> Reading {
        let prefix: StaticString = "POST /validate"
        let prefixLength = prefix.utf8CodeUnitCount
        let compared = min(bytes.count, prefixLength)
        guard UnsafeRawBufferPointer(start: prefix.utf8Start, count: compared).elementsEqual(bytes.prefix(compared)) else {
            return .other
        }
        var lineStart = 0
        var requestLine: Range<Int>?
        var contentLength: Int?
        var isJSON = false
        var sawContentType = false
        var keepAlive = true
        while true {
            guard let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) else {
                return bytes.count > maximumHeadLength ? .other : .incomplete
            }
            guard newline < maximumHeadLength, newline > lineStart, bytes[newline - 1] == UInt8(ascii: "\r") else {
                return .other
            }
            let line = lineStart..<(newline - 1)
            lineStart = newline + 1
            if requestLine == nil {
                requestLine = line
                continue
            }
            if line.isEmpty { break }
            guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound,
                  bytes[line.lowerBound..<colon].allSatisfy(isTokenCharacter)
            else { return .other }
            var valueStart = colon + 1
            var valueEnd = line.upperBound
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            guard value.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x09 }) else { return .other }
            switch Field(UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<colon])) {
            case .contentLength:
                // Digits alone, nothing after them: llhttp refuses a tab there.
                guard contentLength == nil, valueEnd == line.upperBound, (1...9).contains(value.count),
                      value.allSatisfy({ (0x30...0x39).contains($0) })
                else { return .other }
                contentLength = value.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            case .contentType:
                guard !sawContentType else { return .other }
                sawContentType = true
                // The API server's own value compared in place: as a String (16 bytes) it would be
                // allocated on every request.
                isJSON = Self.equalsIgnoringCase(value, "application/json")
                    || WebhookResponder.isJSON(String(decoding: value, as: UTF8.self))
            case .connection:
                if Self.equalsIgnoringCase(value, "close") {
                    keepAlive = false
                } else if !Self.equalsIgnoringCase(value, "keep-alive") {
                    return .other
                }
            case .refused:
                return .other
            case .other:
                break
            }
        }
        guard let requestLine, isJSON, let contentLength, contentLength <= WebhookResponder.eventLoopBodyLimit,
              let deadline = target(UnsafeRawBufferPointer(rebasing: bytes[requestLine]), targets: &targets)
        else { return .other }
        return .review(Head(length: lineStart, bodyLength: contentLength, keepAlive: keepAlive, deadline: deadline))
    }

    /// The deadline of a request line `POST <target> HTTP/1.1` whose target is `/validate`.
    private static func target(_ line: UnsafeRawBufferPointer, targets: inout ValidateTargets) -> Duration? {
        let method = "POST ".utf8.count
        let version: StaticString = " HTTP/1.1"
        let versionLength = version.utf8CodeUnitCount
        guard line.count > method + versionLength,
              UnsafeRawBufferPointer(start: version.utf8Start, count: versionLength).elementsEqual(line.suffix(versionLength))
        else { return nil }
        let target = UnsafeRawBufferPointer(rebasing: line[method..<(line.count - versionLength)])
        guard target.allSatisfy(isTargetCharacter) else { return nil }
        return targets.deadline(ofBytes: target)
    }

    /// RFC 3986 path and query characters (unreserved, sub-delims, `:@/?` and `%`): what every
    /// parser reads alike. Anything else in a target goes on to NIO's decoder.
    private static func isTargetCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"),
             UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
             UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "%"):
            return true
        default: return false
        }
    }

    /// The fields that decide whether and how a request is read here.
    private enum Field {
        case contentLength, contentType, connection
        /// Framing or protocol changes this handler leaves to NIO's codec.
        case refused
        case other

        init(_ name: UnsafeRawBufferPointer) {
            switch name.count {
            case 14 where ValidateWire.equalsIgnoringCase(name, "content-length"): self = .contentLength
            case 12 where ValidateWire.equalsIgnoringCase(name, "content-type"): self = .contentType
            case 10 where ValidateWire.equalsIgnoringCase(name, "connection"): self = .connection
            case 17 where ValidateWire.equalsIgnoringCase(name, "transfer-encoding"): self = .refused
            case 6 where ValidateWire.equalsIgnoringCase(name, "expect"): self = .refused
            case 7 where ValidateWire.equalsIgnoringCase(name, "upgrade"): self = .refused
            default: self = .other
            }
        }
    }

    /// `bytes` spell the lower-case ASCII `text`, in any case.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        return zip(bytes, expected).allSatisfy { byte, lower in
            byte == lower || (byte >= 0x41 && byte <= 0x5A && byte | 0x20 == lower)
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }
}
