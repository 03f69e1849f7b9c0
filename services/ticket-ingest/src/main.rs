//! `steward-ticket-ingest serve | migrate`: see `--help`.

fn main() -> std::process::ExitCode {
    steward_kit::service::main::<steward_ticket_ingest::TicketIngestService>()
}
