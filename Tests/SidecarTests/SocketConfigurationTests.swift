import Foundation
import Testing
@testable import Sidecar

@Suite("Socket configuration")
struct SocketConfigurationTests {
    @Test("the socket defaults to the k8s path, mode 0660, any peer, 4 MiB frames sent, 64 KiB requests, 32 KiB output and 256 queued events per client")
    func defaults() throws {
        let configuration = try SidecarConfiguration(environment: [:])
        #expect(configuration.socketPath == "/var/run/realtime-sidecar/sidecar.sock")
        #expect(configuration.socketMode == 0o660)
        #expect(configuration.allowedUIDs.isEmpty)
        #expect(configuration.maxFrameBytes == 4 << 20)
        #expect(configuration.clientQueueEvents == 256)
        #expect(configuration.maxRequestBytes == 64 << 10)
        #expect(configuration.clientOutputBytes == 32 << 10)
        #expect(configuration.configUIDs == [getuid()])
    }

    @Test("socket variables are parsed: octal mode, UID list, sizes; an empty path disables the socket")
    func parsing() throws {
        let configuration = try SidecarConfiguration(environment: [
            "SIDECAR_SOCKET_PATH": "/run/x/s.sock", "SIDECAR_SOCKET_MODE": "600", "SIDECAR_ALLOWED_UIDS": " 1000, 65532 ,",
            "SIDECAR_MAX_FRAME_BYTES": "65536", "SIDECAR_CLIENT_QUEUE_EVENTS": "16",
            "SIDECAR_FRAME_TIMEOUT_SECONDS": "2.5", "SIDECAR_MAX_CONNECTIONS": "50",
        ])
        #expect(configuration.socketPath == "/run/x/s.sock")
        #expect(configuration.socketMode == 0o600)
        #expect(configuration.allowedUIDs == [1000, 65532])
        #expect(configuration.maxFrameBytes == 65536)
        #expect(configuration.clientQueueEvents == 16)
        #expect(configuration.frameTimeoutSeconds == 2.5)
        #expect(configuration.maxConnections == 50)
        let defaults = try SidecarConfiguration(environment: [:])
        #expect(defaults.frameTimeoutSeconds == 30 && defaults.maxConnections == 256)
        #expect(try SidecarConfiguration(environment: ["SIDECAR_SOCKET_PATH": ""]).socketPath == nil)
        let values = Dictionary(uniqueKeysWithValues: configuration.effectiveValues)
        #expect(values["SIDECAR_SOCKET_MODE"] == "0600")
    }

    @Test("invalid socket values are refused with the variable's name")
    func invalid() {
        let cases: [(String, String)] = [
            ("SIDECAR_SOCKET_PATH", "relative.sock"), ("SIDECAR_SOCKET_PATH", "/" + String(repeating: "a", count: 107)),
            ("SIDECAR_SOCKET_MODE", "0999"), ("SIDECAR_SOCKET_MODE", "1777"), ("SIDECAR_SOCKET_MODE", "rw"),
            ("SIDECAR_ALLOWED_UIDS", "1000,root"), ("SIDECAR_ALLOWED_UIDS", "-1"),
            ("SIDECAR_MAX_FRAME_BYTES", "0"), ("SIDECAR_MAX_FRAME_BYTES", "4GiB"),
            ("SIDECAR_CLIENT_QUEUE_EVENTS", "0"), ("SIDECAR_CLIENT_QUEUE_EVENTS", "-not-a-value-"),
            ("SIDECAR_FRAME_TIMEOUT_SECONDS", "-1"), ("SIDECAR_FRAME_TIMEOUT_SECONDS", "soon"),
            ("SIDECAR_MAX_CONNECTIONS", "0"), ("SIDECAR_MAX_CONNECTIONS", "many"),
        ]
        for (name, value) in cases {
            do {
                _ = try SidecarConfiguration(environment: [name: value])
                Issue.record("\(name)=\(value) was accepted")
            } catch {
                #expect(error.variable == name, "\(name)=\(value)")
            }
        }
    }
}
