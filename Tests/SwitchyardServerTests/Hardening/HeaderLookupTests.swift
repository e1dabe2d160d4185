import HTTPTypes
@testable import SwitchyardServer
import Testing

/// The handlers' header reads must see what HTTPTypes' subscript sees, repeated fields included (two
/// `Authorization` headers must not authenticate with the first).
@Suite struct HeaderLookupTests {
    @Test func aLookupSeesWhatTheSubscriptSees() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: "Bearer sk-first"))
        fields.append(HTTPField(name: .contentType, value: "application/json"))
        fields.append(HTTPField(name: .authorization, value: "Bearer sk-second"))
        fields.append(HTTPField(name: .cookie, value: "a=1"))
        fields.append(HTTPField(name: .cookie, value: "b=2"))
        for name: HTTPField.Name in [.authorization, .contentType, .cookie, .contentLength, HTTPField.Name("X-Request-ID")!] {
            #expect(fields.value(of: name) == fields[name], "\(name)")
        }
        #expect(fields.value(of: .authorization) == "Bearer sk-first, Bearer sk-second")
        #expect(fields.value(of: HTTPField.Name("CONTENT-TYPE")!) == "application/json")
        #expect(fields.value(of: .contentLength) == nil)
    }

    /// `Connection` is a token list: `close` counts in any case and position, a longer token holding it does not.
    @Test func theCloseTokenIsFoundAsAToken() {
        for value in ["close", "Close", "keep-alive, CLOSE", " close ,upgrade", "\tclose"] {
            #expect(HTTPFields.listsCloseToken(value), "\(value)")
        }
        for value in ["", "keep-alive", "closed", "unclose", "clo se", ",,", "keep-alive, closer"] {
            #expect(!HTTPFields.listsCloseToken(value), "\(value)")
        }
    }
}
