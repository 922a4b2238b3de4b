//! [`RoundArgs`]: how every tuning round runs; the options `tune`, `bench search` and
//! `bench kernels` share.

use clap::Args;
use tilegrad_search::TunerConfig;

/// The round options of a tuning command.
#[derive(Debug, Args)]
pub struct RoundArgs {
    /// Candidates measured per round.
    #[arg(long, value_name = "K", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    pub per_round: u64,
    /// Before a candidate measured faster than the best replaces it, measure both N more
    /// times, alternating, and keep the faster by the median (0: one timing decides). The
    /// re-measurements are logged (`provenance.policy = "confirm"`) but are not trials.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub confirm_best: usize,
    /// Do not measure the sketches' seed schedules first (an analytical model's picks; see
    /// `tilegrad sketches`): the policy alone proposes.
    #[arg(long)]
    pub no_seed_schedules: bool,
}

impl RoundArgs {
    /// The default tuner configuration with these round settings.
    pub fn config(&self) -> TunerConfig {
        TunerConfig {
            per_round: self.per_round as usize,
            confirm_best: self.confirm_best,
            seed_schedules: !self.no_seed_schedules,
            ..TunerConfig::default()
        }
    }
}
