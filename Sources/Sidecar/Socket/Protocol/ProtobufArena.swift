import CProtobufC
import CSidecarProto

/// Owns every C allocation made while building one outgoing message: the structs, strings
/// and arrays protobuf-c packs from. `SocketCodec.withArena` frees it all in one place after
/// packing, so no C memory outlives the call and none is freed twice.
final class ProtobufArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    init() {
        blocks.reserveCapacity(16)
    }

    /// Frees everything allocated so far. Called once, by `SocketCodec.withArena`.
    func releaseAll() {
        for block in blocks { block.deallocate() }
        blocks.removeAll()
    }

    private func raw(_ bytes: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let block = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: alignment)
        blocks.append(block)
        return block
    }

    /// A message struct, set to its defaults by the generated `…__init`.
    func message<T>(_ initialize: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        let pointer = raw(MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: 1)
        initialize(pointer)
        return pointer
    }

    /// A NUL-terminated copy. An embedded NUL ends the string on the wire (C strings).
    func string(_ text: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = text.utf8
        let pointer = raw(utf8.count + 1, alignment: 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
        var i = 0
        for byte in utf8 {
            pointer[i] = CChar(bitPattern: byte)
            i += 1
        }
        pointer[i] = 0
        return pointer
    }

    func strings(_ texts: [String]) -> (count: Int, pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) {
        guard !texts.isEmpty else { return (0, nil) }
        let array = raw(MemoryLayout<UnsafeMutablePointer<CChar>?>.stride * texts.count,
                        alignment: MemoryLayout<UnsafeMutablePointer<CChar>?>.alignment)
            .bindMemory(to: UnsafeMutablePointer<CChar>?.self, capacity: texts.count)
        for (i, text) in texts.enumerated() { array[i] = string(text) }
        return (texts.count, array)
    }

    func array<T>(_ values: [T]) -> (count: Int, pointer: UnsafeMutablePointer<T>?) {
        guard !values.isEmpty else { return (0, nil) }
        let pointer = raw(MemoryLayout<T>.stride * values.count, alignment: MemoryLayout<T>.alignment)
            .bindMemory(to: T.self, capacity: values.count)
        pointer.initialize(from: values, count: values.count)
        return (values.count, pointer)
    }

    /// An array of message pointers built by `make`.
    func messages<V, T>(_ values: [V], _ make: (V) -> UnsafeMutablePointer<T>)
        -> (count: Int, pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) {
        guard !values.isEmpty else { return (0, nil) }
        let array = raw(MemoryLayout<UnsafeMutablePointer<T>?>.stride * values.count,
                        alignment: MemoryLayout<UnsafeMutablePointer<T>?>.alignment)
            .bindMemory(to: UnsafeMutablePointer<T>?.self, capacity: values.count)
        for (i, value) in values.enumerated() { array[i] = make(value) }
        return (values.count, array)
    }
}

// MARK: - Reading unpacked C values (valid only until `…__free_unpacked`)

enum CRead {
    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    static func strings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard let pointer, count > 0 else { return [] }
        return (0..<count).map { string(pointer[$0]) }
    }

    static func array<T>(_ count: Int, _ pointer: UnsafeMutablePointer<T>?) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    static func messages<T, V>(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?,
                               _ read: (UnsafeMutablePointer<T>) -> V) -> [V] {
        guard let pointer, count > 0 else { return [] }
        return (0..<count).compactMap { pointer[$0].map(read) }
    }

    static func bool(_ value: protobuf_c_boolean) -> Bool { value != 0 }
}

extension Bool {
    var protobufC: protobuf_c_boolean { self ? 1 : 0 }
}
