import Hummingbird

/// Registers HTTP routes and remembers them, so `/` and the OpenAPI test can list exactly what
/// is served. With a `writeGuard` (the public listener), every POST and DELETE asks it first.
final class RouteTable: @unchecked Sendable {
    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    let router = Router()
    let writeGuard: WriteAuthorization?
    private(set) var routes: [(method: String, path: String)] = []

    init(writeGuard: WriteAuthorization? = nil) { self.writeGuard = writeGuard }

    func get(_ path: String, _ handler: @escaping Handler) { add(.get, path, handler) }
    func post(_ path: String, _ handler: @escaping Handler) { add(.post, path, guarded(handler)) }
    func delete(_ path: String, _ handler: @escaping Handler) { add(.delete, path, guarded(handler)) }

    /// Refused before the handler runs, so a refused write reads no body and changes nothing.
    private func guarded(_ handler: @escaping Handler) -> Handler {
        guard let writeGuard else { return handler }
        return { request, context in
            if let refusal = writeGuard.refusal(request) { return refusal }
            return try await handler(request, context)
        }
    }

    private func add(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: handler)
        routes.append((method.rawValue, path))
    }
}

/// 405 Method Not Allowed, with an `Allow` header, for a path that is served but not with the
/// request's method (Hummingbird answers 404 to both). Added after the routes, so it wraps only
/// the router's not-found responder. Found by schemathesis (docs/RELIABILITY.md).
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let routes: [(method: String, path: String)]

    /// The methods served on `path` (route patterns' `{name}` segments match any one segment).
    func allowedMethods(_ path: String) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var methods: [String] = []
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard pattern.count == parts.count else { continue }
            let matches = zip(pattern, parts).allSatisfy { p, s in (p.hasPrefix("{") && p.hasSuffix("}") && !s.isEmpty) || p == s }
            if matches, !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            return response.status == .notFound ? notAllowed(request) ?? response : response
        } catch let error as HTTPError where error.status == .notFound {
            if let response = notAllowed(request) { return response }
            throw error
        }
    }

    private func notAllowed(_ request: Request) -> Response? {
        let allowed = allowedMethods(request.uri.path)
        guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { return nil }
        let list = allowed.joined(separator: ", ")
        var headers = HTTPFields()
        headers[.allow] = list
        headers[.contentType] = "application/json"
        let body = #"{"error":"method \#(request.method.rawValue) not allowed; allowed: \#(list)"}"#
        return Response(status: .methodNotAllowed, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
