//! Scorecards as a model: validation of everything a caller writes, the defaults the
//! scorer applies (bands, windows, staleness limits, sample sizes), the shipped default
//! scorecard, bands from scores, and the content comparison behind no-op updates.

use chrono::TimeDelta;
use prost_types::Duration;
use steward_kit::{Error, Violations};
use steward_proto::health::v1 as pb;

use super::{assignment, scoring};
use pb::BuiltinMeasure as B;
use pb::measure::Kind;

const MAX_DISPLAY_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_COMPONENTS: usize = 20;
const MAX_COMPONENT_NAME: usize = 100;
const MAX_WEIGHT: f64 = 100.0;
const MAX_SAMPLE_SIZE: i32 = 10_000;
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
const MAX_WINDOW: i64 = 365 * DAY;
const MIN_DATA_AGE: i64 = 60;
const MAX_DATA_AGE: i64 = 400 * DAY;

/// The bands of a scorecard created without any: RED below 40, YELLOW below 70, GREEN from
/// 70.
pub const DEFAULT_BANDS: pb::BandThresholds =
    pb::BandThresholds { yellow_min_score: 40.0, green_min_score: 70.0 };

/// Validates every caller-written field of `scorecard` under `field` (e.g. `scorecard`),
/// reporting all violations at once as `INVALID_ARGUMENT`, each naming its field (e.g.
/// `scorecard.components[2].weight`). Output-only fields (name, version, times, etag) are
/// not looked at; unset bands are valid (see [`with_defaults`]).
pub fn check(scorecard: &pb::Scorecard, field: &str) -> Result<(), Error> {
    let mut v = Violations::default();
    check_text(
        &scorecard.display_name,
        1,
        MAX_DISPLAY_NAME,
        &format!("{field}.display_name"),
        &mut v,
    );
    check_text(&scorecard.description, 0, MAX_DESCRIPTION, &format!("{field}.description"), &mut v);

    let components = &scorecard.components;
    v.check(
        (1..=MAX_COMPONENTS).contains(&components.len()),
        format!("{field}.components"),
        format!("must hold 1-{MAX_COMPONENTS} components"),
    );
    for (i, c) in components.iter().enumerate() {
        let at = format!("{field}.components[{i}]");
        if !is_key(&c.id) {
            v.add(format!("{at}.id"), "must match ^[a-z][a-z0-9_]{0,62}$ (e.g. support_severity)");
        } else if let Some(j) = components[..i].iter().position(|o| o.id == c.id) {
            v.add(format!("{at}.id"), format!("components[{j}] has this id already"));
        }
        check_component(c, &at, &mut v);
    }

    if let Some(bands) = &scorecard.bands {
        check_bands(bands, &format!("{field}.bands"), &mut v);
    }
    assignment::check(scorecard.assignment.as_ref(), &format!("{field}.assignment"), &mut v);
    v.finish()
}

/// Whether `s` is a component id or custom measurement key: lowercase snake_case of 1–63
/// characters starting with a letter (`^[a-z][a-z0-9_]{0,62}$`).
pub fn is_key(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// A text of `min..=max` characters; whitespace alone does not count as text.
fn check_text(text: &str, min: usize, max: usize, field: &str, v: &mut Violations) {
    if min > 0 && text.trim().is_empty() {
        v.add(field, "required");
    } else if text.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
}

/// Everything of one component but its id (whose uniqueness needs the others).
fn check_component(c: &pb::Component, at: &str, v: &mut Violations) {
    check_text(&c.display_name, 1, MAX_COMPONENT_NAME, &format!("{at}.display_name"), v);
    check_measure(c.measure.as_ref(), &format!("{at}.measure"), v);
    v.check(
        c.weight.is_finite() && c.weight > 0.0 && c.weight <= MAX_WEIGHT,
        format!("{at}.weight"),
        "must be above 0 and at most 100",
    );
    if let Some(w) = &c.window {
        let whole_hours = w.nanos == 0 && w.seconds % HOUR == 0;
        v.check(
            whole_hours && (HOUR..=MAX_WINDOW).contains(&w.seconds),
            format!("{at}.window"),
            "must be whole hours from 1 hour to 365 days",
        );
    }
    if let Some(age) = &c.max_data_age {
        let ok = to_delta(age).is_some_and(|d| {
            d >= TimeDelta::seconds(MIN_DATA_AGE) && d <= TimeDelta::seconds(MAX_DATA_AGE)
        });
        v.check(ok, format!("{at}.max_data_age"), "must be from 1 minute to 400 days");
    }
    v.check(
        (0..=MAX_SAMPLE_SIZE).contains(&c.min_sample_size),
        format!("{at}.min_sample_size"),
        "must be 0 (the measure's default) to 10,000",
    );
    scoring::check(c.scoring.as_ref(), at, v);
}

fn check_measure(m: Option<&pb::Measure>, at: &str, v: &mut Violations) {
    match m.and_then(|m| m.kind.as_ref()) {
        None => v.add(at, "required: set `builtin` or `custom`"),
        Some(Kind::Builtin(b)) => match B::try_from(*b) {
            Ok(B::Unspecified) => {
                v.add(format!("{at}.builtin"), "must not be BUILTIN_MEASURE_UNSPECIFIED")
            }
            Ok(_) => {}
            Err(_) => v.add(format!("{at}.builtin"), format!("unknown built-in measure {b}")),
        },
        Some(Kind::Custom(c)) => {
            v.check(
                is_key(&c.key),
                format!("{at}.custom.key"),
                "must match ^[a-z][a-z0-9_]{0,62}$ (e.g. active_user_ratio)",
            );
            let field = format!("{at}.custom.aggregation");
            match pb::Aggregation::try_from(c.aggregation) {
                Ok(pb::Aggregation::Last) => v.add(
                    field,
                    "AGGREGATION_LAST is for score history; use LATEST, MEAN, SUM, MIN or MAX",
                ),
                Ok(_) => {}
                Err(_) => v.add(field, format!("unknown aggregation {}", c.aggregation)),
            }
        }
    }
}

fn check_bands(bands: &pb::BandThresholds, at: &str, v: &mut Violations) {
    let (yellow, green) = (bands.yellow_min_score, bands.green_min_score);
    let yellow_ok = yellow.is_finite() && yellow > 0.0;
    let green_ok = green.is_finite() && green <= 100.0;
    v.check(yellow_ok, format!("{at}.yellow_min_score"), "must be above 0");
    v.check(green_ok, format!("{at}.green_min_score"), "must be at most 100");
    // Compared only when both are usable, so that one bad number is reported once.
    v.check(
        !(yellow_ok && green_ok) || yellow < green,
        format!("{at}.green_min_score"),
        format!("must be above yellow_min_score ({yellow})"),
    );
}

/// Fills what a caller may leave unset and the scorer needs stored: the bands (40/70).
pub fn with_defaults(scorecard: &mut pb::Scorecard) {
    scorecard.bands.get_or_insert(DEFAULT_BANDS);
}

/// The scorecard's bands, the defaults when unset.
pub fn bands(scorecard: &pb::Scorecard) -> pb::BandThresholds {
    scorecard.bands.unwrap_or(DEFAULT_BANDS)
}

/// The band of `score` (the rounded score): RED below `yellow_min_score`, YELLOW below
/// `green_min_score`, GREEN from it. A NaN score is no score: UNSPECIFIED.
pub fn band(score: f64, bands: &pb::BandThresholds) -> pb::HealthBand {
    if score.is_nan() {
        pb::HealthBand::Unspecified
    } else if score < bands.yellow_min_score {
        pb::HealthBand::Red
    } else if score < bands.green_min_score {
        pb::HealthBand::Yellow
    } else {
        pb::HealthBand::Green
    }
}

/// Whether `a` and `b` have the same writable content (display name, description,
/// components, bands, assignment), so that an update producing `b` from `a` writes nothing.
/// Unset bands equal the default bands and an unset assignment equals an empty one, since
/// they score the same; list order counts, as it is what callers read back.
pub fn same_content(a: &pb::Scorecard, b: &pb::Scorecard) -> bool {
    a.display_name == b.display_name
        && a.description == b.description
        && a.components == b.components
        && bands(a) == bands(b)
        && a.assignment.as_ref().unwrap_or(&NO_ASSIGNMENT)
            == b.assignment.as_ref().unwrap_or(&NO_ASSIGNMENT)
}

/// What an unset assignment means: no segments, no stages, not the default.
const NO_ASSIGNMENT: pb::Assignment =
    pb::Assignment { segments: Vec::new(), lifecycle_stages: Vec::new(), default_scorecard: false };

/// The built-in measure a component reads, if it reads a known one.
fn builtin(component: &pb::Component) -> Option<B> {
    match component.measure.as_ref()?.kind.as_ref()? {
        Kind::Builtin(b) => B::try_from(*b).ok(),
        Kind::Custom(_) => None,
    }
}

/// The custom measure a component reads, if any.
fn custom(component: &pb::Component) -> Option<&pb::CustomMeasure> {
    match component.measure.as_ref()?.kind.as_ref()? {
        Kind::Custom(c) => Some(c),
        Kind::Builtin(_) => None,
    }
}

/// How a custom measure reduces its measurements: unset means LATEST (and so does an
/// unknown value, which `check` refuses).
pub fn aggregation(custom: &pb::CustomMeasure) -> pb::Aggregation {
    match pb::Aggregation::try_from(custom.aggregation) {
        Ok(pb::Aggregation::Unspecified) | Err(_) => pb::Aggregation::Latest,
        Ok(a) => a,
    }
}

/// The component's rolling window: as set, else 30 days (365 days for `ARR_TREND`, whose
/// year-on-year change is what revenue trends are read as). Measures taken at an instant
/// ignore it.
pub fn window(component: &pb::Component) -> TimeDelta {
    let default = match builtin(component) {
        Some(B::ArrTrend) => TimeDelta::days(365),
        _ => TimeDelta::days(30),
    };
    positive(component.window.as_ref()).unwrap_or(default)
}

/// The component's staleness limit: as set, else 1 day for support measures (the support
/// feed keeps them current within seconds, so a day old means the feed is stuck), 7 days for
/// account measures and 35 days for custom ones (a monthly pipeline plus slack).
pub fn max_data_age(component: &pb::Component) -> TimeDelta {
    let default = match (builtin(component), custom(component)) {
        (_, Some(_)) => TimeDelta::days(35),
        (Some(b), None) if is_account(b) => TimeDelta::days(7),
        _ => TimeDelta::days(1),
    };
    positive(component.max_data_age.as_ref()).unwrap_or(default)
}

/// The least sample for a value of the component: as set (at most 10,000), else 5 for CSAT
/// measures, 3 for the reopen rate and SLA measures, 1 for custom measures other than
/// LATEST. Measures not computed from a sample ignore the setting: 0.
pub fn min_sample_size(component: &pb::Component) -> u32 {
    let default = match (builtin(component), custom(component)) {
        (Some(B::CsatGoodShare | B::CsatTrendPoints), _) => 5,
        (Some(B::ReopenRate | B::ResolutionTimeSlaRatio | B::SlaAdherence), _) => 3,
        (_, Some(c)) if aggregation(c) != pb::Aggregation::Latest => 1,
        _ => return 0,
    };
    let set = component.min_sample_size.clamp(0, MAX_SAMPLE_SIZE).unsigned_abs();
    if set == 0 { default } else { set }
}

/// Whether `measure` comes from ticket-ingest's support summary.
pub fn is_support(measure: B) -> bool {
    // Exhaustive on purpose: a new measure must be placed on one side or the other.
    match measure {
        B::TicketVolumeRatio
        | B::HighUrgentTickets
        | B::BacklogAgeP90Days
        | B::BacklogOldestAgeDays
        | B::ResolutionTimeSlaRatio
        | B::SlaAdherence
        | B::CsatGoodShare
        | B::CsatTrendPoints
        | B::ReopenRate
        | B::MaxTicketsInCategory => true,
        B::Unspecified | B::DaysToRenewal | B::LifecycleStage | B::ArrTrend => false,
    }
}

/// Whether `measure` comes from the account service (contracts, lifecycle, ARR).
pub fn is_account(measure: B) -> bool {
    matches!(measure, B::DaysToRenewal | B::LifecycleStage | B::ArrTrend)
}

/// `d` as a positive `TimeDelta`, or `None` when unset, not normalised or not positive.
fn positive(d: Option<&Duration>) -> Option<TimeDelta> {
    d.and_then(to_delta).filter(|d| *d > TimeDelta::zero())
}

/// A protobuf duration as a `TimeDelta`; `None` unless its nanos are in range and carry the
/// seconds' sign (the protobuf rule) and it fits chrono's range.
fn to_delta(d: &Duration) -> Option<TimeDelta> {
    if d.nanos.unsigned_abs() >= 1_000_000_000
        || (d.seconds > 0 && d.nanos < 0)
        || (d.seconds < 0 && d.nanos > 0)
    {
        return None;
    }
    TimeDelta::try_seconds(d.seconds)?.checked_add(&TimeDelta::nanoseconds(i64::from(d.nanos)))
}

// The shipped default is data rather than logic; it reads best on its own.
mod shipped;
pub use shipped::{DEFAULT_SCORECARD_ID, default_scorecard};

// The tests are many; they live in `scorecard/tests.rs` to keep this file readable.
#[cfg(test)]
mod tests;
