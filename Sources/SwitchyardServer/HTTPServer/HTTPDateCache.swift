import SwitchyardCore

/// The `Date` header's value, formatted once per second per connection (responses need it, and a
/// per-connection cache needs no lock).
struct HTTPDateCache {
    private var second = -1
    private var text = ""

    mutating func current() -> String {
        let now = currentUnixTime()
        if now != second {
            second = now
            text = UTCTime.httpDate(unixSeconds: now)
        }
        return text
    }
}
