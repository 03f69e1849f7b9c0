//! `steward-health-scoring serve | migrate`: see `--help`.

fn main() -> std::process::ExitCode {
    steward_kit::service::main::<steward_health_scoring::HealthScoringService>()
}
