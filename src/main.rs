//! The `tilegrad` command-line tool. See `tilegrad --help`.
//!
//! Exit codes: 0 success, 1 the work failed (e.g. every candidate failed, no CUDA device),
//! 2 bad usage or bad input (clap's usage errors, a malformed workload, an unknown sketch,
//! network or target).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The measurement worker speaks a line protocol on stdin/stdout: start it before anything
    // else can print.
    if std::env::args().nth(1).as_deref() == Some(cli::WORKER_ARG) {
        let code = tilegrad_measure::worker_main();
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if e.downcast_ref::<cli::BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
