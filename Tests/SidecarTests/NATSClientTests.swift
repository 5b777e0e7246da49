import Foundation
@testable import NATS
import Testing
@testable import Sidecar
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Helpers

/// Thread-safe append-only log for values produced on NATS threads.
final class NATSTestRecorder<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Value] = []

    func append(_ value: Value) { lock.withLock { items.append(value) } }
    var values: [Value] { lock.withLock { items } }
    var count: Int { lock.withLock { items.count } }
}

extension NATSTestRecorder where Value == NATSConnectionEvent {
    func contains(_ event: NATSConnectionEvent) -> Bool { values.contains(event) }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func natsEventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

func natsCurrentThreadID() -> UInt64 {
    #if canImport(Glibc)
    return UInt64(pthread_self())
    #else
    return UInt64(UInt(bitPattern: pthread_self()))
    #endif
}

/// Fast reconnects so restart tests stay short.
func natsTestOptions(_ url: String, pingIntervalMs: Int64 = 20_000, maxPingsOut: Int = 2,
                     connectTimeoutMs: Int64 = 2000) -> NATSClientOptions {
    NATSClientOptions(url: url, name: "sidecar-tests", reconnectWaitMs: 50, maxReconnectWaitMs: 400,
                      reconnectJitterMs: 10, connectTimeoutMs: connectTimeoutMs,
                      pingIntervalMs: pingIntervalMs, maxPingsOut: maxPingsOut)
}

struct NATSHeaderObservation: Equatable {
    var trace: String?
    var contentType: String?
    var absent: String?
    var payload: [UInt8]
    var subject: String
}

// MARK: - Integration tests against a real nats-server

@Suite("NATSClient against a real nats-server", .serialized, .timeLimit(.minutes(2)))
struct NATSClientTests {

    @Test("publish/subscribe round trip delivers payload bytes intact, including a 1 MiB payload")
    func roundTrip() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }

        let received = NATSTestRecorder<[UInt8]>()
        let subjects = NATSTestRecorder<String>()
        let sub = try client.subscribe(subject: "md.roundtrip") { subject, payload in
            subjects.append(String(decoding: subject, as: UTF8.self))
            received.append(Array(payload))
        }
        try client.flush(timeoutMs: 2000)

        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let payloads: [[UInt8]] = [[], [0], Array(0...255), [UInt8](repeating: 0xAB, count: 1000), big]
        for payload in payloads {
            try client.publish(subject: "md.roundtrip", bytes: payload)
        }
        try client.flush(timeoutMs: 5000)

        #expect(await natsEventually { received.count == payloads.count })
        #expect(received.values == payloads)
        #expect(subjects.values.allSatisfy { $0 == "md.roundtrip" })
        #expect(sub.droppedCount == 0)
        let stats = client.stats
        #expect(stats.outMsgs >= UInt64(payloads.count))
        #expect(stats.inMsgs >= UInt64(payloads.count))
        #expect(stats.inBytes >= UInt64(big.count))
    }

    @Test("a payload above the server's max_payload is rejected with a typed libnats error")
    func payloadTooLarge() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 1000) }
        try client.flush(timeoutMs: 2000)  // connected, so the server's max_payload (1 MiB) is known

        let tooBig = [UInt8](repeating: 1, count: (1 << 20) + 1)
        let error = #expect(throws: NATSError.self) {
            try client.publish(subject: "md.big", bytes: tooBig)
        }
        #expect(error?.kind == .payloadTooLarge)
        #expect(error?.operation == "publish")
        #expect(error?.subject == "md.big")
        #expect(error?.statusText.isEmpty == false)
    }

    @Test("headers published with a message are readable through NATSMessageView while the fast handler still gets the payload")
    func headers() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }

        let viewed = NATSTestRecorder<NATSHeaderObservation>()
        _ = try client.subscribe(subject: "md.headers", messageHandler: { message in
            viewed.append(NATSHeaderObservation(trace: message.header("X-Trace"),
                                            contentType: message.header("Content-Type"),
                                            absent: message.header("Absent"),
                                            payload: Array(message.payload),
                                            subject: message.subjectString))
        })
        let raw = NATSTestRecorder<[UInt8]>()
        _ = try client.subscribe(subject: "md.headers") { _, payload in raw.append(Array(payload)) }
        try client.flush(timeoutMs: 2000)

        try client.publish(subject: "md.headers", bytes: [1, 2, 3],
                           headers: [("X-Trace", "abc-123"), ("Content-Type", "application/x-protobuf")])
        try client.publish(subject: "md.headers", bytes: [4])  // no headers: plain natsConnection_Publish
        try client.flush(timeoutMs: 2000)

        #expect(await natsEventually { viewed.count == 2 && raw.count == 2 })
        #expect(viewed.values.first == NATSHeaderObservation(trace: "abc-123", contentType: "application/x-protobuf",
                                                          absent: nil, payload: [1, 2, 3], subject: "md.headers"))
        #expect(viewed.values.last == NATSHeaderObservation(trace: nil, contentType: nil, absent: nil,
                                                         payload: [4], subject: "md.headers"))
        #expect(raw.values == [[1, 2, 3], [4]])
    }

    @Test("all subscriptions, of one client and of a second client, are delivered on one single thread")
    func singleDeliveryThread() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }
        let other = try NATSClient(options: natsTestOptions(server.url))
        defer { other.close(drainTimeoutMs: 2000) }

        let threads = NATSTestRecorder<UInt64>()
        _ = try client.subscribe(subject: "md.a") { _, _ in threads.append(natsCurrentThreadID()) }
        _ = try client.subscribe(subject: "md.b") { _, _ in threads.append(natsCurrentThreadID()) }
        _ = try other.subscribe(subject: "md.c") { _, _ in threads.append(natsCurrentThreadID()) }
        try client.flush(timeoutMs: 2000)
        try other.flush(timeoutMs: 2000)

        for i in 0..<200 {
            try client.publish(subject: "md.a", bytes: [UInt8(i & 0xFF)])
            try client.publish(subject: "md.b", bytes: [UInt8(i & 0xFF)])
            try other.publish(subject: "md.c", bytes: [UInt8(i & 0xFF)])
        }
        try client.flush(timeoutMs: 2000)
        try other.flush(timeoutMs: 2000)

        #expect(await natsEventually { threads.count == 600 })
        let distinct = Set(threads.values)
        #expect(distinct.count == 1)
        #expect(!distinct.contains(natsCurrentThreadID()))
    }

    @Test("a client started while the server is down returns at once, and its subscription receives once the server comes up")
    func serverDownAtStart() async throws {
        let server = try NATSServerProcess(start: false)
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let clock = ContinuousClock()
        let started = clock.now
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })
        defer { client.close(drainTimeoutMs: 2000) }
        #expect(clock.now - started < .seconds(1))
        #expect(!client.isConnected)

        let received = NATSTestRecorder<[UInt8]>()
        let sub = try client.subscribe(subject: "md.late") { _, payload in received.append(Array(payload)) }
        try client.publish(subject: "md.late", bytes: [9])  // buffered until the first connect

        try server.start()
        #expect(await natsEventually { client.isConnected })
        #expect(await natsEventually { events.contains(.connected) })
        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.late", bytes: [42])
        try client.flush(timeoutMs: 2000)

        #expect(await natsEventually { received.values.contains([42]) })
        #expect(received.values.contains([9]))
        #expect(sub.isValid)
        #expect(client.stats.reconnects == 0)  // the late first connect is not a reconnect
    }

    @Test("a first connect to a server that accepts TCP but never answers keeps retrying; what was subscribed and published meanwhile takes effect once it answers")
    func silentServerAtFirstConnect() async throws {
        // libnats 3.4.1's own retry-on-failed-connect closes the connection for good when the
        // first handshake times out; the wrapper's connector must keep trying instead.
        let server = try NATSServerProcess(jetStream: false)
        defer { server.stop() }
        let proxy = try StallingTCPProxy(targetPort: server.port, holding: true)
        defer { proxy.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let clock = ContinuousClock()
        let started = clock.now
        let client = try NATSClient(options: natsTestOptions(proxy.url, connectTimeoutMs: 400),
                                    onEvent: { events.append($0) })
        defer { client.close(drainTimeoutMs: 2000) }
        #expect(clock.now - started < .seconds(2), "init waits for one handshake timeout at most")
        #expect(!client.isConnected)

        let received = NATSTestRecorder<[UInt8]>()
        let sub = try client.subscribe(subject: "md.silent") { _, payload in received.append(Array(payload)) }
        try client.publish(subject: "md.silent", bytes: [7])  // buffered until the first connect
        #expect(throws: NATSError.self) { try client.flush(timeoutMs: 100) }

        // Handshakes keep timing out; the client keeps trying and is not closed.
        #expect(await natsEventually { proxy.acceptedCount >= 3 })
        #expect(!client.isConnected)
        #expect(!events.contains(.closed))

        proxy.release()
        #expect(await natsEventually { client.isConnected })
        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.silent", bytes: [8])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { received.values.contains([8]) })
        #expect(received.values.first == [7], "the buffered publish reached the subscription made before it")
        #expect(sub.isValid)
        #expect(events.values.filter { $0 == .connected }.count == 1)
        #expect(!events.contains(.closed))
        #expect(client.stats.reconnects == 0)
    }

    @Test("a failed first connect is reported without the URL's credentials")
    func firstConnectErrorRedacted() async throws {
        let server = try NATSServerProcess(start: false)
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let url = server.url.replacingOccurrences(of: "nats://", with: "nats://trader:s3cr3t@")
        let client = try NATSClient(options: natsTestOptions(url), onEvent: { events.append($0) })
        client.close(drainTimeoutMs: 500)
        let texts = events.values.compactMap { event -> String? in
            if case .error(let text) = event { return text }
            return nil
        }
        #expect(texts.contains { $0.contains("first connect to nats://trader:***@") }, "\(texts)")
        #expect(!texts.contains { $0.contains("s3cr3t") })
    }

    @Test("before the first connect, draining a subscription completes it without a delivery and close stops the connector promptly")
    func closeBeforeFirstConnect() async throws {
        let server = try NATSServerProcess(start: false)
        let client = try NATSClient(options: natsTestOptions(server.url))
        let received = NATSTestRecorder<[UInt8]>()
        let drained = try client.subscribe(subject: "md.never") { _, payload in received.append(Array(payload)) }
        let kept = try client.subscribe(subject: "md.never.kept") { _, payload in received.append(Array(payload)) }
        #expect(!drained.isValid)
        try drained.drain(timeoutMs: 500)
        #expect(drained.isComplete)
        #expect(!kept.isComplete)

        let clock = ContinuousClock()
        let started = clock.now
        client.close(drainTimeoutMs: 2000)
        #expect(clock.now - started < .seconds(1))
        #expect(kept.isComplete, "close completes subscriptions that never reached a server")
        #expect(throws: NATSError.self) { try client.publish(subject: "md.never", bytes: [1]) }
        #expect(throws: NATSError.self) { _ = try client.subscribe(subject: "md.never") { _, _ in } }
        #expect(received.values.isEmpty)
    }

    @Test("after the server is killed and restarted on the same port the client reconnects and the subscription keeps receiving")
    func reconnectAfterKill() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })
        defer { client.close(drainTimeoutMs: 2000) }

        let received = NATSTestRecorder<[UInt8]>()
        _ = try client.subscribe(subject: "md.restart") { _, payload in received.append(Array(payload)) }
        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.restart", bytes: [1])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { received.values == [[1]] })
        #expect(client.isConnected)
        #expect(client.stats.reconnects == 0)

        server.kill()
        #expect(await natsEventually { !client.isConnected })
        #expect(await natsEventually { events.contains(.disconnected) })

        try server.start()
        #expect(await natsEventually(timeout: .seconds(15)) { client.isConnected })
        #expect(await natsEventually { client.stats.reconnects >= 1 && events.contains(.reconnected) })
        #expect(client.stats.disconnects >= 1)

        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.restart", bytes: [2])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { received.values.contains([2]) })
    }

    @Test("a frozen server is detected through unanswered pings and the client reconnects once it thaws")
    func staleConnectionAfterPause() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url, pingIntervalMs: 200, maxPingsOut: 2,
                                                             connectTimeoutMs: 500))
        defer { client.close(drainTimeoutMs: 1000) }
        let received = NATSTestRecorder<[UInt8]>()
        _ = try client.subscribe(subject: "md.frozen") { _, payload in received.append(Array(payload)) }
        try client.flush(timeoutMs: 2000)
        #expect(client.isConnected)

        server.pause()
        #expect(await natsEventually { !client.isConnected })
        server.resume()
        #expect(await natsEventually(timeout: .seconds(15)) { client.isConnected })
        #expect(await natsEventually { client.stats.reconnects >= 1 })

        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.frozen", bytes: [7])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { received.values.contains([7]) })
    }

    @Test("a slow handler with a small pending limit drops messages, counts them, and reports a slow-consumer event")
    func slowConsumer() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })
        defer { client.close(drainTimeoutMs: 2000) }

        let handled = NATSTestRecorder<UInt8>()
        let stalled = NATSTestRecorder<Bool>()
        let release = DispatchSemaphore(value: 0)
        let sub = try client.subscribe(subject: "md.slow", pendingMessageLimit: 10, pendingByteLimit: 1 << 20) { _, payload in
            if handled.count == 0 {  // stall on the first message until the test releases it
                stalled.append(true)
                _ = release.wait(timeout: .now() + 10)
            }
            handled.append(payload.first ?? 0)
        }
        try client.flush(timeoutMs: 2000)
        let total = 500
        try client.publish(subject: "md.slow", bytes: [0])
        #expect(await natsEventually { stalled.count == 1 })  // the handler now holds message 0
        for i in 1..<total { try client.publish(subject: "md.slow", bytes: [UInt8(i & 0xFF)]) }
        try client.flush(timeoutMs: 5000)  // all 500 reached the client while the handler is stalled

        #expect(await natsEventually { sub.droppedCount == total - 1 - 10 })  // 1 in the handler, 10 pending
        #expect(sub.pendingCount == 10)
        #expect(await natsEventually { client.stats.slowConsumerErrors >= 1 })
        #expect(await natsEventually { events.contains(.slowConsumer) })
        release.signal()

        #expect(await natsEventually { handled.count == 11 })
        #expect(handled.count + sub.droppedCount == total)
        #expect(sub.pendingCount == 0)
    }

    @Test("close drains pending messages before closing, emits .closed, and a second close is a no-op")
    func closeDrainsAndIsIdempotent() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })

        let handled = NATSTestRecorder<UInt8>()
        let sub = try client.subscribe(subject: "md.drain") { _, payload in
            usleep(2000)  // 200 messages ≈ 400 ms of work left when close() starts
            handled.append(payload.first ?? 0)
        }
        try client.flush(timeoutMs: 2000)
        for i in 0..<200 { try client.publish(subject: "md.drain", bytes: [UInt8(i & 0xFF)]) }
        try client.flush(timeoutMs: 5000)  // every message is now in the client, pending or handled
        #expect(handled.count < 200)

        client.close(drainTimeoutMs: 5000)
        #expect(handled.count == 200)
        #expect(handled.values == (0..<200).map { UInt8($0 & 0xFF) })
        #expect(sub.isComplete)
        #expect(!sub.isValid)
        #expect(sub.droppedCount == 0)
        #expect(!client.isConnected)
        #expect(events.contains(.closed))
        #expect(client.stats.outMsgs >= 200)

        let clock = ContinuousClock()
        let again = clock.now
        client.close(drainTimeoutMs: 5000)
        #expect(clock.now - again < .milliseconds(100))
        #expect(events.values.filter { $0 == .closed }.count == 1)

        let publishError = #expect(throws: NATSError.self) { try client.publish(subject: "md.drain", bytes: [1]) }
        #expect(publishError?.kind == .connectionClosed)
        let subscribeError = #expect(throws: NATSError.self) { try client.subscribe(subject: "md.drain") { _, _ in } }
        #expect(subscribeError?.kind == .connectionClosed)
        #expect(throws: NATSError.self) { try client.flush(timeoutMs: 100) }
    }

    @Test("close while the server is down returns promptly instead of waiting for the drain timeout")
    func closeWhileServerDown() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })
        let sub = try client.subscribe(subject: "md.down") { _, _ in }
        try client.flush(timeoutMs: 2000)

        server.kill()
        #expect(await natsEventually { !client.isConnected })
        let clock = ContinuousClock()
        let start = clock.now
        client.close(drainTimeoutMs: 5000)
        #expect(clock.now - start < .seconds(1))
        #expect(sub.isComplete)
        #expect(events.contains(.closed))
    }

    @Test("draining one subscription waits for OnComplete, stops its deliveries and leaves the others running")
    func drainOneSubscription() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }

        let first = NATSTestRecorder<UInt8>()
        let second = NATSTestRecorder<UInt8>()
        let drained = try client.subscribe(subject: "md.q") { _, p in first.append(p.first ?? 0) }
        _ = try client.subscribe(subject: "md.q") { _, p in second.append(p.first ?? 0) }
        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.q", bytes: [1])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { first.count == 1 && second.count == 1 })

        try drained.drain(timeoutMs: 2000)
        #expect(drained.isComplete)
        #expect(!drained.isValid)
        try drained.drain(timeoutMs: 2000)  // idempotent

        try client.publish(subject: "md.q", bytes: [2])
        try client.flush(timeoutMs: 2000)
        #expect(await natsEventually { second.count == 2 })
        #expect(first.values == [1])
    }

    @Test("close called from inside a message handler returns without deadlocking the delivery thread")
    func closeFromHandler() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let events = NATSTestRecorder<NATSConnectionEvent>()
        let client = try NATSClient(options: natsTestOptions(server.url), onEvent: { events.append($0) })
        defer { client.close(drainTimeoutMs: 1000) }
        let returned = NATSTestRecorder<Bool>()
        let sub = try client.subscribe(subject: "md.stop") { _, _ in
            client.close(drainTimeoutMs: 5000)  // on the delivery thread: must not wait for itself
            returned.append(true)
        }
        try client.flush(timeoutMs: 2000)
        try client.publish(subject: "md.stop", bytes: [1])
        _ = try? client.flush(timeoutMs: 2000)  // may race with the handler's close (Connection Closed)

        #expect(await natsEventually(timeout: .seconds(3)) { returned.count == 1 })
        #expect(await natsEventually { sub.isComplete && events.contains(.closed) })
        #expect(!client.isConnected)

        // The delivery thread is still alive for other clients.
        let other = try NATSClient(options: natsTestOptions(server.url))
        defer { other.close(drainTimeoutMs: 1000) }
        let got = NATSTestRecorder<UInt8>()
        _ = try other.subscribe(subject: "md.after") { _, p in got.append(p.first ?? 0) }
        try other.flush(timeoutMs: 2000)
        try other.publish(subject: "md.after", bytes: [5])
        try other.flush(timeoutMs: 2000)
        #expect(await natsEventually { got.values == [5] })
    }

    @Test("subscriptions drained while messages are flowing complete cleanly, time after time")
    func drainChurn() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }
        let publisher = try NATSClient(options: natsTestOptions(server.url))
        defer { publisher.close(drainTimeoutMs: 2000) }

        let stop = NATSTestRecorder<Bool>()
        let pump = Thread {
            var i: UInt8 = 0
            while stop.count == 0 {
                try? publisher.publish(subject: "md.churn", bytes: [i])
                i &+= 1
                if i == 0 { usleep(1000) }
            }
        }
        pump.start()
        defer { stop.append(true) }

        for _ in 0..<30 {
            let handled = NATSTestRecorder<UInt8>()
            let sub = try client.subscribe(subject: "md.churn") { _, p in handled.append(p.first ?? 0) }
            try client.flush(timeoutMs: 2000)
            #expect(await natsEventually { handled.count > 0 })
            try sub.drain(timeoutMs: 2000)
            #expect(sub.isComplete)
            let afterDrain = handled.count
            try await Task.sleep(for: .milliseconds(5))
            #expect(handled.count == afterDrain)  // no delivery after OnComplete
        }
    }

    @Test("publishes while the server is unreachable are buffered up to reconnectBufferBytes, then rejected with a typed error")
    func reconnectBufferLimit() async throws {
        let port = try NATSServerProcess.freePort()
        var options = natsTestOptions("nats://127.0.0.1:\(port)")
        options.reconnectBufferBytes = 4096
        let client = try NATSClient(options: options)
        defer { client.close(drainTimeoutMs: 1000) }
        #expect(!client.isConnected)

        try client.publish(subject: "md.buffered", bytes: [UInt8](repeating: 1, count: 1000))
        let error = #expect(throws: NATSError.self) {
            for _ in 0..<10 { try client.publish(subject: "md.buffered", bytes: [UInt8](repeating: 1, count: 1000)) }
        }
        #expect(error?.kind == .reconnectBufferFull)
        #expect(error?.subject == "md.buffered")
    }

    @Test("a queue group delivers each message to exactly one of its members")
    func queueGroup() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 2000) }

        let a = NATSTestRecorder<UInt8>()
        let b = NATSTestRecorder<UInt8>()
        _ = try client.subscribe(subject: "md.work", queueGroup: "workers") { _, p in a.append(p.first ?? 0) }
        _ = try client.subscribe(subject: "md.work", queueGroup: "workers") { _, p in b.append(p.first ?? 0) }
        try client.flush(timeoutMs: 2000)
        for i in 0..<100 { try client.publish(subject: "md.work", bytes: [UInt8(i)]) }
        try client.flush(timeoutMs: 2000)

        #expect(await natsEventually { a.count + b.count == 100 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(a.count + b.count == 100)
        #expect(Set(a.values).isDisjoint(with: Set(b.values)))
    }

    @Test("subscribing to an invalid subject throws a typed NATSError naming the operation and the subject")
    func invalidSubject() async throws {
        let server = try NATSServerProcess()
        defer { server.stop() }
        let client = try NATSClient(options: natsTestOptions(server.url))
        defer { client.close(drainTimeoutMs: 1000) }

        for bad in ["", "foo..bar", "foo bar", ".foo", "foo.", "foo.>.bar", "fo*", "tab\there"] {
            let error = #expect(throws: NATSError.self) { try client.subscribe(subject: bad) { _, _ in } }
            #expect(error?.kind == .invalidSubject)
            #expect(error?.operation == "subscribe")
            #expect(error?.subject == bad)
            #expect(error?.statusText == "Invalid Subject")
        }
        let badQueue = #expect(throws: NATSError.self) {
            try client.subscribe(subject: "md.ok", queueGroup: "bad queue") { _, _ in }
        }
        #expect(badQueue?.kind == .invalidQueueName)
        let badLimit = #expect(throws: NATSError.self) {
            try client.subscribe(subject: "md.ok", pendingMessageLimit: 0) { _, _ in }
        }
        #expect(badLimit?.kind == .invalidArgument)

        // Valid wildcard subjects are accepted.
        let wildcard = try client.subscribe(subject: "md.*.depth.>") { _, _ in }
        #expect(wildcard.isValid)
    }
}

// MARK: - Pure unit tests (no server)

@Suite("NATS wrapper configuration")
struct NATSConfigurationTests {
    @Test("reconnect backoff doubles from the base wait, is capped, and adds bounded jitter")
    func backoff() {
        let noJitter = { (attempt: Int) in
            NATSReconnectBackoff.delayMs(attempt: attempt, baseMs: 250, capMs: 2000, jitterMs: 0)
        }
        #expect([1, 2, 3, 4, 5, 64, 10_000].map(noJitter) == [250, 500, 1000, 2000, 2000, 2000, 2000])
        let withMaxJitter = NATSReconnectBackoff.delayMs(attempt: 2, baseMs: 250, capMs: 2000, jitterMs: 100,
                                                         random: { $0.upperBound })
        #expect(withMaxJitter == 600)
        for _ in 0..<100 {
            let d = NATSReconnectBackoff.delayMs(attempt: 1, baseMs: 250, capMs: 2000, jitterMs: 100)
            #expect((250...350).contains(d))
        }
    }

    @Test("invalid client options are rejected with a typed error before any connection is made")
    func invalidOptions() {
        let empty = #expect(throws: NATSError.self) { try NATSClient(options: NATSClientOptions(url: " , ")) }
        #expect(empty?.kind == .invalidArgument)
        let negative = #expect(throws: NATSError.self) {
            try NATSClient(options: NATSClientOptions(reconnectWaitMs: -1))
        }
        #expect(negative?.kind == .invalidArgument)
    }

    @Test("a comma-separated URL list is split into trimmed server URLs")
    func serverList() {
        let options = NATSClientOptions(url: "nats://a:4222, nats://b:4222 ,,nats://c:4222")
        #expect(options.serverURLs == ["nats://a:4222", "nats://b:4222", "nats://c:4222"])
    }

    @Test("libnats 3.4.x is the linked library")
    func version() {
        #expect(NATSLibrary.version.hasPrefix("3."))
    }
}
