//! The shipped default scorecard (`scorecards/default`, version 1), seeded at first start:
//! the service comment's table, component by component, with the reasons in its description.

use prost_types::Duration;
use steward_proto::health::v1 as pb;

use super::{DAY, DEFAULT_BANDS};
use pb::BuiltinMeasure as B;
use pb::component::Scoring;
use pb::measure::Kind;

/// The id of the shipped default scorecard, `scorecards/default`.
pub const DEFAULT_SCORECARD_ID: &str = "default";

/// The shipped default scorecard (`scorecards/default`), as the service comment's table
/// lays it out. Output-only fields (version, times, etag) are left to the store.
pub fn default_scorecard() -> pb::Scorecard {
    let days = |n: i64| Some(Duration { seconds: n * DAY, nanos: 0 });
    let component =
        |id: &str, name: &str, measure: Kind, weight: f64, scoring: Scoring| pb::Component {
            id: id.into(),
            display_name: name.into(),
            measure: Some(pb::Measure { kind: Some(measure) }),
            scoring: Some(scoring),
            weight,
            ..Default::default()
        };
    let builtin = |b: B| Kind::Builtin(b as i32);
    let linear = |zero: f64, full: f64| {
        Scoring::Linear(pb::LinearScoring { zero_points_value: zero, full_points_value: full })
    };
    let range = |lower: Option<f64>, upper: Option<f64>, points: f64| pb::ThresholdRange {
        lower_bound: lower,
        upper_bound: upper,
        points,
    };
    let severity = Scoring::Thresholds(pb::ThresholdScoring {
        ranges: vec![
            range(None, Some(1.0), 100.0),
            range(Some(1.0), Some(2.0), 80.0),
            range(Some(2.0), Some(3.0), 55.0),
            range(Some(3.0), Some(5.0), 25.0),
            range(Some(5.0), None, 0.0),
        ],
    });
    let usage = Kind::Custom(pb::CustomMeasure {
        key: "active_user_ratio".into(),
        aggregation: pb::Aggregation::Latest as i32,
    });
    pb::Scorecard {
        name: format!("scorecards/{DEFAULT_SCORECARD_ID}"),
        display_name: "Default health".into(),
        description: DEFAULT_DESCRIPTION.into(),
        components: vec![
            pb::Component {
                window: days(30),
                ..component(
                    "support_severity",
                    "Support severity",
                    builtin(B::HighUrgentTickets),
                    25.0,
                    severity,
                )
            },
            pb::Component {
                window: days(90),
                min_sample_size: 5,
                ..component("csat", "CSAT", builtin(B::CsatGoodShare), 20.0, linear(0.50, 0.95))
            },
            component(
                "backlog_age",
                "Backlog age",
                builtin(B::BacklogAgeP90Days),
                15.0,
                linear(30.0, 3.0),
            ),
            pb::Component {
                window: days(30),
                ..component(
                    "ticket_volume",
                    "Ticket volume",
                    builtin(B::TicketVolumeRatio),
                    15.0,
                    linear(3.0, 1.0),
                )
            },
            pb::Component {
                window: days(90),
                min_sample_size: 5,
                ..component(
                    "reopen_rate",
                    "Reopen rate",
                    builtin(B::ReopenRate),
                    10.0,
                    linear(0.30, 0.05),
                )
            },
            pb::Component {
                max_data_age: days(35),
                ..component("usage", "Product usage", usage, 15.0, linear(0.20, 0.80))
            },
        ],
        bands: Some(DEFAULT_BANDS),
        assignment: Some(pb::Assignment { default_scorecard: true, ..Default::default() }),
        ..Default::default()
    }
}

const DEFAULT_DESCRIPTION: &str = "Scores every account no more specific scorecard \
    matches. Support signals carry 85% of the weight because support data is what every \
    Steward install has: escalations (HIGH and URGENT tickets) are the strongest support \
    predictor of churn; CSAT is the customer's own verdict, over 90 days to gather enough \
    ratings; an aging backlog wears goodwill down; a ticket surge against the account's own \
    normal means trouble whatever its size; reopened tickets are problems that were not \
    really fixed. Product usage (active users / licensed seats, recorded as \
    `active_user_ratio`) catches the silent churn support alone misses; until a pipeline \
    records it, it is left out and the other weights renormalized. Bands: RED below 40, \
    YELLOW below 70, GREEN from 70, so that an account needs several poor signals at once \
    to turn RED, and one bad month of support turns a healthy account YELLOW, not RED.";
