//! A temporary directory owning build products and bulk-data files.

use crate::MeasureError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory for sources, shared objects, PTX and data files; removed on drop unless kept.
///
/// File names from [`BuildDir::fresh_path`] are unique within the directory, so a worker never
/// `dlopen`s a stale library under a reused name.
#[derive(Debug)]
pub struct BuildDir {
    dir: tempfile::TempDir,
    counter: AtomicU64,
}

impl BuildDir {
    /// A new directory under the system temp dir.
    pub fn new() -> Result<Self, MeasureError> {
        Ok(Self::wrap(
            tempfile::Builder::new()
                .prefix("tilegrad-build-")
                .tempdir()?,
        ))
    }

    /// A new directory under `parent`.
    pub fn new_in(parent: &Path) -> Result<Self, MeasureError> {
        Ok(Self::wrap(
            tempfile::Builder::new()
                .prefix("tilegrad-build-")
                .tempdir_in(parent)?,
        ))
    }

    fn wrap(dir: tempfile::TempDir) -> Self {
        Self {
            dir,
            counter: AtomicU64::new(0),
        }
    }

    /// Keeps the directory on drop (for inspecting generated code).
    pub fn keep(&mut self) {
        self.dir.disable_cleanup(true);
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path `<dir>/<stem><n>.<ext>` with a number not used before in this directory.
    pub fn fresh_path(&self, stem: &str, ext: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{stem}{n}.{ext}"))
    }
}
