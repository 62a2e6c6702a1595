//! RFC 3339 timestamps, for policy sources and human output, by the `time` crate. No clock is
//! read here.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) into Unix seconds;
/// a fraction of a second is cut off. The date and time are separated by `T`, `t` or a space
/// (which RFC 3339 allows); the `time` crate would take any character there.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (the plain number where the instant has no
/// four-digit year).
pub fn format_rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-12-31T00:00:00Z"), Some(1_798_675_200));
        assert_eq!(parse_rfc3339("2026-12-31t00:00:00z"), Some(1_798_675_200));
        assert_eq!(
            parse_rfc3339("2026-12-31T02:00:00+02:00"),
            Some(1_798_675_200)
        );
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5Z"), Some(1_709_208_000));
        assert_eq!(parse_rfc3339("2023-02-29T12:00:00Z"), None);
        // RFC 3339 lets a space stand for the `T`.
        assert_eq!(parse_rfc3339("2026-12-31 00:00:00Z"), Some(1_798_675_200));
        assert_eq!(parse_rfc3339("2026-12-31_00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-31T00:00:00"), None);
        assert_eq!(parse_rfc3339("2026-12-31T24:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-31T00:00:00+24:00"), None);
        for t in [0, 1_798_675_200, -86_400, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        assert_eq!(format_rfc3339(1_798_675_200), "2026-12-31T00:00:00Z");
    }
}
