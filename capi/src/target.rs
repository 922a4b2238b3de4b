//! Target selectors accepted by `tg_db_best`: the grammar of [`tilegrad::target::Selector`]
//! (the CLI's `--target`).

use tilegrad::target::Selector;
use tilegrad_symbolic::Target;

/// The target named by `text` (see [`Selector`]; `cuda[:N]` and `auto` query the attached
/// devices now, a preset needs no GPU). `Err` carries the reason.
pub fn parse_target(text: &str) -> Result<Target, String> {
    text.parse::<Selector>()
        .and_then(|s| s.describe(None))
        .map_err(|e| e.to_string())
}
