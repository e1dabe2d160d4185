import Synchronization

/// Logged-in dashboard sessions, in memory (a restart logs everyone out): random ids in an HttpOnly cookie,
/// each with its own CSRF token, ending at logout or after the configured lifetime.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        let id: String
        let csrfToken: String
        let expires: ContinuousClock.Instant
    }

    static let cookieName = "switchyard_session"
    /// Sessions kept at most; logging in beyond it ends the oldest (a person needs a handful, a script
    /// hammering the login form must not grow memory).
    static let maximum = 256

    private let sessions = Mutex<[String: Session]>([:])

    /// Starts a session lasting `lifetime`.
    func start(lifetime: Duration, now: ContinuousClock.Instant = .now) -> Session {
        let session = Session(id: Self.randomToken(), csrfToken: Self.randomToken(), expires: now + lifetime)
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            while sessions.count >= Self.maximum, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
                sessions[oldest.key] = nil
            }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session the request's `Cookie` header names, if any.
    func session(cookieHeader: String?, now: ContinuousClock.Instant = .now) -> Session? {
        guard let id = Self.cookieValue(cookieHeader, named: Self.cookieName), id.utf8.count == 64 else { return nil }
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            if session.expires <= now {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    func end(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// 256 random bits in hex.
    static func randomToken() -> String {
        randomHex(words: 4)
    }

    static func cookieValue(_ header: String?, named name: String) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let trimmed = pair.drop { $0 == " " }
            guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
            return String(trimmed[trimmed.index(after: equals)...])
        }
        return nil
    }

    /// Compares without stopping at the first difference, so timing says nothing about a token.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
