//! The measurement worker executable: hosts [`tilegrad_measure::worker_main`].

fn main() {
    std::process::exit(tilegrad_measure::worker_main());
}
