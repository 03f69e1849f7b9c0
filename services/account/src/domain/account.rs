//! An account's own fields: validation of what callers send, field-mask application, and the
//! diff that the change feed reports.

use std::collections::BTreeMap;

use steward_kit::Violations;
use steward_proto::account::v1 as pb;

use super::names::normalize_domain;

/// The fields an update may replace, in `update_mask` spelling.
pub const UPDATABLE: &[&str] = &[
    "display_name",
    "primary_domain",
    "domains",
    "external_refs",
    "segment",
    "lifecycle_stage",
    "owner",
    "labels",
];

const MAX_DOMAINS: usize = 50;
const MAX_LABELS: usize = 64;

/// An account's own fields, validated and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFields {
    pub display_name: String,
    pub primary_domain: Option<String>,
    /// Extra domains: sorted, unique, never the primary domain.
    pub domains: Vec<String>,
    /// `(system, id)`, sorted by system, one per system.
    pub external_refs: Vec<(String, String)>,
    pub segment: pb::Segment,
    pub lifecycle_stage: pb::LifecycleStage,
    pub owner: String,
    pub labels: BTreeMap<String, String>,
}

/// Whether `path` of `account` holds a non-default value (what an update without a mask
/// replaces).
pub fn is_set(account: &pb::Account, path: &str) -> bool {
    match path {
        "display_name" => !account.display_name.is_empty(),
        "primary_domain" => !account.primary_domain.is_empty(),
        "domains" => !account.domains.is_empty(),
        "external_refs" => !account.external_refs.is_empty(),
        "segment" => account.segment != 0,
        "lifecycle_stage" => account.lifecycle_stage != 0,
        "owner" => !account.owner.is_empty(),
        "labels" => !account.labels.is_empty(),
        _ => false,
    }
}

impl AccountFields {
    /// Replaces the fields in `paths` with their values in `input`, recording what is wrong
    /// in `v` under `prefix` (e.g. `account`).
    pub fn apply(&mut self, input: &pb::Account, paths: &[&str], prefix: &str, v: &mut Violations) {
        for path in paths {
            let field = format!("{prefix}.{path}");
            match *path {
                "display_name" => match check_text(&input.display_name, 1, 200) {
                    Ok(name) => self.display_name = name,
                    Err(why) => v.add(field, why),
                },
                "primary_domain" => {
                    self.primary_domain = match input.primary_domain.trim() {
                        "" => None,
                        raw => normalize_domain(raw).map_err(|why| v.add(&field, why)).ok(),
                    }
                }
                "domains" => {
                    v.check(
                        input.domains.len() <= MAX_DOMAINS,
                        &field,
                        format!("at most {MAX_DOMAINS} domains"),
                    );
                    self.domains = input
                        .domains
                        .iter()
                        .enumerate()
                        .filter_map(|(i, d)| {
                            normalize_domain(d)
                                .map_err(|why| v.add(format!("{field}[{i}]"), why))
                                .ok()
                        })
                        .collect();
                }
                "external_refs" => self.external_refs = refs(&input.external_refs, &field, v),
                "segment" => match pb::Segment::try_from(input.segment) {
                    Ok(s) => self.segment = s,
                    Err(_) => v.add(field, format!("unknown segment {}", input.segment)),
                },
                "lifecycle_stage" => match pb::LifecycleStage::try_from(input.lifecycle_stage) {
                    Ok(s) => self.lifecycle_stage = s,
                    Err(_) => {
                        v.add(field, format!("unknown lifecycle stage {}", input.lifecycle_stage))
                    }
                },
                "owner" => match check_text(&input.owner, 0, 200) {
                    Ok(owner) => self.owner = owner,
                    Err(why) => v.add(field, why),
                },
                "labels" => self.labels = labels(&input.labels, &field, v),
                _ => v.add(field, "is not updatable"),
            }
        }
        self.normalize();
    }

    /// Keeps the extra domains sorted, unique and apart from the primary one.
    fn normalize(&mut self) {
        self.domains.sort();
        self.domains.dedup();
        if let Some(primary) = &self.primary_domain {
            self.domains.retain(|d| d != primary);
        }
    }

    /// Every domain the account resolves by, the primary one first.
    pub fn all_domains(&self) -> impl Iterator<Item = &str> {
        self.primary_domain.iter().chain(&self.domains).map(String::as_str)
    }

    /// The fields that differ between `self` (before) and `after`, in `update_mask` spelling.
    pub fn diff(&self, after: &AccountFields) -> Vec<&'static str> {
        let changed = [
            self.display_name != after.display_name,
            self.primary_domain != after.primary_domain,
            self.domains != after.domains,
            self.external_refs != after.external_refs,
            self.segment != after.segment,
            self.lifecycle_stage != after.lifecycle_stage,
            self.owner != after.owner,
            self.labels != after.labels,
        ];
        UPDATABLE.iter().zip(changed).filter(|(_, c)| *c).map(|(p, _)| *p).collect()
    }
}

/// Trimmed text of `min..=max` characters, or why not.
pub fn check_text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        Err("must not be empty".into())
    } else if len > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(text.to_owned())
    }
}

/// Validates one external ref; `(system, id)` or `None` with violations recorded.
pub fn external_ref(
    r: &pb::ExternalRef,
    field: &str,
    v: &mut Violations,
) -> Option<(String, String)> {
    let system_ok = (1..=63).contains(&r.system.len())
        && r.system.starts_with(|c: char| c.is_ascii_lowercase())
        && r.system
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    let id_ok = (1..=255).contains(&r.id.chars().count());
    v.check(
        system_ok,
        format!("{field}.system"),
        "must be 1-63 lowercase letters, digits, `_` or `-`, starting with a letter (e.g. zendesk)",
    );
    v.check(id_ok, format!("{field}.id"), "must be 1-255 characters");
    (system_ok && id_ok).then(|| (r.system.clone(), r.id.clone()))
}

fn refs(input: &[pb::ExternalRef], field: &str, v: &mut Violations) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(input.len());
    for (i, r) in input.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if let Some(r) = external_ref(r, &f, v) {
            if out.iter().any(|(s, _)| *s == r.0) {
                v.add(format!("{f}.system"), "an account has at most one ref per system");
            } else {
                out.push(r);
            }
        }
    }
    out.sort();
    out
}

fn labels(
    input: &BTreeMap<String, String>,
    field: &str,
    v: &mut Violations,
) -> BTreeMap<String, String> {
    v.check(input.len() <= MAX_LABELS, field, format!("at most {MAX_LABELS} labels"));
    let mut out = BTreeMap::new();
    for (key, value) in input {
        let key_ok = (1..=63).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
        if !key_ok {
            v.add(
                format!("{field}[{key:?}]"),
                "label keys are 1-63 lowercase letters, digits, `_`, `-` or `.`",
            );
        } else if value.chars().count() > 200 {
            v.add(format!("{field}[{key:?}]"), "label values are at most 200 characters");
        } else {
            out.insert(key.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> pb::Account {
        pb::Account {
            display_name: "  Acme Corp ".into(),
            primary_domain: "Acme.com".into(),
            domains: vec!["acme.co.uk".into(), "ACME.com".into(), "acme.co.uk".into()],
            external_refs: vec![pb::ExternalRef { system: "zendesk".into(), id: "42".into() }],
            segment: pb::Segment::Enterprise as i32,
            labels: [("tier".to_owned(), "gold".to_owned())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn create_normalises_every_field() {
        let mut f = AccountFields::default();
        let mut v = Violations::default();
        f.apply(&input(), UPDATABLE, "account", &mut v);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(f.display_name, "Acme Corp");
        assert_eq!(f.primary_domain.as_deref(), Some("acme.com"));
        assert_eq!(f.domains, ["acme.co.uk"]);
        assert_eq!(f.all_domains().collect::<Vec<_>>(), ["acme.com", "acme.co.uk"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = pb::Account {
            display_name: " ".into(),
            domains: vec!["acme.com".into(), "not a domain".into()],
            segment: 99,
            external_refs: vec![
                pb::ExternalRef { system: "zendesk".into(), id: "1".into() },
                pb::ExternalRef { system: "zendesk".into(), id: "2".into() },
            ],
            labels: [("Tier".to_owned(), "x".to_owned())].into(),
            ..Default::default()
        };
        let mut v = Violations::default();
        AccountFields::default().apply(&bad, UPDATABLE, "account", &mut v);
        let err = v.finish().expect_err("invalid").to_string();
        for field in [
            "account.display_name",
            "account.domains[1]",
            "account.segment",
            "account.external_refs[1].system",
            "account.labels[\"Tier\"]",
        ] {
            assert!(err.contains(field), "{field} missing from {err}");
        }
    }

    #[test]
    fn a_masked_update_touches_only_its_paths_and_diff_names_them() {
        let mut before = AccountFields::default();
        before.apply(&input(), UPDATABLE, "account", &mut Violations::default());
        let mut after = before.clone();
        let change = pb::Account { owner: "jane@example.com".into(), ..Default::default() };
        let mut v = Violations::default();
        after.apply(&change, &["owner"], "account", &mut v);
        assert!(v.is_empty());
        assert_eq!(before.diff(&after), ["owner"]);
        assert_eq!(after.display_name, "Acme Corp");
    }
}
