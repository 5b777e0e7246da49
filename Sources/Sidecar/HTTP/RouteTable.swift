import Hummingbird

/// Registers HTTP routes and remembers them, so `/` and the OpenAPI test can list exactly what
/// is served.
final class RouteTable: @unchecked Sendable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router = Router()
    private(set) var routes: [(method: String, path: String)] = []

    func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }
    func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, handler) }
    func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, handler) }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        routes.append((method.rawValue, path))
    }
}
