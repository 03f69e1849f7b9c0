//! Proto messages to and from JSON in the proto3 JSON mapping (lowerCamelCase or original
//! field names in, lowerCamelCase out; enums by name; timestamps as RFC 3339; 64-bit integers
//! as strings), as `buf curl` and every other gRPC tool read and write them.
//!
//! The generated types carry no serde. Rather than regenerating the API with pbjson (which
//! would swap `prost_types::Timestamp` for its own type in every service), the mapping runs
//! through prost-reflect over the descriptor set the proto crate already ships for server
//! reflection: exact, complete, and confined to this crate.

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};

/// A JSON document that is not the message it should be: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path as written in the document, e.g. `requester.email` or `sla[1].state`;
    /// empty when the document as a whole is wrong (not JSON, not an object).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// The descriptors of every Steward message, decoded once.
static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(steward_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string())
});

fn descriptor(full_name: &str) -> anyhow::Result<MessageDescriptor> {
    let pool = POOL.as_ref().map_err(|e| anyhow::anyhow!("the API's descriptor set: {e}"))?;
    pool.get_message_by_name(full_name)
        .ok_or_else(|| anyhow::anyhow!("no message {full_name} in the API's descriptor set"))
}

/// Parses `text`, one JSON document, as the message `full_name` (e.g.
/// `steward.ticket.v1.Ticket`). Unknown fields are errors, so a typo never passes silently.
pub fn parse<M: prost::Message + Default>(full_name: &str, text: &str) -> Result<M, FieldError> {
    let whole = |message: String| FieldError { field: String::new(), message };
    let desc = descriptor(full_name).map_err(|e| whole(format!("{e:#}")))?;
    let mut json = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let parsed = DynamicMessage::deserialize(
        desc,
        serde_path_to_error::Deserializer::new(&mut json, &mut track),
    );
    let message = match parsed {
        Ok(message) => message,
        Err(e) => {
            let path = track.path().to_string();
            // serde_path_to_error says `.` at the root and `?` where it could not follow.
            let mut field = if path == "." || path == "?" { String::new() } else { path };
            let message = without_position(&e.to_string());
            // An unknown field fails in its parent: name the field itself.
            if let Some(name) = message
                .strip_prefix("unrecognized field name '")
                .and_then(|rest| rest.strip_suffix('\''))
            {
                field = if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
            }
            return Err(FieldError { field, message });
        }
    };
    json.end().map_err(|e| whole(without_position(&e.to_string())))?;
    message.transcode_to::<M>().map_err(|e| whole(e.to_string()))
}

/// `message` (of type `full_name`) as a JSON value, default-valued fields left out.
pub fn to_value<M: prost::Message>(
    full_name: &str,
    message: &M,
) -> anyhow::Result<serde_json::Value> {
    let dynamic =
        DynamicMessage::decode(descriptor(full_name)?, message.encode_to_vec().as_slice())?;
    let options = SerializeOptions::new().skip_default_fields(true);
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options)?)
}

/// serde_json ends its messages with " at line 1 column 17": the caller names the line, and
/// the column of a one-line document says little more than the field does.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use steward_proto::ticket::v1 as pb;

    use super::*;

    const TICKET: &str = "steward.ticket.v1.Ticket";

    #[test]
    fn a_ticket_reads_in_either_field_spelling_with_enums_by_name_and_rfc3339_times() {
        let text = r#"{"source":"SOURCE_ZENDESK","external_id":"1","statusRaw":"open",
            "requester":{"email":"jane@acme.com"},"created_time":"2026-03-02T09:00:00Z",
            "sourceUpdateTime":"2026-03-02T09:05:00.250Z","reopenCount":2}"#;

        let ticket: pb::Ticket = parse(TICKET, text).expect("a valid ticket");

        assert_eq!(ticket.source, pb::Source::Zendesk as i32);
        assert_eq!(ticket.status_raw, "open");
        assert_eq!(ticket.requester.map(|r| r.email).as_deref(), Some("jane@acme.com"));
        let updated = ticket.source_update_time.expect("source_update_time");
        assert_eq!((updated.seconds, updated.nanos), (1_772_442_300, 250_000_000));
        assert_eq!(ticket.reopen_count, Some(2));
    }

    #[test]
    fn a_bad_value_names_its_field_path() {
        let cases = [
            (r#"{"priority":"TICKET_PRIORITY_HUGE"}"#, "priority"),
            (r#"{"requester":{"emial":"x@y.z"}}"#, "requester.emial"),
            (
                r#"{"sla":[{"metric":"SLA_METRIC_FIRST_RESPONSE"},{"dueTime":"tomorrow"}]}"#,
                "sla[1].dueTime",
            ),
            (r#"{"createdTime":17}"#, "createdTime"),
        ];
        for (text, field) in cases {
            let err = parse::<pb::Ticket>(TICKET, text).expect_err(text);
            assert_eq!(err.field, field, "{text}: {err}");
            assert!(!err.message.contains(" at line "), "{err}");
        }
    }

    #[test]
    fn broken_json_is_an_error_of_the_whole_line_or_where_it_broke() {
        for text in ["[1]", "{} {}", "nope", ""] {
            let err = parse::<pb::Ticket>(TICKET, text).expect_err(text);
            assert_eq!(err.field, "", "{text}: {err}");
        }
        let err = parse::<pb::Ticket>(TICKET, "{\"externalId\":").expect_err("cut short");
        assert_eq!(err.field, "externalId", "{err}");
    }

    #[test]
    fn output_uses_camel_case_enum_names_and_leaves_defaults_out() {
        let ticket = pb::Ticket {
            external_id: "9".into(),
            priority: pb::TicketPriority::High as i32,
            source_version: Some(7),
            ..Default::default()
        };

        let value = to_value(TICKET, &ticket).expect("serializes");

        assert_eq!(
            value,
            serde_json::json!({"externalId": "9", "priority": "TICKET_PRIORITY_HIGH", "sourceVersion": "7"})
        );
    }
}
