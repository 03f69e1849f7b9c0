//! `steward`: run the suite locally and talk to it. See `steward --help`.

fn main() -> std::process::ExitCode {
    steward_cli::main()
}
