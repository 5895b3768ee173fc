//! The `studio-broker` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    studio_broker::cli::main()
}
