//! Target selectors accepted by `tg_db_best`.

use tilegrad_symbolic::target::PRESETS;
use tilegrad_symbolic::Target;

/// The target named by `text`: `cpu` (the host CPU, all cores), `cpu:N` (N threads),
/// `cuda` / `cuda:N` (the attached CUDA device N, queried now), or a GPU preset key
/// (`h100-sxm`, `a100`, …; no GPU needed). `Err` carries the reason.
pub fn parse_target(text: &str) -> Result<Target, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "cpu" || t == "host" {
        return Ok(tilegrad_measure::host_cpu(None));
    }
    if let Some(n) = t.strip_prefix("cpu:") {
        let n: u32 = n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("bad thread count in target `{text}`"))?;
        return Ok(tilegrad_measure::host_cpu(Some(n)));
    }
    let ordinal = match t.as_str() {
        "cuda" | "gpu" => Some(Ok(0)),
        _ => t
            .strip_prefix("cuda:")
            .or_else(|| t.strip_prefix("gpu:"))
            .map(|n| n.parse::<usize>()),
    };
    if let Some(n) = ordinal {
        let n = n.map_err(|_| format!("bad device ordinal in target `{text}`"))?;
        let info =
            tilegrad_measure::query_device(n).map_err(|e| format!("CUDA device {n}: {e}"))?;
        return Ok(tilegrad_measure::target_from_device(&info));
    }
    Target::preset(&t).map_err(|_| {
        format!(
            "unknown target `{text}` (use cpu, cpu:N, cuda, cuda:N or a preset: {})",
            PRESETS.join(", ")
        )
    })
}
