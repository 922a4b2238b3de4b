//! Reads the records appended to a tuning log since the last call (the tuner appends one
//! round at a time), so the CLI can commit each round to the schedule database.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use tilegrad_datasets::log::parse_log;
use tilegrad_datasets::Record;

/// A reader of a log's new complete lines.
#[derive(Debug)]
pub struct LogTail {
    path: PathBuf,
    offset: u64,
}

impl LogTail {
    /// Starts at the current end of the file (0 if it does not exist yet).
    pub fn at_end(path: &Path) -> LogTail {
        let offset = std::fs::metadata(path).map_or(0, |m| m.len());
        LogTail {
            path: path.to_path_buf(),
            offset,
        }
    }

    /// The records of the complete lines appended since the last call.
    pub fn read_new(&mut self) -> anyhow::Result<Vec<Record>> {
        let mut f = std::fs::File::open(&self.path)
            .with_context(|| format!("cannot read the log {}", self.path.display()))?;
        f.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let name = format!("{} (from byte {})", self.path.display(), self.offset);
        let contents = parse_log(&name, &bytes[..complete])
            .with_context(|| format!("cannot parse the log {}", self.path.display()))?;
        self.offset += complete as u64;
        Ok(contents.records)
    }
}
