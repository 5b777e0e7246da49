import Foundation
@testable import NATS
import Testing
@testable import Sidecar
import Strategies

/// The sidecar against real nats-servers that require TLS, mutual TLS, a token, a user and
/// password, or an NKey: it consumes market data and publishes a signal through each; a wrong
/// credential or certificate leaves it running, not ready, with the reason in /ready.
@Suite("NATS TLS and credentials on real nats-servers", .serialized)
struct NATSSecurityTests {
    static let t0: Int64 = 1_767_225_600_000

    /// nil when openssl and nats-server are present; else the reason, printed once per test.
    static func skipReason() -> String? {
        guard let missing = NATSSecurityFixtures.missingTool else { return nil }
        print("NATSSecurityTests skipped: \(missing)")
        return missing
    }

    static func security(_ body: (inout NATSSecurity) -> Void) -> NATSSecurity {
        var s = NATSSecurity()
        body(&s)
        return s
    }

    /// Starts the sidecar with `security`, publishes a Binance trade and a richer Coinbase
    /// reference price with a second client, and expects the cross-exchange signal back.
    static func consumeAndPublish(url: String, security: NATSSecurity,
                                  configure: (inout SidecarConfiguration) -> Void = { _ in }) async throws -> RunningSidecar {
        let sidecar = try await RunningSidecar.start(natsURL: url) {
            $0.natsSecurity = security
            $0.publisherTopic = "signals.trading.{strategy_id}"
            $0.engine.strategies.enabled = [CrossExchangeSpread.id]
            configure(&$0)
        }
        try await waitUntil("sidecar ready on \(url)", timeout: 15) { sidecar.runtime.ingest.isReady }
        #expect(try await sidecar.get("/ready").status == 200)

        var clientOptions = NATSClientOptions(url: url, name: "test-peer")
        clientOptions.security = security
        let peer = try NATSClient(options: clientOptions)
        try await waitUntil("test client connected", timeout: 10) { peer.isConnected }
        let capture = SignalCapture()
        _ = try peer.subscribe(subject: "signals.trading.>") { capture.record($0) }
        try peer.flush(timeoutMs: 5000)
        let at = Self.t0
        try peer.publish(subject: "binance.websocket.data", bytes: FeedIntegrationTests.trade("BTCUSDT", price: 50_000, at: at))
        try peer.publish(subject: "reference.prices",
                         bytes: Array(#"{"venue":"coinbase","symbol":"BTC-USD","price":50800,"ts":\#(at + 100)}"#.utf8))
        try peer.flush(timeoutMs: 5000)

        try await waitUntil("market data consumed", timeout: 10) { sidecar.runtime.stats.received.value >= 1 }
        try await waitUntil("signal received by the peer", timeout: 10) { capture.all.count >= 1 }
        let signal = try #require(capture.all.first)
        #expect(signal.subject == "signals.trading.cross_exchange_spread")
        try checkTradeEngineContract(signal)
        #expect(sidecar.runtime.stats.processed.value >= 1)
        peer.close(drainTimeoutMs: 1000)
        return sidecar
    }

    /// Starts the sidecar against a server that must refuse it, and returns the /ready detail
    /// of `nats_connected` once it names the failure. The process keeps serving HTTP.
    static func expectRefused(url: String, security: NATSSecurity, reasonContains needles: [String],
                              secrets: [String] = []) async throws {
        let sidecar = try await RunningSidecar.start(natsURL: url) { $0.natsSecurity = security }
        var detail = ""
        try await waitUntil("refusal reason in /ready", timeout: 15) {
            let (status, body) = try await sidecar.getJSON("/ready")
            let checks = body["checks"] as? [String: Any]
            detail = ((checks?["nats_connected"] as? [String: Any])?["detail"] as? String) ?? ""
            return status == 503 && detail.contains("not connected to NATS: ")
        }
        let lowered = detail.lowercased()
        #expect(needles.contains { lowered.contains($0.lowercased()) }, "reason: \(detail)")
        #expect(!sidecar.runtime.client.isConnected)
        // Still up, still retrying, still refused; never a crash.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await sidecar.get("/healthz").status == 200)
        let ready = try await sidecar.get("/ready")
        #expect(ready.status == 503)
        for secret in secrets {
            #expect(!ready.text.contains(secret), "a secret leaked into /ready")
            #expect(!detail.contains(secret))
        }
        try await sidecar.stop()
    }

    @Test("TLS: server certificate verified against NATS_TLS_CA_FILE and the host name; consume and publish")
    func tls() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        try fx.makeTLSMaterial()
        let server = try NATSServerProcess(configFile: try fx.serverConfig("tls", fx.tlsBlock()))
        let url = "tls://localhost:\(server.port)"
        let sidecar = try await Self.consumeAndPublish(url: url, security: Self.security { $0.tlsCAFile = fx.path("ca.pem") })
        try await sidecar.stop()

        var byIP = NATSClientOptions(url: "tls://127.0.0.1:\(server.port)", name: "by-ip")
        byIP.security.tlsCAFile = fx.path("ca.pem")
        // An IP-literal URL is checked against the certificate's IP SAN (see hostnameMismatch).
        let ipClient = try NATSClient(options: byIP)
        try await waitUntil("client by IP connected", timeout: 10) { ipClient.isConnected }
        ipClient.close(drainTimeoutMs: 0)

        // A plain client is refused by the TLS-only server: the test server really requires TLS.
        let plain = try NATSClient(options: NATSClientOptions(url: "nats://localhost:\(server.port)", name: "plain"))
        try await Task.sleep(for: .milliseconds(500))
        #expect(!plain.isConnected)
        plain.close(drainTimeoutMs: 0)
    }

    @Test("TLS: a server certificate from an untrusted CA is refused, /ready 503 with the reason")
    func untrustedCA() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        try fx.makeTLSMaterial()
        let server = try NATSServerProcess(configFile: try fx.serverConfig("tls", fx.tlsBlock()))
        try await Self.expectRefused(url: "tls://localhost:\(server.port)",
                                     security: Self.security { $0.tlsCAFile = fx.path("otherca.pem") },
                                     reasonContains: ["certificate verify failed", "unable to get local issuer"])
    }

    @Test("TLS: a certificate for another host name is refused (host name verification on)")
    func hostnameMismatch() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        try fx.makeTLSMaterial()
        let server = try NATSServerProcess(configFile: try fx.serverConfig("tls", fx.tlsBlock(cert: "wrongname")))
        try await Self.expectRefused(url: "tls://localhost:\(server.port)",
                                     security: Self.security { $0.tlsCAFile = fx.path("ca.pem") },
                                     reasonContains: ["hostname mismatch"])
        // An IP-literal URL is checked against the certificate's IP addresses.
        try await Self.expectRefused(url: "tls://127.0.0.1:\(server.port)",
                                     security: Self.security { $0.tlsCAFile = fx.path("ca.pem") },
                                     reasonContains: ["IP address mismatch"])
    }

    @Test("mutual TLS: the client certificate is required and accepted; without it the server refuses")
    func mutualTLS() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        try fx.makeTLSMaterial()
        let server = try NATSServerProcess(configFile: try fx.serverConfig("mtls", fx.tlsBlock(verifyClients: true)))
        let url = "tls://localhost:\(server.port)"
        let sidecar = try await Self.consumeAndPublish(url: url, security: Self.security {
            $0.tlsCAFile = fx.path("ca.pem")
            $0.tlsCertFile = fx.path("client.pem")
            $0.tlsKeyFile = fx.path("client.key")
        })
        try await sidecar.stop()
        try await Self.expectRefused(url: url, security: Self.security { $0.tlsCAFile = fx.path("ca.pem") },
                                     reasonContains: ["does it require a client certificate"])
    }

    @Test("token: accepted, the nats-kv config store works over the same connection; a wrong token is refused and never shown")
    func token() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let token = "tok-\(UUID().uuidString)"
        let server = try NATSServerProcess(configFile: try fx.serverConfig("token", "authorization { token: \"\(token)\" }\n"))
        let sidecar = try await Self.consumeAndPublish(url: server.url, security: Self.security { $0.token = SecretString(token) }) {
            $0.configStore = .natsKV("sec-config")
        }
        try await waitUntil("nats-kv config store loaded", timeout: 15) {
            let checks = try await sidecar.getJSON("/ready").object["checks"] as? [String: Any]
            return (checks?["config"] as? [String: Any])?["ok"] as? Bool == true
        }
        try await sidecar.stop()
        let wrong = "wrong-\(UUID().uuidString)"
        try await Self.expectRefused(url: server.url, security: Self.security { $0.token = SecretString(wrong) },
                                     reasonContains: ["authorization violation"], secrets: [wrong, token])
    }

    @Test("credentials revoked while connected: the reconnect is refused, /ready 503 with the reason, no crash; restored: ready again")
    func revokedWhileConnected() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let token = "tok-\(UUID().uuidString)"
        let config = try fx.serverConfig("token", "authorization { token: \"\(token)\" }\n")
        let server = try NATSServerProcess(configFile: config)
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.natsSecurity.token = SecretString(token) }
        try await waitUntil("ready", timeout: 15) { try await sidecar.get("/ready").status == 200 }

        server.stop()
        _ = try fx.serverConfig("token", "authorization { token: \"rotated-\(UUID().uuidString)\" }\n")
        try server.start()
        var detail = ""
        try await waitUntil("reconnect refused, reason in /ready", timeout: 15) {
            let (status, body) = try await sidecar.getJSON("/ready")
            detail = (((body["checks"] as? [String: Any])?["nats_connected"] as? [String: Any])?["detail"] as? String) ?? ""
            return status == 503 && detail.lowercased().contains("authorization violation")
        }
        #expect(!detail.contains(token))
        #expect(try await sidecar.get("/healthz").status == 200)

        server.stop()
        _ = try fx.serverConfig("token", "authorization { token: \"\(token)\" }\n")
        try server.start()
        try await waitUntil("ready again with the restored token", timeout: 20) { try await sidecar.get("/ready").status == 200 }
        try await sidecar.stop()
    }

    @Test("user/password: accepted; a wrong password is refused and never shown")
    func userPassword() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let password = "pw-\(UUID().uuidString)"
        let server = try NATSServerProcess(configFile: try fx.serverConfig("users",
            "authorization { users = [ { user: \"sidecar\", password: \"\(password)\" } ] }\n"))
        let sidecar = try await Self.consumeAndPublish(url: server.url, security: Self.security {
            $0.user = "sidecar"
            $0.password = SecretString(password)
        })
        try await sidecar.stop()
        let wrong = "wrong-\(UUID().uuidString)"
        try await Self.expectRefused(url: server.url, security: Self.security {
            $0.user = "sidecar"
            $0.password = SecretString(wrong)
        }, reasonContains: ["authorization violation"], secrets: [wrong, password])
    }

    @Test("NKey: a seed from openssl genpkey ed25519 signs the server nonce; another key is refused")
    func nkey() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let user = try fx.makeUserNKey("user")
        let other = try fx.makeUserNKey("other")
        // The sidecar derives the public key from the seed; openssl derived it independently.
        #expect(try NATSNKey.userPublicKey(fromSeed: user.seed) == user.publicKey)
        #expect(user.seed.hasPrefix("SU") && user.publicKey.hasPrefix("U") && user.publicKey.count == 56)
        let server = try NATSServerProcess(configFile: try fx.serverConfig("nkey",
            "authorization { users = [ { nkey: \"\(user.publicKey)\" } ] }\n"))
        let seedFile = try fx.write("user.nk", user.seed + "\n")
        let sidecar = try await Self.consumeAndPublish(url: server.url, security: Self.security { $0.nkeySeedFile = seedFile })
        try await sidecar.stop()
        let otherFile = try fx.write("other.nk", other.seed + "\n")
        try await Self.expectRefused(url: server.url, security: Self.security { $0.nkeySeedFile = otherFile },
                                     reasonContains: ["authorization violation"], secrets: [user.seed, other.seed])
    }

    @Test("JWT creds file (operator mode, user JWT + seed): accepted; consume and publish")
    func credsFile() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let setUp = try fx.makeOperatorMode()
        let server = try NATSServerProcess(jetStream: false, configFile: try fx.serverConfig("operator", setUp.serverConfig))
        let sidecar = try await Self.consumeAndPublish(url: server.url, security: Self.security { $0.credsFile = setUp.credsFile })
        try await sidecar.stop()
        // Without credentials the operator-mode server refuses.
        try await Self.expectRefused(url: server.url, security: NATSSecurity(), reasonContains: ["authorization violation"])
    }

    @Test("a malformed NKey seed or creds file is a clear error naming the file, not its content")
    func malformedCredentialFiles() async throws {
        guard Self.skipReason() == nil else { return }
        let fx = try NATSSecurityFixtures()
        let server = try NATSServerProcess(configFile: try fx.serverConfig("token", "authorization { token: \"t\" }\n"))
        let garbage = "not-a-credential-\(UUID().uuidString)"
        let seedFile = try fx.write("bad.nk", garbage)
        var options = NATSClientOptions(url: server.url, name: "bad-seed")
        options.security.nkeySeedFile = seedFile
        do {
            let client = try NATSClient(options: options)
            client.close(drainTimeoutMs: 0)
            Issue.record("a malformed seed file was accepted")
        } catch let error as NATSError {
            #expect(error.description.contains(seedFile))
            #expect(error.description.contains("not an NKey seed"))
            #expect(!error.description.contains(garbage))
        }

        // A CA file that is not PEM stops the client at creation, naming the variable and the file.
        let badCA = try fx.write("bad-ca.pem", garbage)
        var tlsOptions = NATSClientOptions(url: "tls://localhost:\(server.port)", name: "bad-ca")
        tlsOptions.security.tlsCAFile = badCA
        do {
            let client = try NATSClient(options: tlsOptions)
            client.close(drainTimeoutMs: 0)
            Issue.record("a malformed CA file was accepted")
        } catch let error as NATSError {
            #expect(error.description.contains("NATS_TLS_CA_FILE \(badCA)"), "\(error)")
        }

        // A creds file is read at connect: the sidecar stays up, not ready, with the reason.
        let credsFile = try fx.write("bad.creds", garbage)
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.natsSecurity.credsFile = credsFile }
        var detail = ""
        try await waitUntil("creds failure in /ready", timeout: 15) {
            let (status, body) = try await sidecar.getJSON("/ready")
            detail = (((body["checks"] as? [String: Any])?["nats_connected"] as? [String: Any])?["detail"] as? String) ?? ""
            return status == 503 && detail.contains("not connected to NATS: ")
        }
        #expect(!detail.contains(garbage))
        #expect(try await sidecar.get("/healthz").status == 200)
        try await sidecar.stop()
    }

    @Test("TLS needs one host name in NATS_URL; the URL host parser handles user info, ports and IPv6")
    func tlsHostNames() throws {
        #expect(NATSClient.host(of: "tls://user:pw@nats.example:4222") == "nats.example")
        #expect(NATSClient.host(of: "nats://[::1]:4222") == "::1")
        #expect(NATSClient.host(of: "localhost:4222") == "localhost")
        var options = NATSClientOptions(url: "tls://a.example:4222,tls://b.example:4222", name: "two-hosts")
        options.security.tlsCAFile = "/nonexistent"
        #expect(NATSClient.wantsTLS(options))
        #expect(!NATSClient.wantsTLS(NATSClientOptions(url: "nats://a:4222")))
        #expect(throws: NATSError.self) { _ = try NATSClient(options: NATSClientOptions(url: "tls://a.example:1,tls://b.example:2")) }
    }
}
