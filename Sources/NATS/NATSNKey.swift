import Crypto
import Foundation

/// NATS NKey text encoding (nats-io/nkeys): base32 (RFC 4648, no padding) of prefix byte(s) +
/// 32-byte Ed25519 key + CRC16-XMODEM little-endian. Only user keys are handled here: the
/// sidecar authenticates as a user.
public enum NATSNKey {
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let seedPrefix: UInt8 = 18 << 3  // 'S'
    static let userPrefix: UInt8 = 20 << 3  // 'U'

    /// `S` + `U` seed text of a raw 32-byte Ed25519 seed.
    public static func encodeUserSeed(_ seed: [UInt8]) -> String {
        let b0 = seedPrefix | (userPrefix >> 5)
        let b1 = (userPrefix & 31) << 3
        return encode([b0, b1] + seed)
    }

    /// `U` public key text of a raw 32-byte Ed25519 public key.
    public static func encodeUserPublicKey(_ key: [UInt8]) -> String {
        encode([userPrefix] + key)
    }

    /// The user public key of a user seed (what the server's `nkey` authorization names).
    /// The error never contains the seed.
    public static func userPublicKey(fromSeed text: String) throws(Failure) -> String {
        let raw = try decodeUserSeed(text)
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            return encodeUserPublicKey(Array(key.publicKey.rawRepresentation))
        } catch {
            throw Failure(description: "the seed is not a valid Ed25519 key")
        }
    }

    static func decodeUserSeed(_ text: String) throws(Failure) -> [UInt8] {
        guard let bytes = base32Decode(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 36 else {
            throw Failure(description: "not an NKey seed (base32 of 36 bytes expected)")
        }
        let body = Array(bytes[0..<34])
        let crc = UInt16(bytes[34]) | UInt16(bytes[35]) << 8
        guard crc16(body) == crc else { throw Failure(description: "NKey seed checksum mismatch") }
        guard body[0] & 0xF8 == seedPrefix else { throw Failure(description: "not an NKey seed (prefix is not 'S')") }
        let kind = (body[0] & 7) << 5 | (body[1] & 0xF8) >> 3
        guard kind == userPrefix else { throw Failure(description: "not a user NKey seed (expected 'SU...')") }
        return Array(body[2...])
    }

    private static func encode(_ body: [UInt8]) -> String {
        let crc = crc16(body)
        return base32Encode(body + [UInt8(crc & 0xFF), UInt8(crc >> 8)])
    }

    /// CRC-16/XMODEM (poly 0x1021, init 0), as nkeys' crc16.go.
    static func crc16(_ data: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in data {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func base32Encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for byte in data {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func base32Decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for char in text.utf8 {
            guard let value = alphabet.firstIndex(of: char) else { return nil }
            buffer = (buffer << 5 | value) & 0xFFFF
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
                bits -= 8
            }
        }
        return out
    }
}
