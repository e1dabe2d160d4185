/// A UTC calendar time from Unix seconds, by the civil-from-days arithmetic (no calendar object or time
/// zone database per call: request signing and request-log rows both need it per request).
public struct UTCTime: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(unixSeconds: Double) {
        let total = Int(unixSeconds.rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        hour = secondOfDay / 3600
        minute = secondOfDay % 3600 / 60
        second = secondOfDay % 60
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// `YYYY-MM-DD`.
    public var isoDay: String { Self.padded(year, 4) + "-" + Self.padded(month, 2) + "-" + Self.padded(day, 2) }

    /// `YYYYMMDD'T'HHMMSS'Z'`, as AWS signs it.
    public var compactTimestamp: String {
        Self.padded(year, 4) + Self.padded(month, 2) + Self.padded(day, 2) + "T" + Self.padded(hour, 2) + Self.padded(minute, 2) + Self.padded(second, 2) + "Z"
    }

    /// The IMF-fixdate of HTTP's `Date` header: `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func httpDate(unixSeconds: Int) -> String {
        let time = UTCTime(unixSeconds: Double(unixSeconds))
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        // 1970-01-01 was a Thursday.
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][time.month - 1]
        return weekday + ", " + padded(time.day, 2) + " " + month + " " + padded(time.year, 4) + " " + padded(time.hour, 2) + ":"
            + padded(time.minute, 2) + ":" + padded(time.second, 2) + " GMT"
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.utf8.count >= width ? text : String(repeating: "0", count: width - text.utf8.count) + text
    }
}
