//! Which snapshot wins: the service comment's "Ingest, ordering and idempotency" rules,
//! applied to the stored ordering key and an incoming snapshot.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::validate::Snapshot;

/// The stored ticket's ordering key and content hash.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Stored `source_version`.
    pub version: Option<i64>,
    /// Stored `source_update_time`.
    pub update_time: DateTime<Utc>,
    /// Stored content hash.
    pub content_hash: Vec<u8>,
}

/// What to do with a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No stored ticket: store it.
    Create,
    /// Replace the stored ticket.
    Update,
    /// Same content; `advance`: the ordering key is newer and is stored.
    Unchanged {
        /// Whether the stored ordering key moves forward.
        advance: bool,
    },
    /// Older than the stored one: ignore.
    Stale,
}

/// Compares `new` with the stored key.
///
/// The ordering key is `source_version` when both sides carry one, else
/// `source_update_time`. Older: STALE. Equal: UNCHANGED when the content matches (a
/// redelivery), else UPDATE (the later arrival wins, so a re-read always repairs the copy).
/// Newer: UPDATE when the content differs, else UNCHANGED with the key advanced.
pub fn decide(stored: Option<&StoredKey>, new: &Snapshot) -> Decision {
    let Some(stored) = stored else { return Decision::Create };
    let same_content = stored.content_hash == new.content_hash;
    match compare(stored, new) {
        Ordering::Less => Decision::Stale,
        Ordering::Equal if same_content => Decision::Unchanged { advance: false },
        Ordering::Greater if same_content => Decision::Unchanged { advance: true },
        Ordering::Equal | Ordering::Greater => Decision::Update,
    }
}

/// How `new`'s ordering key compares with the stored one.
fn compare(stored: &StoredKey, new: &Snapshot) -> Ordering {
    match (stored.version, new.version) {
        (Some(old), Some(new)) => new.cmp(&old),
        _ => new.update_time.cmp(&stored.update_time),
    }
}

#[cfg(test)]
mod tests {
    use steward_proto::ticket::v1 as pb;

    use super::*;
    use crate::domain::validate::SourceKey;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("in range")
    }

    fn stored(version: Option<i64>, seconds: i64, hash: &[u8]) -> StoredKey {
        StoredKey { version, update_time: at(seconds), content_hash: hash.to_vec() }
    }

    fn snapshot(version: Option<i64>, seconds: i64, hash: &[u8]) -> Snapshot {
        Snapshot {
            key: SourceKey { source: 1, instance: String::new(), external_id: "1".into() },
            ticket: pb::Ticket::default(),
            update_time: at(seconds),
            version,
            content_hash: hash.to_vec(),
        }
    }

    #[test]
    fn a_first_snapshot_is_created() {
        assert_eq!(decide(None, &snapshot(None, 100, b"a")), Decision::Create);
    }

    #[test]
    fn an_older_snapshot_is_stale_whatever_its_content() {
        let s = stored(None, 100, b"a");
        assert_eq!(decide(Some(&s), &snapshot(None, 99, b"a")), Decision::Stale);
        assert_eq!(decide(Some(&s), &snapshot(None, 99, b"b")), Decision::Stale);
    }

    #[test]
    fn an_equal_key_is_unchanged_for_a_redelivery_and_an_update_otherwise() {
        let s = stored(None, 100, b"a");
        assert_eq!(
            decide(Some(&s), &snapshot(None, 100, b"a")),
            Decision::Unchanged { advance: false }
        );
        assert_eq!(decide(Some(&s), &snapshot(None, 100, b"b")), Decision::Update);
    }

    #[test]
    fn a_newer_key_updates_or_only_advances() {
        let s = stored(None, 100, b"a");
        assert_eq!(decide(Some(&s), &snapshot(None, 101, b"b")), Decision::Update);
        assert_eq!(
            decide(Some(&s), &snapshot(None, 101, b"a")),
            Decision::Unchanged { advance: true }
        );
    }

    #[test]
    fn versions_win_over_times_when_both_sides_have_one() {
        // Version 5 stamped with an earlier time than the stored version 4: newer.
        let s = stored(Some(4), 100, b"a");
        assert_eq!(decide(Some(&s), &snapshot(Some(5), 90, b"b")), Decision::Update);
        // Version 3 stamped later: older.
        assert_eq!(decide(Some(&s), &snapshot(Some(3), 200, b"b")), Decision::Stale);
        // Same version, different time: the key is equal.
        assert_eq!(
            decide(Some(&s), &snapshot(Some(4), 200, b"a")),
            Decision::Unchanged { advance: false }
        );
        assert_eq!(decide(Some(&s), &snapshot(Some(4), 50, b"b")), Decision::Update);
    }

    #[test]
    fn times_decide_when_either_side_lacks_a_version() {
        let versioned = stored(Some(9), 100, b"a");
        assert_eq!(decide(Some(&versioned), &snapshot(None, 99, b"b")), Decision::Stale);
        assert_eq!(decide(Some(&versioned), &snapshot(None, 101, b"b")), Decision::Update);
        let unversioned = stored(None, 100, b"a");
        assert_eq!(decide(Some(&unversioned), &snapshot(Some(1), 99, b"b")), Decision::Stale);
        assert_eq!(
            decide(Some(&unversioned), &snapshot(Some(1), 101, b"a")),
            Decision::Unchanged { advance: true }
        );
    }

    #[test]
    fn out_of_order_delivery_never_regresses() {
        // Snapshots at t=1, 3, 2 (delivered in that order): the late t=2 is stale.
        let mut current = None::<StoredKey>;
        let mut outcomes = Vec::new();
        for (t, hash) in [(1, b"x"), (3, b"z"), (2, b"y")] {
            let snap = snapshot(None, t, hash);
            let decision = decide(current.as_ref(), &snap);
            if matches!(decision, Decision::Create | Decision::Update) {
                current = Some(stored(None, t, hash));
            }
            outcomes.push(decision);
        }
        assert_eq!(outcomes, [Decision::Create, Decision::Update, Decision::Stale]);
        assert_eq!(current.map(|s| s.content_hash), Some(b"z".to_vec()));
    }
}
