//! [`RecordSink`]: where the tuner's records go.
//!
//! **Records flow one way: tuner, then sinks.** The tuner makes a round's log records (its
//! trials, then its re-measurements) and hands them, once and in that order, to each of its
//! sinks in the order they were attached ([`Tuner::with_sink`](super::Tuner::with_sink)), then
//! to its [`ReportBuilder`](crate::ReportBuilder). No sink reads another's output: the
//! schedule database is not fed from the log file, and the log is not rebuilt from the
//! database. The sinks of this crate: the [`TuningLog`] (appended and flushed), the
//! [`ScheduleDb`] (committed in one transaction) and the report builder.

use tilegrad_datasets::{Record, ScheduleDb, TuningLog};

use crate::{Result, SearchError};

/// A consumer of the tuner's records (see the [module docs](self)).
pub trait RecordSink {
    /// Takes one round's records (its trials, then its re-measurements), each given once.
    fn record(&mut self, records: &[Record]) -> Result<()>;
}

impl RecordSink for TuningLog {
    /// Appends the records and flushes them.
    fn record(&mut self, records: &[Record]) -> Result<()> {
        self.append(records)
            .map_err(|e| SearchError::Log(e.to_string()))
    }
}

impl RecordSink for ScheduleDb {
    /// Commits the records in one transaction (a record stored already is stored once).
    fn record(&mut self, records: &[Record]) -> Result<()> {
        self.commit_all(records)
            .map(|_| ())
            .map_err(|e| SearchError::Sink(e.to_string()))
    }
}

impl<S: RecordSink + ?Sized> RecordSink for Box<S> {
    fn record(&mut self, records: &[Record]) -> Result<()> {
        (**self).record(records)
    }
}
