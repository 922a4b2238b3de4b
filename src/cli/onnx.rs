//! ONNX models on the command line: `tilegrad networks model.onnx` and `tilegrad tune
//! model.onnx` (or `--onnx PATH`), with `--input name=1x3x224x224` shapes.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use tilegrad_onnx::Import;

use super::util::BadInput;

/// Whether a positional argument names an ONNX file rather than a workload or network.
pub fn is_model_path(text: &str) -> bool {
    text.to_ascii_lowercase().ends_with(".onnx")
}

/// Reads and imports a model; every failure (unreadable file, bad model, bad `--input`) is
/// [`BadInput`].
pub fn import(path: &Path, inputs: &[String]) -> anyhow::Result<Import> {
    let mut shapes = BTreeMap::new();
    for text in inputs {
        let (name, shape) = tilegrad_onnx::parse_input_shape(text)
            .map_err(anyhow::Error::new)
            .context(BadInput("bad --input".into()))?;
        shapes.insert(name, shape);
    }
    let bytes = std::fs::read(path)
        .with_context(|| BadInput(format!("cannot read the ONNX model {}", path.display())))?;
    let m = tilegrad_onnx::import(&bytes, &shapes)
        .map_err(anyhow::Error::new)
        .with_context(|| BadInput(format!("cannot import the ONNX model {}", path.display())))?;
    for w in &m.warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    Ok(m)
}

/// The untuned operators (count, GFLOP, reason) and the FLOP share the tasks cover.
pub fn print_untuned(m: &Import) {
    if m.untuned.is_empty() {
        println!("untuned: none");
    } else {
        println!(
            "untuned: {} node(s), not covered by any task:",
            m.untuned_nodes()
        );
        println!("{:>6} {:>10}  {:<20}  reason", "count", "GFLOP", "operator");
        for u in &m.untuned {
            println!(
                "{:>6} {:>10.4}  {:<20}  {}",
                u.count,
                u.flops / 1e9,
                u.op,
                if u.reason.is_empty() {
                    "no tilegrad kernel"
                } else {
                    &u.reason
                }
            );
        }
    }
    println!(
        "coverage: the tasks cover {:.1}% of the model's FLOPs ({:.3} of {:.3} GFLOP)",
        100.0 * m.coverage(),
        m.tuned_flops / 1e9,
        (m.tuned_flops + m.untuned_flops) / 1e9
    );
}
