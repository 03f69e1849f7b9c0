//! `steward-playbook serve | migrate`: see `--help`.

fn main() -> std::process::ExitCode {
    steward_kit::service::main::<steward_playbook::PlaybookService>()
}
