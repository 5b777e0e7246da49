import NIOCore

/// What the frame decoder hands the connection: one message body, or the reason the byte
/// stream can no longer be read.
enum InboundFrame {
    case message(ByteBuffer)
    /// Zero length, oversized or truncated. The decoder discards everything after it.
    case invalid(SocketProtocolError)
}

/// 4-byte big-endian length + body. The length is checked before any body byte is buffered,
/// so an oversized frame never costs memory. After an invalid frame the stream is dropped:
/// there is no way to find the next frame boundary.
///
/// A frame must also arrive in full within `frameTimeout` of its first byte: a client that starts
/// a frame and never finishes it (one byte a second, or a large frame announced and stalled)
/// would otherwise hold its partial buffer, up to `maxFrameBytes`, for as long as it likes.
/// When the timeout expires the frame is reported as `.frameTimeout` and the stream is dropped.
struct SocketFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = InboundFrame

    /// State shared with the timeout task (the decoder itself is a value inside its handler).
    private final class State {
        var failed = false
        var deadline: Scheduled<Void>?
    }

    let maxFrameBytes: Int
    let frameTimeout: TimeAmount?
    private let state = State()

    init(maxFrameBytes: Int, frameTimeout: TimeAmount? = nil) {
        self.maxFrameBytes = maxFrameBytes
        self.frameTimeout = frameTimeout
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if state.failed {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            armDeadline(context, partial: buffer.readableBytes > 0)
            return .needMoreData
        }
        if length == 0 || Int(length) > maxFrameBytes {
            fail(context)
            buffer.moveReaderIndex(to: buffer.writerIndex)
            let error: SocketProtocolError = length == 0
                ? .emptyFrame : .frameTooLarge(length: Int(length), maximum: maxFrameBytes)
            context.fireChannelRead(wrapInboundOut(.invalid(error)))
            return .needMoreData
        }
        guard buffer.readableBytes >= 4 + Int(length) else {
            armDeadline(context, partial: true)
            return .needMoreData
        }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let body = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        // A complete frame: the next one gets its own deadline.
        state.deadline?.cancel()
        state.deadline = nil
        context.fireChannelRead(wrapInboundOut(.message(body)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if !state.failed && buffer.readableBytes > 0 {
            fail(context)
            let expected = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self).map { Int($0) + 4 } ?? 4
            let received = buffer.readableBytes
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.invalid(.truncatedFrame(expected: expected, received: received))))
        }
        state.deadline?.cancel()
        state.deadline = nil
        return .needMoreData
    }

    private func fail(_ context: ChannelHandlerContext) {
        state.failed = true
        state.deadline?.cancel()
        state.deadline = nil
    }

    /// Starts the clock when a frame is incomplete (once per frame); stops it when nothing is buffered.
    private func armDeadline(_ context: ChannelHandlerContext, partial: Bool) {
        guard let frameTimeout else { return }
        guard partial else {
            state.deadline?.cancel()
            state.deadline = nil
            return
        }
        guard state.deadline == nil else { return }
        let state = self.state
        let bound = NIOLoopBound((state, context), eventLoop: context.eventLoop)
        state.deadline = context.eventLoop.scheduleTask(in: frameTimeout) {
            let (state, context) = bound.value
            guard !state.failed, state.deadline != nil else { return }
            state.failed = true
            state.deadline = nil
            let seconds = Double(frameTimeout.nanoseconds) / 1e9
            context.fireChannelRead(NIOAny(InboundFrame.invalid(.frameTimeout(seconds: seconds))))
            context.fireChannelReadComplete()
        }
    }
}

/// Framing helpers for byte-array clients (tests, tools).
public enum SocketFraming {
    /// Appends the 4-byte big-endian length of `body`, then `body`.
    public static func appendFrame(_ body: [UInt8], to out: inout [UInt8]) {
        let n = UInt32(truncatingIfNeeded: body.count)
        out.append(contentsOf: [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)])
        out.append(contentsOf: body)
    }

    /// A complete request frame.
    public static func requestFrame(_ request: SocketRequest, id: UInt64) -> [UInt8] {
        var body: [UInt8] = []
        SocketCodec.encodeRequest(request, id: id, into: &body)
        var frame: [UInt8] = []
        frame.reserveCapacity(body.count + 4)
        appendFrame(body, to: &frame)
        return frame
    }

    /// The length announced by a 4-byte big-endian header.
    public static func length(ofHeader header: some Collection<UInt8>) -> Int? {
        guard header.count >= 4 else { return nil }
        return header.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }
}
