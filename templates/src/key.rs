//! `WorkloadKey`: a stable 64-bit hash of a workload's canonical text.
//!
//! Algorithm (fixed forever, so keys stay valid across runs, machines and
//! releases): 64-bit FNV-1a over the UTF-8 bytes of the canonical text,
//! offset basis `0xcbf29ce484222325`, prime `0x100000001b3`, i.e.
//! `h = basis; for b in bytes { h = (h ^ b) * prime mod 2^64 }`.
//! Printed as 16 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use crate::error::TemplateError;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The stable key of a workload (FNV-1a 64 of its canonical text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadKey(pub u64);

impl WorkloadKey {
    /// FNV-1a 64 of `text` (no canonicalisation: pass canonical text, or
    /// use `Workload::key`).
    pub fn of_text(text: &str) -> WorkloadKey {
        let mut h = FNV_OFFSET;
        for &b in text.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        WorkloadKey(h)
    }
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for WorkloadKey {
    type Err = TemplateError;
    fn from_str(s: &str) -> Result<Self, TemplateError> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TemplateError::InvalidKey(s.into()));
        }
        u64::from_str_radix(s, 16)
            .map(WorkloadKey)
            .map_err(|_| TemplateError::InvalidKey(s.into()))
    }
}

impl serde::Serialize for WorkloadKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for WorkloadKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
