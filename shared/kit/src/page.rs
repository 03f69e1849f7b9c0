//! AIP-158 pagination: page sizes, and opaque keyset page tokens.
//!
//! A token carries the sort key of the last row served and a fingerprint of the query it
//! belongs to, so that a token replayed with other filters is refused instead of silently
//! skipping or repeating rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The page size when the caller asks for none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// The largest page served; larger requests are coerced down (AIP-158).
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The number of rows to serve for a request's `page_size`.
pub fn size(page_size: i32) -> Result<i64, Error> {
    match page_size {
        n if n < 0 => Err(Error::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Token<K> {
    /// Fingerprint of the query (filters and order).
    q: u64,
    /// The last row's sort key.
    k: K,
}

/// Encodes the sort key `key` of the last row of a page of the query `query` (anything that
/// identifies the filters and order, e.g. their debug rendering).
pub fn encode<K: Serialize>(query: &str, key: &K) -> String {
    let token = Token { q: fingerprint(query), k: key };
    // Serializing plain keys (strings, numbers, options) cannot fail.
    let json = serde_json::to_vec(&token).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The sort key in `page_token` (`None` for the first page), checked against `query`.
pub fn decode<K: DeserializeOwned>(query: &str, page_token: &str) -> Result<Option<K>, Error> {
    if page_token.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| Error::invalid("page_token", why);
    let json = URL_SAFE_NO_PAD
        .decode(page_token)
        .map_err(|_| bad("not a page token returned by this method"))?;
    let token: Token<K> = serde_json::from_slice(&json)
        .map_err(|_| bad("not a page token returned by this method"))?;
    if token.q != fingerprint(query) {
        return Err(bad("was issued for other filters or order: keep them between pages"));
    }
    Ok(Some(token.k))
}

/// Splits one extra row off a page fetched with `limit + 1` rows: the rows to serve, and the
/// next page token (empty on the last page).
pub fn finish<R, K: Serialize>(
    mut rows: Vec<R>,
    limit: i64,
    query: &str,
    key: impl Fn(&R) -> K,
) -> (Vec<R>, String) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit);
    let token = rows.last().map(|last| encode(query, &key(last))).unwrap_or_default();
    (rows, token)
}

/// FNV-1a: stable across processes and releases (unlike `DefaultHasher`), which tokens need
/// since any replica may receive the next page's call.
fn fingerprint(query: &str) -> u64 {
    query
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_coerce() {
        assert_eq!(size(0).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(size(7).ok(), Some(7));
        assert_eq!(size(5000).ok(), Some(MAX_PAGE_SIZE));
        assert!(size(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_for_the_same_query_only() {
        let token = encode("segment=SMB", &("Acme".to_owned(), "a1".to_owned()));
        let key: Option<(String, String)> = decode("segment=SMB", &token).ok().flatten();
        assert_eq!(key, Some(("Acme".to_owned(), "a1".to_owned())));
        assert!(decode::<(String, String)>("segment=ENTERPRISE", &token).is_err());
        assert!(decode::<(String, String)>("segment=SMB", "garbage!").is_err());
    }

    #[test]
    fn finish_emits_a_token_only_when_rows_remain() {
        let (rows, token) = finish(vec![1, 2, 3], 3, "q", |r| *r);
        assert_eq!((rows.len(), token.as_str()), (3, ""));
        let (rows, token) = finish(vec![1, 2, 3, 4], 3, "q", |r| *r);
        assert_eq!(rows, [1, 2, 3]);
        assert_eq!(decode::<i32>("q", &token).ok().flatten(), Some(3));
    }
}
