//! The `studio-broker` binary; everything lives in the library.

/// mimalloc rather than the system allocator: a profile of the SageMaker
/// call showed about an eighth of its instructions in `malloc` and `free`,
/// and mimalloc takes 11% off the whole call (see the README's
/// "Performance"). `examples/sdk_floor` uses the same, so that the floor
/// it measures is the broker's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    studio_broker::cli::main()
}
