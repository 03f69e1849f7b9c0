//! Validation of triggers and audiences, each rule naming its field.

use prost_types::Duration;
use steward_kit::Violations;
use steward_proto::playbook::v1 as pb;

use super::check_text;
use crate::domain::duration::{DAY, HOUR, in_range, whole_days};
use pb::trigger::Kind;

const MAX_ENTRY_WITHIN: i64 = 30 * DAY;
const MAX_SCORE_WINDOW: i64 = 90 * DAY;
const MAX_TICKET_WINDOW: i64 = 365 * DAY;
const MAX_RENEWAL_WITHIN: i64 = 730 * DAY;
const MAX_COUNT: i32 = 10_000;
const MAX_CATEGORY: usize = 200;
const MAX_CATEGORIES: usize = 50;
const MAX_OWNERS: usize = 100;
const MAX_OWNER: usize = 200;

/// One trigger: exactly one kind, and that kind's fields.
pub(super) fn check_trigger(t: &pb::Trigger, at: &str, v: &mut Violations) {
    match &t.kind {
        None => v.add(
            at,
            "required: set one of band_entered, score_dropped, ticket_count, repeated_category, \
             csat_decline, renewal_within, lifecycle_stage_entered (none = manual only: leave \
             triggers empty)",
        ),
        Some(Kind::BandEntered(b)) => {
            let at = format!("{at}.band_entered");
            check_enum::<pb::HealthBand>(b.band, &format!("{at}.band"), v);
            check_window(
                b.within.as_ref(),
                false,
                HOUR,
                MAX_ENTRY_WITHIN,
                &format!("{at}.within"),
                v,
            );
        }
        Some(Kind::ScoreDropped(s)) => {
            let at = format!("{at}.score_dropped");
            v.check(
                s.min_points.is_finite() && s.min_points > 0.0 && s.min_points <= 100.0,
                format!("{at}.min_points"),
                "must be above 0 and at most 100",
            );
            check_window(
                s.within.as_ref(),
                true,
                HOUR,
                MAX_SCORE_WINDOW,
                &format!("{at}.within"),
                v,
            );
        }
        Some(Kind::TicketCount(c)) => {
            let at = format!("{at}.ticket_count");
            check_count(c.min_count, 1, &format!("{at}.min_count"), v);
            v.check(
                pb::TicketPriority::try_from(c.min_priority).is_ok(),
                format!("{at}.min_priority"),
                format!("unknown priority {}", c.min_priority),
            );
            check_text(&c.category, 0, MAX_CATEGORY, &format!("{at}.category"), v);
            check_window(
                c.within.as_ref(),
                true,
                HOUR,
                MAX_TICKET_WINDOW,
                &format!("{at}.within"),
                v,
            );
        }
        Some(Kind::RepeatedCategory(r)) => {
            let at = format!("{at}.repeated_category");
            check_count(r.min_count, 2, &format!("{at}.min_count"), v);
            check_window(
                r.within.as_ref(),
                true,
                HOUR,
                MAX_TICKET_WINDOW,
                &format!("{at}.within"),
                v,
            );
            v.check(
                r.categories.len() <= MAX_CATEGORIES,
                format!("{at}.categories"),
                format!("must hold at most {MAX_CATEGORIES} categories"),
            );
            for (i, c) in r.categories.iter().enumerate() {
                check_text(c, 1, MAX_CATEGORY, &format!("{at}.categories[{i}]"), v);
            }
        }
        Some(Kind::CsatDecline(c)) => {
            let at = format!("{at}.csat_decline");
            if c.below_share.is_none() && c.drop_points.is_none() {
                v.add(&at, "set below_share, drop_points or both");
            }
            if let Some(s) = c.below_share {
                v.check(
                    s.is_finite() && s > 0.0 && s <= 1.0,
                    format!("{at}.below_share"),
                    "must be above 0 and at most 1 (a share, e.g. 0.7)",
                );
            }
            if let Some(p) = c.drop_points {
                v.check(
                    p.is_finite() && p > 0.0 && p <= 100.0,
                    format!("{at}.drop_points"),
                    "must be above 0 and at most 100 (percentage points)",
                );
            }
            check_window(c.window.as_ref(), false, DAY, 365 * DAY, &format!("{at}.window"), v);
            v.check(
                (0..=MAX_COUNT).contains(&c.min_responses),
                format!("{at}.min_responses"),
                "must be 0 (= 5) to 10,000",
            );
        }
        Some(Kind::RenewalWithin(r)) => {
            let field = format!("{at}.renewal_within.within");
            match &r.within {
                None => v.add(field, "required: whole days from 1 to 730 days"),
                Some(d) => v.check(
                    whole_days(d) && in_range(d, DAY, MAX_RENEWAL_WITHIN),
                    field,
                    "must be whole days from 1 to 730 days",
                ),
            }
        }
        Some(Kind::LifecycleStageEntered(s)) => {
            let at = format!("{at}.lifecycle_stage_entered");
            check_enum::<pb::LifecycleStage>(s.stage, &format!("{at}.stage"), v);
            check_window(
                s.within.as_ref(),
                false,
                HOUR,
                MAX_ENTRY_WITHIN,
                &format!("{at}.within"),
                v,
            );
        }
    }
}

/// A window of whole hours within `min..=max` seconds; `required` says whether unset is an
/// error (else it means the trigger's default).
fn check_window(
    d: Option<&Duration>,
    required: bool,
    min: i64,
    max: i64,
    field: &str,
    v: &mut Violations,
) {
    let rule = format!(
        "must be whole hours from {} to {}",
        crate::domain::duration::english(min),
        crate::domain::duration::english(max)
    );
    match d {
        None if required => v.add(field, format!("required: {rule}")),
        None => {}
        Some(d) => v.check(d.seconds % HOUR == 0 && in_range(d, min, max), field, rule),
    }
}

fn check_count(n: i32, min: i32, field: &str, v: &mut Violations) {
    v.check((min..=MAX_COUNT).contains(&n), field, format!("must be {min} to 10,000"));
}

/// An enum value that is known and not UNSPECIFIED (value 0).
fn check_enum<E: TryFrom<i32>>(value: i32, field: &str, v: &mut Violations) {
    if value == 0 {
        v.add(field, "required: must not be UNSPECIFIED");
    } else if E::try_from(value).is_err() {
        v.add(field, format!("unknown value {value}"));
    }
}

/// A list of enum values: each known, not UNSPECIFIED, not repeated.
fn check_enum_list<E: TryFrom<i32>>(values: &[i32], field: &str, v: &mut Violations) {
    for (i, value) in values.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(j) = values[..i].iter().position(|o| o == value) {
            v.add(at, format!("repeats {field}[{j}]"));
        } else {
            check_enum::<E>(*value, &at, v);
        }
    }
}

/// An audience: enum lists without UNSPECIFIED or duplicates, a sane `min_arr`, owners.
pub(super) fn check_audience(a: &pb::Audience, at: &str, v: &mut Violations) {
    check_enum_list::<pb::Segment>(&a.segments, &format!("{at}.segments"), v);
    check_enum_list::<pb::LifecycleStage>(
        &a.lifecycle_stages,
        &format!("{at}.lifecycle_stages"),
        v,
    );
    check_enum_list::<pb::HealthBand>(&a.bands, &format!("{at}.bands"), v);
    if let Some(m) = &a.min_arr {
        v.check(m.amount_minor >= 0, format!("{at}.min_arr.amount_minor"), "must not be negative");
        v.check(
            m.currency_code.len() == 3 && m.currency_code.bytes().all(|b| b.is_ascii_uppercase()),
            format!("{at}.min_arr.currency_code"),
            "must be an ISO 4217 code: three upper-case letters, e.g. USD",
        );
    }
    v.check(
        a.owners.len() <= MAX_OWNERS,
        format!("{at}.owners"),
        format!("must hold at most {MAX_OWNERS} owners"),
    );
    for (i, o) in a.owners.iter().enumerate() {
        check_text(o, 1, MAX_OWNER, &format!("{at}.owners[{i}]"), v);
    }
}
