//! [`AlignedBuf`]: the `f32` buffers a CPU worker hands to kernels.
//!
//! Large buffers start on a 2 MiB boundary, span whole 2 MiB pages and are advised as
//! transparent huge pages (`madvise(MADV_HUGEPAGE)` on Linux, which the default THP setting
//! `madvise` honours). With 4 KiB pages, which cache sets a buffer's lines fall into depends on
//! the physical pages the OS happens to hand out, so one kernel timed in one process and again
//! in the next can differ by half: a 512^3 matmul schedule measured 1.67 ms or 2.5-2.7 ms from
//! one run to the next on a Zen 3 VM, while a huge-page run of it was 2.5-2.7 ms every time. A
//! tuner that keeps its luckiest timing then ranks on noise. Huge pages make the placement the
//! same in every run. Where the advice is refused, the buffer works as a plain one.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// The huge-page size the large buffers are aligned and rounded to.
const HUGE_PAGE: usize = 2 << 20;
/// Buffers from this many bytes on get huge pages.
const HUGE_FROM: usize = 256 << 10;
/// Alignment of every buffer (a cache line, and the widest vector).
const ALIGN: usize = 64;

/// A zero-initialized, 64-byte-aligned `f32` buffer; huge-page backed from 256 KiB on (see
/// the [module docs](self)).
pub struct AlignedBuf {
    ptr: NonNull<f32>,
    len: usize,
    layout: Layout,
}

// SAFETY: the buffer owns its allocation exclusively, like a `Vec<f32>`.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads through `&self`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of `len` zeros.
    pub fn zeros(len: usize) -> Self {
        let bytes = (len.max(1) * 4).next_multiple_of(ALIGN);
        let (size, align) = if bytes >= HUGE_FROM {
            (bytes.next_multiple_of(HUGE_PAGE), HUGE_PAGE)
        } else {
            (bytes, ALIGN)
        };
        let layout = Layout::from_size_align(size, align)
            .unwrap_or_else(|_| handle_alloc_error(Layout::new::<u8>()));
        // SAFETY: `layout` has a non-zero size.
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<f32>()) else {
            handle_alloc_error(layout)
        };
        #[cfg(target_os = "linux")]
        if align == HUGE_PAGE {
            // SAFETY: the range is this allocation, not yet touched; the advice only changes
            // how its pages are backed (an error leaves 4 KiB pages).
            let _ = unsafe { libc::madvise(raw.cast(), size, libc::MADV_HUGEPAGE) };
        }
        // SAFETY: the allocation holds `size >= 4 * len` writable bytes.
        unsafe { std::ptr::write_bytes(raw, 0, size) };
        Self { ptr, len, layout }
    }

    /// A buffer holding a copy of `data`.
    pub fn from_slice(data: &[f32]) -> Self {
        let mut b = Self::zeros(data.len());
        b.as_mut_slice().copy_from_slice(data);
        b
    }

    /// The contents.
    pub fn as_slice(&self) -> &[f32] {
        // SAFETY: the allocation holds `len` initialized, aligned f32 values.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The contents, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        // SAFETY: as in `as_slice`, and `&mut self` guarantees exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeros` with exactly this layout.
        unsafe { dealloc(self.ptr.as_ptr().cast(), self.layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_zeroed_aligned_and_hold_their_data() {
        for len in [0, 1, 17, 65_536, 300_000] {
            let b = AlignedBuf::zeros(len);
            assert_eq!(b.as_slice().len(), len);
            assert!(b.as_slice().iter().all(|&x| x == 0.0));
            assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
            if len * 4 >= HUGE_FROM {
                assert_eq!(b.as_slice().as_ptr() as usize % HUGE_PAGE, 0);
            }
            let data: Vec<f32> = (0..len).map(|i| i as f32).collect();
            assert_eq!(AlignedBuf::from_slice(&data).as_slice(), &data[..]);
        }
    }
}
