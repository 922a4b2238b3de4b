//! [`word_lines`]: the line format task lists and suites share, `<word> <workload>` per line.

use tilegrad_templates::{TemplateError, Workload};

use crate::error::DatasetError;

/// One `<word> <rest>` line of a list.
pub(crate) struct WordLine<'a> {
    /// The list's name, for errors.
    file: &'a str,
    /// 1-based line number.
    number: usize,
    /// The first word.
    pub word: &'a str,
    /// The rest of the line (a workload).
    pub rest: &'a str,
}

impl WordLine<'_> {
    /// A [`DatasetError::TaskLine`] about this line.
    pub fn err(&self, msg: String) -> DatasetError {
        DatasetError::TaskLine {
            file: self.file.into(),
            line: self.number,
            msg,
        }
    }

    /// The workload of the rest of the line; a [`DatasetError::Workload`] about this line if
    /// it does not parse.
    pub fn workload(&self) -> Result<Workload, DatasetError> {
        self.rest.trim().parse().map_err(|e| self.workload_err(e))
    }

    /// A [`DatasetError::Workload`] about this line.
    pub fn workload_err(&self, source: TemplateError) -> DatasetError {
        DatasetError::Workload {
            file: self.file.into(),
            line: self.number,
            source,
        }
    }
}

/// The lines of `text` (`file` names it in errors) split at their first whitespace, blank
/// lines and `#` comments skipped; a line with one word only is a [`DatasetError::TaskLine`]
/// saying `expected`.
pub(crate) fn word_lines<'a>(
    file: &'a str,
    text: &'a str,
    expected: &'a str,
) -> impl Iterator<Item = Result<WordLine<'a>, DatasetError>> + 'a {
    text.lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim()))
        .filter(|(_, line)| !(line.is_empty() || line.starts_with('#')))
        .map(move |(number, line)| {
            let mut out = WordLine {
                file,
                number,
                word: line,
                rest: "",
            };
            match line.split_once(char::is_whitespace) {
                Some((word, rest)) => {
                    (out.word, out.rest) = (word, rest);
                    Ok(out)
                }
                None => Err(out.err(expected.to_string())),
            }
        })
}
