/// Credentials out of NATS server URLs before they reach a log, an error or an answer.
public enum NATSURLRedaction {
    /// Every URL of a comma-separated list: `nats://user:secret@host` → `nats://user:***@host`,
    /// `nats://token@host` → `nats://***@host`; URLs without credentials are unchanged.
    public static func redacted(_ urls: String) -> String {
        urls.split(separator: ",", omittingEmptySubsequences: false).map { redactedOne(String($0)) }
            .joined(separator: ",")
    }

    private static func redactedOne(_ url: String) -> String {
        // The last `@` ends the user info (a password may itself contain `@`).
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url.replacingCharacters(in: scheme.upperBound..<at, with: "***") }
        return url.replacingCharacters(in: url.index(after: colon)..<at, with: "***")
    }
}
