//! Dedupe and cooldown: at most one ACTIVE run per (account, playbook), and no automatic
//! run within the playbook's cooldown after the latest run of the pair ended. Manual starts
//! skip the cooldown but not the dedupe, and need the playbook enabled.

use chrono::{DateTime, TimeDelta, Utc};
use steward_kit::Error;

/// What the runs of one (account, playbook) allow now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// A new run may start.
    Open,
    /// A run is ACTIVE: `playbookRuns/{run}`.
    ActiveRun(String),
    /// The latest run ended less than the cooldown ago; automatic runs may start from
    /// `until` on.
    Cooldown {
        /// When the cooldown ends: the run's end time + the cooldown.
        until: DateTime<Utc>,
    },
}

/// The latest runs of one (account, playbook) as the store sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs {
    /// The ACTIVE run, `playbookRuns/{run}`, if any.
    pub active_run: Option<String>,
    /// The latest `end_time` among the ended runs (COMPLETED, CANCELLED or FAILED).
    pub last_end: Option<DateTime<Utc>>,
}

/// When the cooldown after `last_end` ends, if it has not ended at `now`: the cooldown
/// holds while `now < last_end + cooldown` (a run that ended exactly the cooldown ago no
/// longer blocks). `None` without an ended run or with a zero cooldown.
pub fn cooldown_end(
    last_end: Option<DateTime<Utc>>,
    cooldown: TimeDelta,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let until = last_end?.checked_add_signed(cooldown)?;
    (now < until).then_some(until)
}

/// Whether an automatic run may start: an active run blocks first, then the cooldown.
pub fn check(runs: &Runs, cooldown: TimeDelta, now: DateTime<Utc>) -> Gate {
    if let Some(run) = &runs.active_run {
        return Gate::ActiveRun(run.clone());
    }
    match cooldown_end(runs.last_end, cooldown, now) {
        Some(until) => Gate::Cooldown { until },
        None => Gate::Open,
    }
}

/// Whether a person may start a run now (`StartPlaybookRun`): the playbook must be enabled
/// (`FAILED_PRECONDITION`, reason `PLAYBOOK_DISABLED`) and the account must have no ACTIVE
/// run of it (reason `ACTIVE_RUN_EXISTS`, naming the run). The cooldown does not apply.
pub fn check_manual(enabled: bool, runs: &Runs) -> Result<(), Error> {
    if !enabled {
        return Err(Error::FailedPrecondition {
            reason: "PLAYBOOK_DISABLED",
            message: "the playbook is disabled: enable it to start runs".into(),
        });
    }
    if let Some(run) = &runs.active_run {
        return Err(Error::FailedPrecondition {
            reason: "ACTIVE_RUN_EXISTS",
            message: format!("{run} is active for this account: cancel it first, or follow it"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().expect("valid time")
    }

    fn ended(day: u32, hour: u32) -> Runs {
        Runs { active_run: None, last_end: Some(at(day, hour)) }
    }

    #[test]
    fn an_active_run_blocks_whatever_the_cooldown() {
        let runs = Runs { active_run: Some("playbookRuns/r1".into()), last_end: Some(at(1, 0)) };
        assert_eq!(
            check(&runs, TimeDelta::zero(), at(20, 0)),
            Gate::ActiveRun("playbookRuns/r1".into())
        );
    }

    #[test]
    fn the_cooldown_holds_until_exactly_its_end() {
        // Ended 1 March 12:00, cooldown 7 days: blocked until 8 March 12:00, open at it.
        let runs = ended(1, 12);
        let week = TimeDelta::days(7);
        assert_eq!(check(&runs, week, at(8, 11)), Gate::Cooldown { until: at(8, 12) });
        assert_eq!(
            check(&runs, week, at(8, 12) - TimeDelta::seconds(1)),
            Gate::Cooldown { until: at(8, 12) }
        );
        assert_eq!(check(&runs, week, at(8, 12)), Gate::Open);
        assert_eq!(cooldown_end(runs.last_end, week, at(8, 12)), None);
    }

    #[test]
    fn no_ended_run_or_zero_cooldown_is_open() {
        assert_eq!(check(&Runs::default(), TimeDelta::days(30), at(1, 0)), Gate::Open);
        assert_eq!(check(&ended(1, 0), TimeDelta::zero(), at(1, 0)), Gate::Open);
    }

    #[test]
    fn manual_starts_need_an_enabled_playbook_and_no_active_run_but_ignore_the_cooldown() {
        let reason = |r: Result<(), Error>| match r {
            Err(Error::FailedPrecondition { reason, .. }) => reason,
            other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
        };
        assert_eq!(reason(check_manual(false, &Runs::default())), "PLAYBOOK_DISABLED");
        let active = Runs { active_run: Some("playbookRuns/r1".into()), last_end: None };
        assert_eq!(reason(check_manual(true, &active)), "ACTIVE_RUN_EXISTS");
        assert!(check_manual(true, &ended(1, 0)).is_ok(), "a run that just ended does not block");
    }
}
