//! Domains, email addresses and currency codes as callers send them: normalised (trimmed,
//! lower-cased) and validated, so that matching never depends on how a CRM spelled them.

/// Free-mail and ISP domains: an address there says nothing about the sender's company, so
/// these never resolve an account by domain.
const FREE_MAIL: &[&str] = &[
    "126.com",
    "163.com",
    "aol.com",
    "att.net",
    "bellsouth.net",
    "btinternet.com",
    "comcast.net",
    "cox.net",
    "fastmail.com",
    "free.fr",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "icloud.com",
    "laposte.net",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "naver.com",
    "orange.fr",
    "outlook.com",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "rediffmail.com",
    "rocketmail.com",
    "sbcglobal.net",
    "sky.com",
    "t-online.de",
    "tutanota.com",
    "verizon.net",
    "web.de",
    "yahoo.co.in",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.de",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// ISO 4217 codes in use, with their minor-unit exponents (for display only: amounts are
/// always integers of minor units).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// A domain name in canonical form (`Acme.COM.` → `acme.com`), or why it is not one.
pub fn normalize_domain(raw: &str) -> Result<String, &'static str> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() {
        return Err("must not be empty");
    }
    if d.len() > 253 {
        return Err("is longer than 253 characters");
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err("needs at least two labels, e.g. acme.com");
    }
    for label in &labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(
                "is not a domain name (letters, digits and inner hyphens per label; IDNs in punycode)",
            );
        }
    }
    if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("is an IP address, not a domain name");
    }
    Ok(d)
}

/// An email address in canonical form (lower-cased), or why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let e = raw.trim().to_ascii_lowercase();
    let Some((local, domain)) = e.rsplit_once('@') else {
        return Err("is not an email address (no @)");
    };
    if local.is_empty()
        || local.len() > 64
        || local.contains(char::is_whitespace)
        || local.contains('@')
    {
        return Err("has an invalid local part");
    }
    let domain = normalize_domain(domain).map_err(|_| "has an invalid domain")?;
    Ok(format!("{local}@{domain}"))
}

/// The domain of a normalised email address.
pub fn email_domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, d)| d)
}

/// Whether `domain` (normalised) is a free-mail or ISP domain.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.binary_search(&domain).is_ok()
}

/// The ISO 4217 code in canonical (upper-case) form, or why it is not a known one.
pub fn normalize_currency(raw: &str) -> Result<String, &'static str> {
    let c = raw.trim().to_ascii_uppercase();
    if CURRENCIES.iter().any(|(code, _)| *code == c) {
        Ok(c)
    } else {
        Err("is not a known ISO 4217 currency code (e.g. USD, EUR)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_mail_list_is_sorted_for_binary_search() {
        let mut sorted = FREE_MAIL.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, FREE_MAIL);
        assert!(
            is_free_mail("gmail.com") && is_free_mail("outlook.com") && is_free_mail("yahoo.com")
        );
        assert!(!is_free_mail("acme.com"));
    }

    #[test]
    fn domains_are_normalised_and_validated() {
        assert_eq!(normalize_domain(" Acme.COM. "), Ok("acme.com".into()));
        assert_eq!(normalize_domain("eu.acme.co.uk"), Ok("eu.acme.co.uk".into()));
        for bad in ["", "acme", "acme..com", "-acme.com", "ac me.com", "10.0.0.1", "acme.com/x"] {
            assert!(normalize_domain(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn emails_are_normalised_and_split() {
        let e = normalize_email(" Jane.Doe@Acme.com ").expect("valid");
        assert_eq!(e, "jane.doe@acme.com");
        assert_eq!(email_domain(&e), "acme.com");
        for bad in ["jane", "@acme.com", "jane@", "jane@acme", "ja ne@acme.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn currencies_are_iso_4217() {
        assert_eq!(normalize_currency("usd"), Ok("USD".into()));
        assert!(normalize_currency("XYZ").is_err());
        assert!(normalize_currency("").is_err());
    }
}
