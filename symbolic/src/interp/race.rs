//! Data-race detection on shared buffers: between two barriers of a block, an element that
//! one thread writes must not be read or written by another thread.
//!
//! Time is cut into *epochs* (a new one at every barrier and at the start of every thread
//! nest); each shared element remembers the epoch and thread of its last write and of its
//! last read(s). A conflicting access in the same epoch is a race the phase-by-phase
//! execution could otherwise hide (a missing barrier).

/// Several threads read the element in the epoch.
const MANY: u32 = u32::MAX;

/// Kinds of conflicting accesses.
#[derive(Clone, Copy, Debug)]
pub(super) enum Conflict {
    ReadAfterWrite,
    WriteAfterRead,
    WriteAfterWrite,
}

impl Conflict {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Conflict::ReadAfterWrite => "reads an element written by",
            Conflict::WriteAfterRead => "writes an element read by",
            Conflict::WriteAfterWrite => "writes an element written by",
        }
    }
}

#[derive(Clone, Default)]
struct Track {
    w_epoch: Vec<u64>,
    w_tid: Vec<u32>,
    r_epoch: Vec<u64>,
    r_tid: Vec<u32>,
}

/// Access history of the shared buffers.
pub(super) struct Races {
    bufs: Vec<Option<Track>>,
    /// The current epoch.
    pub epoch: u64,
}

impl Races {
    /// Tracks the buffers flagged in `shared` (with their sizes).
    pub(super) fn new(shared: &[bool], sizes: &[usize]) -> Self {
        let bufs = shared
            .iter()
            .zip(sizes)
            .map(|(&s, &n)| {
                s.then(|| Track {
                    w_epoch: vec![0; n],
                    w_tid: vec![0; n],
                    r_epoch: vec![0; n],
                    r_tid: vec![0; n],
                })
            })
            .collect();
        Races { bufs, epoch: 1 }
    }

    /// Records a read of `buf[off]` by thread `tid`; the other thread of a conflict.
    pub(super) fn read(&mut self, buf: usize, off: usize, tid: u32) -> Result<(), (Conflict, u32)> {
        let e = self.epoch;
        let Some(Some(t)) = self.bufs.get_mut(buf) else {
            return Ok(());
        };
        if t.w_epoch[off] == e && t.w_tid[off] != tid {
            return Err((Conflict::ReadAfterWrite, t.w_tid[off]));
        }
        if t.r_epoch[off] == e {
            if t.r_tid[off] != tid {
                t.r_tid[off] = MANY;
            }
        } else {
            t.r_epoch[off] = e;
            t.r_tid[off] = tid;
        }
        Ok(())
    }

    /// Records a write of `buf[off]` by thread `tid`; the other thread of a conflict
    /// (`u32::MAX` when several threads read it).
    pub(super) fn write(
        &mut self,
        buf: usize,
        off: usize,
        tid: u32,
    ) -> Result<(), (Conflict, u32)> {
        let e = self.epoch;
        let Some(Some(t)) = self.bufs.get_mut(buf) else {
            return Ok(());
        };
        if t.w_epoch[off] == e && t.w_tid[off] != tid {
            return Err((Conflict::WriteAfterWrite, t.w_tid[off]));
        }
        if t.r_epoch[off] == e && t.r_tid[off] != tid {
            return Err((Conflict::WriteAfterRead, t.r_tid[off]));
        }
        t.w_epoch[off] = e;
        t.w_tid[off] = tid;
        Ok(())
    }
}
