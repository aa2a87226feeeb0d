//! One receive buffer as the front end allocates it (lib/ffi.ts `Batch`):
//! `slots` slots of `slot_size` bytes, with each message's length and
//! stream. Filled by `recv`, written out by `write::write_batch`.

use crate::sys;
use std::ffi::c_int;

pub struct Batch<'a> {
    buf: *mut u8,
    slot_size: usize,
    pub lens: &'a mut [u32],
    pub streams: &'a mut [u8],
}

impl<'a> Batch<'a> {
    /// A batch over the caller's arrays, which must all have room for the
    /// same number of slots; `buf` must hold that many slots of `slot_size`.
    pub fn new(
        buf: &'a mut [u8],
        slot_size: usize,
        lens: &'a mut [u32],
        streams: &'a mut [u8],
    ) -> Result<Self, c_int> {
        let slots = lens.len();
        if streams.len() != slots || slot_size.checked_mul(slots) != Some(buf.len()) {
            return Err(sys::EINVAL);
        }
        Ok(Batch {
            buf: buf.as_mut_ptr(),
            slot_size,
            lens,
            streams,
        })
    }

    pub fn slots(&self) -> usize {
        self.lens.len()
    }

    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Start of slot `i` (< slots()).
    pub fn slot(&self, i: usize) -> *mut u8 {
        debug_assert!(i < self.slots());
        // SAFETY: `new` checked that buf holds slots() slots of slot_size.
        unsafe { self.buf.add(i * self.slot_size) }
    }
}
