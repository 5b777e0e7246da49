import Foundation
import Testing
@testable import Sidecar
import Strategies

private func expectError(_ response: SocketResponse?, _ code: SocketErrorCode, _ comment: Comment? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    guard case .error(let info) = response else {
        Issue.record("expected \(code), got \(String(describing: response)) \(comment.map { "\($0)" } ?? "")",
                     sourceLocation: sourceLocation)
        return
    }
    #expect(info.code == code, comment, sourceLocation: sourceLocation)
}

@Suite("Socket framing and calls on a real Unix socket", .serialized)
struct SocketProtocolTests {
    @Test("a request written one byte at a time is answered")
    func splitFrame() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let response = try await offloaded {
            for byte in SocketFraming.requestFrame(.hello(.init(clientName: "slow")), id: 77) {
                try client.send([byte])
                usleep(500)
            }
            return try client.readResponse()
        }
        #expect(response?.id == 77)
        guard case .hello(let hello) = response?.response else {
            Issue.record("no hello result: \(String(describing: response))")
            return
        }
        #expect(hello.protocolVersion == 1)
        #expect(hello.venues == ["spot", "usdm"])
        #expect(hello.maxFrameBytes == UInt32(SocketProtocol.defaultMaxFrameBytes))
        await fixture.stop()
    }

    @Test("many requests in one write are all answered, each echoing its id")
    func manyFramesInOneWrite() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let ids = try await offloaded { () -> [UInt64] in
            var bytes = SocketFraming.requestFrame(.hello(.init()), id: 1)
            for id in 2...200 as ClosedRange<UInt64> {
                bytes += SocketFraming.requestFrame(id % 2 == 0 ? .healthCheck : .getStats, id: id)
            }
            try client.send(bytes)
            var ids: [UInt64] = []
            for _ in 0..<200 {
                guard let (id, response) = try client.readResponse() else { break }
                if case .error = response { Issue.record("unexpected error for \(id): \(response)") }
                ids.append(id)
            }
            return ids
        }
        #expect(ids == Array(1...200))
        #expect(fixture.socketStats.requests(.healthCheck).value == 100)
        await fixture.stop()
    }

    @Test("a zero-length frame gets BAD_FRAME and the connection is closed")
    func zeroLength() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let frames = try await offloaded {
            try client.send([0, 0, 0, 0])
            return try client.readUntilClosed()
        }
        #expect(frames.count == 1)
        expectError(frames.first?.response, .badFrame)
        #expect(fixture.socketStats.badFrames.value == 1)
        await fixture.stop()
    }

    @Test("a request frame above SIDECAR_MAX_REQUEST_BYTES gets BAD_FRAME without being read, then the connection is closed")
    func oversized() async throws {
        let fixture = try await SocketFixture.started { $0.maxRequestBytes = 1024 }
        let client = try await fixture.client()
        let frames = try await offloaded {
            // Announce 1025 bytes and send only a few: the server must not wait for the body.
            try client.send([0, 0, 0x04, 0x01, 1, 2, 3])
            return try client.readUntilClosed()
        }
        #expect(frames.count == 1)
        expectError(frames.first?.response, .badFrame)
        if case .error(let info) = frames.first?.response {
            #expect(info.message.contains("1025"))
        }
        // The largest allowed frame still works on a new connection.
        let other = try await fixture.client()
        let answered = try await offloaded { () -> SocketResponse in
            var hello: [UInt8] = []
            SocketCodec.encodeRequest(.hello(.init(clientName: String(repeating: "x", count: 1000))), id: 5, into: &hello)
            #expect(hello.count <= 1024)
            var frame: [UInt8] = []
            SocketFraming.appendFrame(hello, to: &frame)
            try other.send(frame)
            return try other.readResponse()?.response ?? .unknown
        }
        guard case .hello = answered else {
            Issue.record("a frame within the limit was refused: \(answered)")
            return
        }
        await fixture.stop()
    }

    @Test("a 4 GiB length announcement is refused at the default limit")
    func hugeLength() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let frames = try await offloaded {
            try client.send([0xFF, 0xFF, 0xFF, 0xFF])
            return try client.readUntilClosed()
        }
        #expect(frames.count == 1)
        expectError(frames.first?.response, .badFrame)
        await fixture.stop()
    }

    @Test("a well-framed garbage message gets BAD_FRAME and the next request is still answered")
    func garbageKeepsConnection() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let (error, health) = try await offloaded { () -> (SocketResponse?, SocketResponse) in
            try client.send([0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            let error = try client.readResponse()?.response
            try client.hello()
            return (error, try client.call(.healthCheck))
        }
        expectError(error, .badFrame)
        guard case .health(let h) = health else {
            Issue.record("no health after garbage: \(health)")
            return
        }
        #expect(h.live && h.ready)
        await fixture.stop()
    }

    @Test("a connection that ends inside a frame gets BAD_FRAME for the truncated frame")
    func truncatedFrame() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let frames = try await offloaded {
            let frame = SocketFraming.requestFrame(.healthCheck, id: 3)
            try client.send(Array(frame.prefix(frame.count - 1)))
            client.shutdownWrite()
            return try client.readUntilClosed()
        }
        #expect(frames.count == 1)
        expectError(frames.first?.response, .badFrame)
        await fixture.stop()
    }

    @Test("calls before Hello fail with FAILED_PRECONDITION; a wrong version with UNSUPPORTED_VERSION; an empty call with UNIMPLEMENTED")
    func handshakeRules() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let (before, wrong, afterWrong, hello, empty) = try await offloaded {
            (try client.call(.getStats), try client.call(.hello(.init(protocolVersion: 2))), try client.call(.healthCheck),
             try client.call(.hello(.init(protocolVersion: 1))), try client.call(.unknown))
        }
        expectError(before, .failedPrecondition)
        expectError(wrong, .unsupportedVersion)
        expectError(afterWrong, .failedPrecondition, "a refused Hello does not open the session")
        guard case .hello = hello else {
            Issue.record("hello failed: \(hello)")
            return
        }
        expectError(empty, .unimplemented)
        await fixture.stop()
    }

    @Test("a misbehaving client does not disturb another client's calls")
    func isolation() async throws {
        let fixture = try await SocketFixture.started()
        let good = try await fixture.client()
        try await offloaded { try good.hello() }
        for bytes: [UInt8] in [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 0, 2, 0xFF, 0xFF]] {
            let bad = try await fixture.client()
            _ = try await offloaded { try bad.send(bytes); return try bad.readResponse() }
            let answer = try await offloaded { try good.call(.healthCheck) }
            guard case .health = answer else {
                Issue.record("good client disturbed: \(answer)")
                return
            }
        }
        await fixture.stop()
    }

    @Test("depth calls answer NOT_FOUND for unknown symbols and INVALID_ARGUMENT for bad arguments")
    func depthArgumentErrors() async throws {
        let fixture = try await SocketFixture.started()
        var market = SyntheticMarket(.init(symbols: ["BTCUSDT"]))
        fixture.feed((0..<50).map { _ in market.next().payload })
        let client = try await fixture.client()
        let answers = try await offloaded { () -> [SocketResponse] in
            try client.hello()
            return [
                try client.call(.getDepthMetrics(.init(symbol: "NOPEUSDT"))),
                try client.call(.getDepthMetrics(.init(symbol: "BTCUSDT", venue: "moon"))),
                try client.call(.getDepthMetrics(.init(symbol: ""))),
                try client.call(.getPressureHistory(.init(symbol: "BTCUSDT", timeframe: "2m"))),
                try client.call(.getPressureHistory(.init(symbol: "NOPEUSDT"))),
                try client.call(.listDepthMetrics({ var v = SocketProtocol.ListDepthMetrics(); v.limit = 201; return v }())),
                try client.call(.listDepthMetrics({ var v = SocketProtocol.ListDepthMetrics(); v.venue = "x"; return v }())),
                try client.call(.getMarketSummary(venue: "x")),
                try client.call(.subscribe(.init(stream: .unspecified))),
                try client.call(.unsubscribe(subscriptionId: 12345)),
                try client.call(.getDepthMetrics(.init(symbol: "btcusdt"))),
            ]
        }
        let expected: [SocketErrorCode?] = [.notFound, .invalidArgument, .invalidArgument, .invalidArgument, .notFound,
                                            .invalidArgument, .invalidArgument, .invalidArgument, .invalidArgument,
                                            .notFound, nil]
        for (answer, code) in zip(answers, expected) {
            if let code {
                expectError(answer, code)
            } else if case .depthMetrics(let d) = answer {
                #expect(d.symbol == "BTCUSDT")
                #expect(d.bestBid > 0 && d.bestBid < d.bestAsk)
                #expect(d.bidPrices.isEmpty, "levels only when asked")
            } else {
                Issue.record("expected depth metrics, got \(answer)")
            }
        }
        await fixture.stop()
    }

    @Test("the Goodbye is sent at shutdown after the replies already written, then the connection closes")
    func goodbyeOnStop() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        try await offloaded { try client.hello() }
        async let stopped: Void = fixture.stop()
        let frames = try await offloaded { try client.readUntilClosed() }
        await stopped
        #expect(frames.count == 1)
        #expect(frames.first?.response == .goodbye(reason: "server shutting down"))
        #expect(!FileManager.default.fileExists(atPath: fixture.path), "socket file left behind")
    }
}
