//! The cron-mode buffer file written out (docs/behaviour.md A4): what was
//! held, in the order it was held, to each piece's destination.

use crate::abi::replay_stage;
use crate::failable;
use crate::sys;
use crate::write::write_all;
use std::ffi::{c_int, c_void};

/// Why writing out the buffer file failed: the step (`abi::replay_stage`)
/// and its errno.
pub struct ReplayError {
    pub stage: c_int,
    pub errno: c_int,
    /// The destination a WRITE failed on (else -1), for the message to name.
    pub dst: c_int,
}

/// The most read and written at a time, unless a piece must go whole.
const CHUNK: u64 = 256 << 10;

fn failed(stage: c_int, errno: c_int) -> ReplayError {
    ReplayError {
        stage,
        errno,
        dst: -1,
    }
}

/// Copies the buffer file `src` from its start: piece i (`pieces[i]` bytes)
/// to `dsts[i]`, in large writes, or with `whole` each piece in a write of
/// its own (a destination that keeps message boundaries: an outer dtee).
/// Cron mode holds stdout alone, or with --failures-only both streams in
/// turn: a piece is then a run of one stream's messages.
pub fn replay(src: c_int, pieces: &[u64], dsts: &[c_int], whole: bool) -> Result<(), ReplayError> {
    // SAFETY: plain system call.
    if unsafe { failable::lseek(src, 0, sys::SEEK_SET) } < 0 {
        return Err(failed(replay_stage::SEEK, sys::errno()));
    }
    let largest = pieces.iter().copied().max().unwrap_or(0);
    let chunk = if whole { largest } else { largest.min(CHUNK) };
    let mut buf = vec![0u8; chunk as usize];
    for (&len, &dst) in pieces.iter().zip(dsts) {
        let mut left = len;
        while left > 0 {
            let n = chunk.min(left) as usize;
            read_exact(src, &mut buf[..n])?;
            write_all(dst, &buf[..n]).map_err(|e| ReplayError {
                dst,
                ..failed(replay_stage::WRITE, e)
            })?;
            left -= n as u64;
        }
    }
    Ok(())
}

/// Fills `buf` from `src`; the file ending first is EIO (it is shorter than
/// what was written to it).
fn read_exact(src: c_int, buf: &mut [u8]) -> Result<(), ReplayError> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: buf is writable from `done` to its end.
        let n = unsafe {
            sys::read(
                src,
                buf[done..].as_mut_ptr() as *mut c_void,
                buf.len() - done,
            )
        };
        match n {
            0 => return Err(failed(replay_stage::READ, sys::EIO)),
            _ if n < 0 => match sys::errno() {
                sys::EINTR => continue,
                e => return Err(failed(replay_stage::READ, e)),
            },
            _ => done += n as usize,
        }
    }
    Ok(())
}
