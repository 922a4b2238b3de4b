//! Inputs and reference outputs cached inside the worker across candidates of one problem.

use crate::protocol::{read_f32_file, TaskCommon};
use crate::verify::AlignedBuf;
use crate::{input_data, MeasureError, WrongKind};
use std::path::PathBuf;

/// The worker's cache: regenerating inputs or re-reading the reference per candidate would
/// dominate the overhead for short kernels.
#[derive(Default)]
pub(crate) struct DataCache {
    inputs_key: Option<(u64, Vec<usize>)>,
    inputs: Vec<AlignedBuf>,
    checksums: Vec<u64>,
    expected_path: Option<PathBuf>,
    expected: Vec<f32>,
}

fn checksum(data: &[f32]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(x.to_bits())).wrapping_mul(0x0100_0000_01b3)
    })
}

impl DataCache {
    /// Makes the inputs and reference of `task` current.
    pub(crate) fn prepare(&mut self, task: &TaskCommon) -> Result<(), MeasureError> {
        let key = (task.seed, task.io.input_lens.clone());
        if self.inputs_key.as_ref() != Some(&key) {
            self.inputs = input_data(task.seed, &task.io.input_lens)
                .iter()
                .map(|v| AlignedBuf::from_slice(v))
                .collect();
            self.checksums = self.inputs.iter().map(|b| checksum(b.as_slice())).collect();
            self.inputs_key = Some(key);
        }
        if self.expected_path.as_ref() != Some(&task.expected_path) {
            self.expected = read_f32_file(&task.expected_path)
                .map_err(|e| MeasureError::Io(format!("reading reference: {e}")))?;
            self.expected_path = Some(task.expected_path.clone());
        }
        if self.expected.len() != task.io.output_len {
            return Err(MeasureError::Invalid(format!(
                "reference has {} elements, output_len is {}",
                self.expected.len(),
                task.io.output_len
            )));
        }
        Ok(())
    }

    /// The current inputs.
    pub(crate) fn inputs(&self) -> &[AlignedBuf] {
        &self.inputs
    }

    /// The current reference output.
    pub(crate) fn expected(&self) -> &[f32] {
        &self.expected
    }

    /// Fails (and drops the cached inputs) if the host input buffers changed: the kernel wrote
    /// into an input.
    pub(crate) fn check_inputs(&mut self) -> Result<(), MeasureError> {
        let bad = self
            .inputs
            .iter()
            .zip(&self.checksums)
            .position(|(d, &c)| checksum(d.as_slice()) != c);
        self.fail_if(bad)
    }

    /// Same check for copies of the inputs read back from a device.
    pub(crate) fn check_inputs_copy(&mut self, current: &[Vec<f32>]) -> Result<(), MeasureError> {
        let bad = current
            .iter()
            .zip(&self.checksums)
            .position(|(d, &c)| checksum(d) != c);
        self.fail_if(bad)
    }

    fn fail_if(&mut self, bad: Option<usize>) -> Result<(), MeasureError> {
        match bad {
            None => Ok(()),
            Some(i) => {
                self.inputs_key = None;
                Err(MeasureError::WrongAnswer {
                    kind: WrongKind::InputModified,
                    max_abs_err: 0.0,
                    max_rel_err: 0.0,
                    first_bad_index: i as i64,
                })
            }
        }
    }
}
