//! Resource names and ids (AIP-122): `accounts/{account}`, `accounts/{a}/contacts/{c}`, ...

use crate::Error;

/// Checks a caller-chosen resource id (AIP-133): lowercase letters, digits and hyphens,
/// 1–63 characters, starting with a letter and not ending with a hyphen. Server-assigned
/// ids (UUIDs) pass too.
pub fn check_id(id: &str, field: &str) -> Result<(), Error> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be 1-63 lowercase letters, digits or hyphens, starting with a letter and not \
             ending with a hyphen",
        ))
    }
}

fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-';
    (1..=63).contains(&bytes.len())
        && bytes.iter().all(allowed)
        && !id.ends_with('-')
        && (bytes[0].is_ascii_lowercase() || uuid::Uuid::try_parse(id).is_ok())
}

/// A new server-assigned id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The caller's id for a create (AIP-133), checked, or a new one when it is empty.
pub fn new_or_given(id: &str, field: &str) -> Result<String, Error> {
    if id.is_empty() {
        Ok(new_id())
    } else {
        check_id(id, field)?;
        Ok(id.to_owned())
    }
}

/// Parses `name` against `pattern` (e.g. `accounts/{}/contacts/{}`), returning the ids in
/// order. `field` names the request field in the error.
pub fn parse<'a, const N: usize>(
    name: &'a str,
    pattern: &str,
    field: &str,
) -> Result<[&'a str; N], Error> {
    let bad = || Error::invalid(field, format!("must be a resource name like `{pattern}`"));
    let mut ids = [""; N];
    let mut parts = name.split('/');
    let mut n = 0;
    for expected in pattern.split('/') {
        let part = parts.next().ok_or_else(bad)?;
        if expected == "{}" {
            if n == N || !is_valid_id(part) {
                return Err(bad());
            }
            ids[n] = part;
            n += 1;
        } else if part != expected {
            return Err(bad());
        }
    }
    if parts.next().is_some() || n != N {
        return Err(bad());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_aip_122() {
        assert!(is_valid_id("acme"));
        assert!(is_valid_id("acme-2"));
        assert!(is_valid_id(&new_id()));
        for bad in ["", "Acme", "2acme", "acme-", "ac_me", &"a".repeat(64)] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_parse_into_their_ids() {
        let [a, c] = parse::<2>("accounts/acme/contacts/bob", "accounts/{}/contacts/{}", "name")
            .expect("valid");
        assert_eq!((a, c), ("acme", "bob"));
        assert!(parse::<1>("accounts/acme/contacts/bob", "accounts/{}", "name").is_err());
        assert!(parse::<1>("account/acme", "accounts/{}", "name").is_err());
        assert!(parse::<1>("accounts/", "accounts/{}", "name").is_err());
    }
}
