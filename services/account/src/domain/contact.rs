//! A contact's fields: validation and field-mask application.

use steward_kit::Violations;
use steward_proto::account::v1 as pb;

use super::account::check_text;
use super::names::normalize_email;

/// The fields an update may replace.
pub const UPDATABLE: &[&str] = &["email", "display_name", "role", "title"];

/// A contact's fields, validated and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFields {
    pub email: String,
    pub display_name: String,
    pub role: pb::ContactRole,
    pub title: String,
}

/// Whether `path` of `contact` holds a non-default value.
pub fn is_set(contact: &pb::Contact, path: &str) -> bool {
    match path {
        "email" => !contact.email.is_empty(),
        "display_name" => !contact.display_name.is_empty(),
        "role" => contact.role != 0,
        "title" => !contact.title.is_empty(),
        _ => false,
    }
}

impl ContactFields {
    /// Replaces the fields in `paths` with their values in `input`.
    pub fn apply(&mut self, input: &pb::Contact, paths: &[&str], prefix: &str, v: &mut Violations) {
        for path in paths {
            let field = format!("{prefix}.{path}");
            match *path {
                "email" => match normalize_email(&input.email) {
                    Ok(email) if email.len() <= 254 => self.email = email,
                    Ok(_) => v.add(field, "must be at most 254 characters"),
                    Err(why) => v.add(field, why),
                },
                "display_name" => match check_text(&input.display_name, 0, 200) {
                    Ok(s) => self.display_name = s,
                    Err(why) => v.add(field, why),
                },
                "role" => match pb::ContactRole::try_from(input.role) {
                    Ok(r) => self.role = r,
                    Err(_) => v.add(field, format!("unknown role {}", input.role)),
                },
                "title" => match check_text(&input.title, 0, 200) {
                    Ok(s) => self.title = s,
                    Err(why) => v.add(field, why),
                },
                _ => v.add(field, "is not updatable"),
            }
        }
    }

    /// The fields that differ between `self` (before) and `after`.
    pub fn diff(&self, after: &ContactFields) -> Vec<&'static str> {
        let changed = [
            self.email != after.email,
            self.display_name != after.display_name,
            self.role != after.role,
            self.title != after.title,
        ];
        UPDATABLE.iter().zip(changed).filter(|(_, c)| *c).map(|(p, _)| *p).collect()
    }
}
