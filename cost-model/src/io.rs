//! Thin path helpers around the byte (de)serialisers: the only file IO in this crate.

use std::path::Path;

use crate::error::{CostModelError, Result};

/// Writes `bytes` to `path`.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| CostModelError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads all of `path`.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| CostModelError::Io {
        path: path.display().to_string(),
        source,
    })
}
