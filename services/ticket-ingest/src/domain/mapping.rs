//! Platforms' raw values → the normalized enums: each platform's *default* table, as the
//! support-platforms reference documents it (§9.1, §9.2).
//!
//! Tenant-specific values (custom statuses, pipeline stages, picklists) are the adapter's
//! job: a value missing here is `None`, never a guess. Lookups are case-insensitive and
//! ignore surrounding whitespace (Zendesk webhooks send `SOLVED`, the API `solved`).
//! SOURCE_OTHER has no table at all.

use steward_proto::ticket::v1 as pb;

use pb::Source as S;
use pb::TicketPriority as P;
use pb::TicketStatus as St;

/// The platform's system name (`zendesk`, ...); `None` for OTHER and unknown values.
///
/// It is the `ExternalRef.system` an `account_ref` without its own `system` resolves under.
pub fn system_name(source: i32) -> Option<&'static str> {
    Some(match S::try_from(source).ok()? {
        S::Zendesk => "zendesk",
        S::Freshdesk => "freshdesk",
        S::Intercom => "intercom",
        S::JiraServiceManagement => "jira_service_management",
        S::Hubspot => "hubspot",
        S::Salesforce => "salesforce",
        S::HelpScout => "help_scout",
        S::Front => "front",
        S::ZohoDesk => "zoho_desk",
        S::Gorgias => "gorgias",
        S::Kustomer => "kustomer",
        S::Servicenow => "servicenow",
        S::Unspecified | S::Other => return None,
    })
}

/// Maps a raw status with the platform's default table, case-insensitively.
pub fn status(source: i32, raw: &str) -> Option<pb::TicketStatus> {
    let raw = raw.trim().to_lowercase();
    let raw = raw.as_str();
    match S::try_from(source).ok()? {
        S::Zendesk => match raw {
            "new" => Some(St::New),
            "open" => Some(St::Open),
            "pending" => Some(St::Pending),
            "hold" => Some(St::OnHold),
            "solved" => Some(St::Solved),
            "closed" => Some(St::Closed),
            _ => None,
        },
        // Freshdesk's API sends numbers; its default labels are accepted as well.
        S::Freshdesk => match raw {
            "2" | "open" => Some(St::Open),
            "3" | "pending" => Some(St::Pending),
            "4" | "resolved" => Some(St::Solved),
            "5" | "closed" => Some(St::Closed),
            _ => None,
        },
        // Conversation states (open, snoozed, closed) and ticket states share one table:
        // their names do not collide.
        S::Intercom => match raw {
            "submitted" => Some(St::New),
            "open" | "in_progress" => Some(St::Open),
            "waiting_on_customer" => Some(St::Pending),
            "snoozed" => Some(St::OnHold),
            "closed" | "resolved" => Some(St::Solved),
            _ => None,
        },
        // Default status names and the three status-category keys.
        S::JiraServiceManagement => match raw {
            "new" | "open" | "waiting for support" => Some(St::New),
            "indeterminate" | "in progress" | "escalated" => Some(St::Open),
            "waiting for customer" | "pending" => Some(St::Pending),
            "done" | "resolved" => Some(St::Solved),
            "closed" => Some(St::Closed),
            _ => None,
        },
        // The default pipeline's stage ids (and labels); its closed stage has ticketState
        // CLOSED, which the reference maps to SOLVED (HubSpot has no separate CLOSED).
        S::Hubspot => match raw {
            "1" | "new" => Some(St::New),
            "2" | "waiting on contact" => Some(St::Pending),
            "3" | "waiting on us" => Some(St::Open),
            "4" | "closed" => Some(St::Solved),
            _ => None,
        },
        // The default Case Status picklist; anything else is a tenant picklist value.
        S::Salesforce => match raw {
            "new" => Some(St::New),
            "working" | "escalated" => Some(St::Open),
            "closed" => Some(St::Closed),
            _ => None,
        },
        // `spam` is deletion (the adapter sets `deleted`), not a status.
        S::HelpScout => match raw {
            "active" => Some(St::Open),
            "pending" => Some(St::Pending),
            "closed" => Some(St::Solved),
            _ => None,
        },
        // Status categories, plus the legacy conversation statuses.
        S::Front => match raw {
            "open" | "unassigned" | "assigned" => Some(St::Open),
            "waiting" => Some(St::Pending),
            "snoozed" => Some(St::OnHold),
            "resolved" | "archived" => Some(St::Solved),
            _ => None,
        },
        S::ZohoDesk | S::Gorgias | S::Kustomer | S::Servicenow => common_status(raw),
        S::Unspecified | S::Other => None,
    }
}

/// The plain English names, for platforms the reference does not tabulate.
fn common_status(raw: &str) -> Option<pb::TicketStatus> {
    match raw {
        "new" => Some(St::New),
        "open" | "in progress" => Some(St::Open),
        "pending" => Some(St::Pending),
        "on hold" | "on-hold" | "on_hold" | "hold" | "snoozed" => Some(St::OnHold),
        "solved" | "resolved" => Some(St::Solved),
        "closed" => Some(St::Closed),
        _ => None,
    }
}

/// Maps a raw priority. `Some(UNSPECIFIED)` where the platform's value means "no priority";
/// `None` for values the table does not know.
pub fn priority(source: i32, raw: &str) -> Option<pb::TicketPriority> {
    let raw = raw.trim().to_lowercase();
    let raw = raw.as_str();
    match S::try_from(source).ok()? {
        S::Zendesk => match raw {
            "urgent" => Some(P::Urgent),
            "high" => Some(P::High),
            "normal" => Some(P::Normal),
            "low" => Some(P::Low),
            _ => None,
        },
        S::Freshdesk => match raw {
            "4" | "urgent" => Some(P::Urgent),
            "3" | "high" => Some(P::High),
            "2" | "medium" => Some(P::Normal),
            "1" | "low" => Some(P::Low),
            _ => None,
        },
        // ≤ 2.15 is binary (`priority` / `not_priority`); ≥ 2.16 has levels and `none`.
        S::Intercom => match raw {
            "urgent" => Some(P::Urgent),
            "priority" | "high" => Some(P::High),
            "medium" => Some(P::Normal),
            "low" => Some(P::Low),
            "not_priority" | "none" => Some(P::Unspecified),
            _ => None,
        },
        S::JiraServiceManagement => match raw {
            "highest" => Some(P::Urgent),
            "high" => Some(P::High),
            "medium" => Some(P::Normal),
            "low" | "lowest" => Some(P::Low),
            _ => None,
        },
        S::Hubspot => match raw {
            "urgent" => Some(P::Urgent),
            "high" => Some(P::High),
            "medium" => Some(P::Normal),
            "low" => Some(P::Low),
            _ => None,
        },
        // Salesforce's default picklist has no urgent level (tenants add one).
        S::Salesforce => match raw {
            "high" => Some(P::High),
            "medium" => Some(P::Normal),
            "low" => Some(P::Low),
            _ => None,
        },
        // Help Scout has no priorities; Front's come from tenant-mapped tags.
        S::HelpScout | S::Front => None,
        S::ZohoDesk | S::Gorgias | S::Kustomer | S::Servicenow => match raw {
            "urgent" | "critical" => Some(P::Urgent),
            "high" => Some(P::High),
            "medium" | "normal" | "moderate" => Some(P::Normal),
            "low" => Some(P::Low),
            _ => None,
        },
        S::Unspecified | S::Other => None,
    }
}

/// Maps a raw channel: one table of common channel words for every platform with a table
/// (channel names barely differ between platforms).
pub fn channel(source: i32, raw: &str) -> Option<pb::Channel> {
    system_name(source)?;
    let raw = raw.trim().to_lowercase();
    use pb::Channel as C;
    match raw.as_str() {
        "email" | "e-mail" | "mail" => Some(C::Email),
        "web" | "web_form" | "webform" | "web form" | "portal" | "form" | "help_center" => {
            Some(C::WebForm)
        }
        "chat" | "live_chat" | "livechat" => Some(C::Chat),
        "messaging" | "native_messaging" | "whatsapp" | "sms" | "messenger" => Some(C::Messaging),
        "phone" | "voice" | "call" => Some(C::Phone),
        "social" | "twitter" | "facebook" | "instagram" => Some(C::Social),
        "api" => Some(C::Api),
        "other" => Some(C::Other),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(source: S, raw: &str) -> Option<St> {
        status(source as i32, raw)
    }

    fn pr(source: S, raw: &str) -> Option<P> {
        priority(source as i32, raw)
    }

    #[test]
    fn system_names_follow_the_source_value_names() {
        assert_eq!(system_name(S::Zendesk as i32), Some("zendesk"));
        assert_eq!(system_name(S::JiraServiceManagement as i32), Some("jira_service_management"));
        assert_eq!(system_name(S::HelpScout as i32), Some("help_scout"));
        assert_eq!(system_name(S::Servicenow as i32), Some("servicenow"));
        assert_eq!(system_name(S::Other as i32), None);
        assert_eq!(system_name(S::Unspecified as i32), None);
        assert_eq!(system_name(99), None);
        // Every known platform has a name that is its value name without the prefix.
        for v in 1..=13 {
            let Ok(source) = S::try_from(v) else { continue };
            if let Some(name) = system_name(v) {
                assert_eq!(
                    format!("source_{name}"),
                    source.as_str_name().to_lowercase(),
                    "{source:?}"
                );
            }
        }
    }

    #[test]
    fn statuses_are_case_insensitive_and_trimmed() {
        assert_eq!(st(S::Zendesk, "SOLVED"), Some(St::Solved));
        assert_eq!(st(S::Zendesk, " solved "), Some(St::Solved));
        assert_eq!(st(S::Zendesk, "hold"), Some(St::OnHold));
        assert_eq!(st(S::Zendesk, "deleted"), None);
    }

    #[test]
    fn freshdesk_numbers_arrive_as_strings() {
        assert_eq!(st(S::Freshdesk, "2"), Some(St::Open));
        assert_eq!(st(S::Freshdesk, "3"), Some(St::Pending));
        assert_eq!(st(S::Freshdesk, "4"), Some(St::Solved));
        assert_eq!(st(S::Freshdesk, "5"), Some(St::Closed));
        assert_eq!(st(S::Freshdesk, "6"), None);
        assert_eq!(pr(S::Freshdesk, "1"), Some(P::Low));
        assert_eq!(pr(S::Freshdesk, "4"), Some(P::Urgent));
    }

    #[test]
    fn each_documented_platform_has_its_default_table() {
        assert_eq!(st(S::Intercom, "snoozed"), Some(St::OnHold));
        assert_eq!(st(S::Intercom, "waiting_on_customer"), Some(St::Pending));
        assert_eq!(st(S::Intercom, "closed"), Some(St::Solved));
        assert_eq!(st(S::JiraServiceManagement, "Waiting for customer"), Some(St::Pending));
        assert_eq!(st(S::JiraServiceManagement, "Waiting for support"), Some(St::New));
        assert_eq!(st(S::JiraServiceManagement, "Closed"), Some(St::Closed));
        assert_eq!(st(S::Hubspot, "2"), Some(St::Pending));
        assert_eq!(st(S::Hubspot, "3"), Some(St::Open));
        assert_eq!(st(S::Hubspot, "4"), Some(St::Solved));
        assert_eq!(st(S::Salesforce, "Working"), Some(St::Open));
        assert_eq!(st(S::Salesforce, "On Hold"), None, "a tenant picklist value");
        assert_eq!(st(S::HelpScout, "active"), Some(St::Open));
        assert_eq!(st(S::HelpScout, "spam"), None, "spam is deletion, not a status");
        assert_eq!(st(S::Front, "waiting"), Some(St::Pending));
        assert_eq!(st(S::Front, "archived"), Some(St::Solved));
    }

    #[test]
    fn other_platforms_map_common_english_names() {
        for source in [S::ZohoDesk, S::Gorgias, S::Kustomer, S::Servicenow] {
            assert_eq!(st(source, "New"), Some(St::New));
            assert_eq!(st(source, "On Hold"), Some(St::OnHold));
            assert_eq!(st(source, "Resolved"), Some(St::Solved));
            assert_eq!(st(source, "closed"), Some(St::Closed));
            assert_eq!(st(source, "awaiting approval"), None);
        }
    }

    #[test]
    fn source_other_and_unknown_sources_have_no_table() {
        assert_eq!(st(S::Other, "open"), None);
        assert_eq!(status(42, "open"), None);
        assert_eq!(pr(S::Other, "high"), None);
        assert_eq!(channel(S::Other as i32, "email"), None);
        assert_eq!(channel(-1, "email"), None);
    }

    #[test]
    fn priorities_follow_section_9_2() {
        assert_eq!(pr(S::JiraServiceManagement, "Highest"), Some(P::Urgent));
        assert_eq!(pr(S::JiraServiceManagement, "Lowest"), Some(P::Low));
        assert_eq!(pr(S::Zendesk, "URGENT"), Some(P::Urgent));
        assert_eq!(pr(S::Hubspot, "MEDIUM"), Some(P::Normal));
        assert_eq!(pr(S::Intercom, "priority"), Some(P::High));
        assert_eq!(pr(S::Intercom, "not_priority"), Some(P::Unspecified));
        assert_eq!(pr(S::Intercom, "none"), Some(P::Unspecified));
        assert_eq!(pr(S::Intercom, "whenever"), None);
        assert_eq!(pr(S::HelpScout, "high"), None);
        assert_eq!(pr(S::Salesforce, "Urgent"), None, "a tenant picklist value");
        assert_eq!(pr(S::Servicenow, "Critical"), Some(P::Urgent));
    }

    #[test]
    fn channels_share_one_table() {
        use pb::Channel as C;
        let ch = |raw| channel(S::Zendesk as i32, raw);
        assert_eq!(ch("Email"), Some(C::Email));
        assert_eq!(ch("web"), Some(C::WebForm));
        assert_eq!(ch("portal"), Some(C::WebForm));
        assert_eq!(ch("WhatsApp"), Some(C::Messaging));
        assert_eq!(ch("voice"), Some(C::Phone));
        assert_eq!(ch("twitter"), Some(C::Social));
        assert_eq!(ch("api"), Some(C::Api));
        assert_eq!(ch("carrier pigeon"), None);
        assert_eq!(ch(""), None);
    }
}
