//! Support feed entries of one transaction: one `SupportChange` per account, gathering the
//! kinds of change and the tickets involved.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use steward_proto::ticket::v1 as pb;

use crate::domain::events::Event;

/// Most ticket names one feed entry lists (`ticket_count` says how many in all).
const MAX_TICKETS: usize = 100;

#[derive(Debug, Default)]
struct Entry {
    kinds: BTreeSet<i32>,
    tickets: BTreeSet<String>,
}

/// The entries of one transaction, by account id.
#[derive(Debug, Default)]
pub(super) struct Changes(BTreeMap<String, Entry>);

impl Changes {
    /// Records `kind` for `ticket` (a name) under `account_id`; unlinked tickets (`None`)
    /// have no account to report under.
    pub(super) fn add(
        &mut self,
        account_id: Option<&str>,
        ticket: &str,
        kind: pb::SupportChangeKind,
    ) {
        let Some(account_id) = account_id else { return };
        let entry = self.0.entry(account_id.to_owned()).or_default();
        entry.kinds.insert(kind as i32);
        entry.tickets.insert(ticket.to_owned());
    }

    /// Records what a CREATED or UPDATED snapshot with `events` did.
    pub(super) fn add_events(
        &mut self,
        account_id: Option<&str>,
        ticket: &str,
        created: bool,
        events: &[Event],
    ) {
        use pb::SupportChangeKind as K;
        use pb::TicketEventKind as E;
        self.add(account_id, ticket, if created { K::TicketCreated } else { K::TicketUpdated });
        for event in events {
            let kind = match event.kind {
                E::Solved | E::Closed => K::TicketSolved,
                E::Reopened => K::TicketReopened,
                E::PriorityChanged => K::PriorityChanged,
                E::CsatRated => K::CsatRated,
                E::SlaBreached => K::SlaBreached,
                E::Deleted => K::TicketDeleted,
                _ => continue,
            };
            self.add(account_id, ticket, kind);
        }
    }

    /// Records a ticket moving from account `from` to account `to`.
    pub(super) fn add_move(&mut self, from: Option<&str>, to: Option<&str>, ticket: &str) {
        if from != to {
            self.add(from, ticket, pb::SupportChangeKind::TicketUnlinked);
            self.add(to, ticket, pb::SupportChangeKind::TicketLinked);
        }
    }

    /// The feed's account names and encoded entries.
    pub(super) fn encode(self) -> (Vec<String>, Vec<Vec<u8>>) {
        self.0
            .into_iter()
            .map(|(account_id, entry)| {
                let account = format!("accounts/{account_id}");
                let change = pb::SupportChange {
                    account: account.clone(),
                    kinds: entry.kinds.into_iter().collect(),
                    ticket_count: i32::try_from(entry.tickets.len()).unwrap_or(i32::MAX),
                    tickets: entry.tickets.into_iter().take(MAX_TICKETS).collect(),
                    ..Default::default()
                };
                (account, change.encode_to_vec())
            })
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(changes: Changes) -> Vec<pb::SupportChange> {
        let (accounts, payloads) = changes.encode();
        assert!(accounts.iter().all(|a| a.starts_with("accounts/")));
        payloads.iter().map(|p| pb::SupportChange::decode(p.as_slice()).expect("decodes")).collect()
    }

    #[test]
    fn one_entry_per_account_with_kinds_in_enum_order_and_at_most_100_names() {
        use pb::SupportChangeKind as K;
        let mut changes = Changes::default();
        for i in 0..150 {
            changes.add(Some("a"), &format!("tickets/{i:03}"), K::TicketUpdated);
        }
        changes.add(Some("a"), "tickets/000", K::TicketCreated);
        changes.add(Some("b"), "tickets/x", K::SlaBreached);
        changes.add(None, "tickets/unlinked", K::TicketCreated);
        let entries = decode(changes);
        assert_eq!(entries.len(), 2, "unlinked tickets have no account to report under");
        let a = &entries[0];
        assert_eq!(a.account, "accounts/a");
        assert_eq!(a.kinds, [K::TicketCreated as i32, K::TicketUpdated as i32]);
        assert_eq!(a.ticket_count, 150);
        assert_eq!(a.tickets.len(), 100);
        assert_eq!(a.tickets[0], "tickets/000");
        assert_eq!(entries[1].tickets, ["tickets/x"]);
    }

    #[test]
    fn a_move_reports_unlinked_for_the_old_account_and_linked_for_the_new() {
        use pb::SupportChangeKind as K;
        let mut changes = Changes::default();
        changes.add_move(Some("old"), Some("new"), "tickets/t");
        changes.add_move(Some("same"), Some("same"), "tickets/u");
        let entries = decode(changes);
        let kinds: Vec<(&str, &[i32])> =
            entries.iter().map(|e| (e.account.as_str(), e.kinds.as_slice())).collect();
        assert_eq!(
            kinds,
            [
                ("accounts/new", &[K::TicketLinked as i32][..]),
                ("accounts/old", &[K::TicketUnlinked as i32][..])
            ]
        );
    }
}
