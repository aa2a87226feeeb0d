//! dtee's system shim: the part of dtee that talks to the kernel, behind a
//! plain C ABI (integers, pointers, buffers) for Deno's FFI. `lib/ffi.ts` is
//! its only user and holds the matching symbol table.
//!
//! Conventions of every export: a negative return is `-errno`; a panic is
//! caught at the boundary and returned as `-ENOTRECOVERABLE`, never unwound
//! into the runtime.

// The exports are called only through FFI, where `unsafe fn` means nothing
// to the caller; each one documents the buffers it expects instead.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod environ;
mod failpoints;
mod io;
mod recv;
mod signals;
mod sockets;
mod spawn;
mod sys;

use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::slice;

/// Bumped whenever an export's meaning or signature changes.
pub const ABI_VERSION: u32 = 3;

fn boundary(body: impl FnOnce() -> Result<c_int, c_int>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(errno)) => -errno,
        Err(_) => -sys::ENOTRECOVERABLE,
    }
}

/// Borrows `len` bytes at `ptr`; a null or empty buffer is an empty slice.
///
/// # Safety
/// A non-null `ptr` must be valid for `len` bytes for the borrow's lifetime.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        slice::from_raw_parts(ptr, len)
    }
}

/// # Safety
/// As `bytes`, for writing.
unsafe fn bytes_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], c_int> {
    if ptr.is_null() {
        return Err(sys::EINVAL);
    }
    Ok(slice::from_raw_parts_mut(ptr, len))
}

/// Borrows a NUL-terminated string.
///
/// # Safety
/// `ptr` must be valid for reading up to its NUL.
unsafe fn c_str<'a>(ptr: *const u8) -> Result<&'a CStr, c_int> {
    if ptr.is_null() {
        return Err(sys::EINVAL);
    }
    Ok(CStr::from_ptr(ptr as *const std::ffi::c_char))
}

/// Length of a NUL-terminated buffer including its NUL.
///
/// # Safety
/// `ptr` must be valid for reading up to its NUL.
unsafe fn c_len(ptr: *const u8) -> Result<usize, c_int> {
    Ok(c_str(ptr)?.to_bytes_with_nul().len())
}

#[no_mangle]
pub extern "C" fn dtee_abi_version() -> u32 {
    ABI_VERSION
}

/// Creates the socket directory from the mkdtemp pattern `template`
/// (NUL-terminated, rewritten in place), the input socket and the two
/// output sockets. Out: `fds` = [input, stdout, stderr]; `limits` =
/// [send buffer, receive buffer, largest single write]; on failure `fail`
/// = [who (0 directory, 1 input, 2 stdout, 3 stderr), op (0 open, 1 bind,
/// 2 connect, 3 shutdown)].
#[no_mangle]
pub extern "C" fn dtee_open_sockets(
    template: *mut u8,
    fds: *mut i32,
    limits: *mut i64,
    fail: *mut i32,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes a NUL-terminated writable template and
        // arrays of 3, 3 and 2 elements.
        let (template, fds, limits, fail) = unsafe {
            let len = c_len(template)?;
            (
                bytes_mut(template, len)?,
                bytes_mut(fds, 3)?,
                bytes_mut(limits, 3)?,
                bytes_mut(fail, 2)?,
            )
        };
        match sockets::open(template) {
            Ok(o) => {
                fds.copy_from_slice(&[o.input, o.out, o.err]);
                limits.copy_from_slice(&[o.sndbuf, o.rcvbuf, o.max_write]);
                Ok(0)
            }
            Err(f) => {
                fail.copy_from_slice(&[f.who as i32, f.op as i32]);
                Err(f.errno)
            }
        }
    })
}

/// Spawns the command given as `argc` NUL-terminated words in `words` with
/// `out_fd`/`err_fd` as its fd 1/2. Out: `ids` = [pid, pidfd or -1].
#[no_mangle]
pub extern "C" fn dtee_spawn(
    words: *const u8,
    words_len: usize,
    argc: u32,
    out_fd: i32,
    err_fd: i32,
    ids: *mut i32,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `words_len` readable bytes and 2 ints.
        let (words, ids) = unsafe { (bytes(words, words_len), bytes_mut(ids, 2)?) };
        let argv = spawn::argv(words, argc as usize)?;
        let (pid, pidfd) = spawn::spawn(&argv, out_fd, err_fd)?;
        ids.copy_from_slice(&[pid, pidfd]);
        Ok(0)
    })
}

/// Replaces the process with the command; returns only on failure.
#[no_mangle]
pub extern "C" fn dtee_exec(words: *const u8, words_len: usize, argc: u32) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `words_len` readable bytes.
        let words = unsafe { bytes(words, words_len) };
        let argv = spawn::argv(words, argc as usize)?;
        Err(spawn::exec(&argv))
    })
}

/// Receives up to `slots` queued datagrams into `buf` (`slots` slots of
/// `slot_size` bytes), with each one's length in `lens` and stream in
/// `streams` (1 stdout, 2 stderr, 0 any other sender). Waits up to
/// `timeout_ms` (-1: forever) when nothing is queued. Out: `events` bits
/// 1 = the child's pidfd is readable, 2 = a caught signal is pending.
/// Returns the number of datagrams received.
#[no_mangle]
pub extern "C" fn dtee_recv(
    sock: i32,
    pidfd: i32,
    buf: *mut u8,
    slot_size: u32,
    slots: u32,
    lens: *mut u32,
    streams: *mut u8,
    timeout_ms: i32,
    events: *mut u32,
) -> c_int {
    boundary(|| {
        let slots = (slots as usize).min(recv::MAX_SLOTS);
        // SAFETY: the caller passes a buffer of slots * slot_size bytes,
        // arrays of `slots` elements and one u32.
        let (lens, streams, events) = unsafe {
            (
                bytes_mut(lens, slots)?,
                bytes_mut(streams, slots)?,
                &mut *events,
            )
        };
        if buf.is_null() {
            return Err(sys::EINVAL);
        }
        let mut batch = recv::Batch {
            buf,
            slot_size: slot_size as usize,
            lens,
            streams,
        };
        recv::recv(sock, pidfd, &mut batch, timeout_ms, events).map(|n| n as c_int)
    })
}

/// Writes messages `from..to` of a received batch whose stream bit
/// (1 << stream) is set in `mask` to `fd`, in order. Returns how many
/// messages that was: 0 means nothing was written, not a success.
#[no_mangle]
pub extern "C" fn dtee_write_batch(
    fd: i32,
    buf: *mut u8,
    slot_size: u32,
    lens: *mut u32,
    streams: *mut u8,
    from: u32,
    to: u32,
    mask: u32,
) -> c_int {
    boundary(|| {
        // SAFETY: as for dtee_recv, with `to` elements.
        let (lens, streams) = unsafe {
            (
                bytes_mut(lens, to as usize)?,
                bytes_mut(streams, to as usize)?,
            )
        };
        let batch = recv::Batch {
            buf,
            slot_size: slot_size as usize,
            lens,
            streams,
        };
        io::write_batch(fd, &batch, from as usize, to as usize, mask).map(|n| n as c_int)
    })
}

/// Writes all `len` bytes at `buf` to `fd`.
#[no_mangle]
pub extern "C" fn dtee_write(fd: i32, buf: *const u8, len: usize) -> c_int {
    // SAFETY: the caller passes `len` readable bytes.
    boundary(|| io::write_all(fd, unsafe { bytes(buf, len) }).map(|_| 0))
}

/// waitpid(): returns the pid reaped (0 with `nohang` when none is ready)
/// and stores its raw wait status.
#[no_mangle]
pub extern "C" fn dtee_wait(pid: i32, nohang: i32, status: *mut i32) -> c_int {
    boundary(|| {
        let options = if nohang != 0 { sys::WNOHANG } else { 0 };
        loop {
            // SAFETY: status is checked non-null and points to an int.
            let status = unsafe { bytes_mut(status, 1)? };
            // SAFETY: status[0] is a valid int to write.
            match sys::check(unsafe { sys::waitpid(pid, &mut status[0], options) }) {
                Err(sys::EINTR) => continue,
                other => return other,
            }
        }
    })
}

/// Sets the disposition of `sig`: 0 default, 1 ignore, 2 catch (the
/// signal becomes pending and wakes dtee_recv).
#[no_mangle]
pub extern "C" fn dtee_signal_set(sig: i32, disposition: i32) -> c_int {
    boundary(|| signals::set(sig, disposition).map(|_| 0))
}

/// The lowest caught signal still pending (now taken), or 0.
#[no_mangle]
pub extern "C" fn dtee_signal_take() -> c_int {
    boundary(|| Ok(signals::take()))
}

/// Sends `sig` to the calling thread, as a caught signal it is then pending
/// like one from outside (a broken pipe on dtee's own output is reported
/// through the same path as a SIGPIPE sent by someone else).
#[no_mangle]
pub extern "C" fn dtee_signal_raise(sig: i32) -> c_int {
    // SAFETY: plain library call.
    boundary(|| sys::check(unsafe { sys::raise(sig) }))
}

/// Sends `sig` to process `pid` (an init process forwarding a signal).
#[no_mangle]
pub extern "C" fn dtee_kill(pid: i32, sig: i32) -> c_int {
    // SAFETY: plain system call.
    boundary(|| sys::check(unsafe { sys::kill(pid, sig) }))
}

/// Makes dtee the parent of its descendants' orphans (as an init process is
/// by nature), so that it can reap them.
#[no_mangle]
pub extern "C" fn dtee_set_subreaper() -> c_int {
    // SAFETY: prctl with integer arguments.
    boundary(|| {
        sys::check(unsafe { sys::prctl(sys::PR_SET_CHILD_SUBREAPER, 1 as std::ffi::c_ulong) })
    })
}

/// Dies by `sig` with its default action; returns only if that action
/// does not end the process.
#[no_mangle]
pub extern "C" fn dtee_die(sig: i32) -> c_int {
    boundary(|| signals::die(sig).map(|_| 0))
}

/// Opens an output file (append or truncate, 0666 less umask, close-on-exec,
/// no controlling tty). Returns the descriptor.
#[no_mangle]
pub extern "C" fn dtee_open_output(path: *const u8, append: i32) -> c_int {
    // SAFETY: the caller passes a NUL-terminated path.
    boundary(|| io::open_output(unsafe { c_str(path)? }, append != 0))
}

/// Creates and unlinks the cron-mode buffer file from the mkostemp pattern
/// `template` (NUL-terminated, rewritten in place). Returns the descriptor.
#[no_mangle]
pub extern "C" fn dtee_temp_file(template: *mut u8) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes a NUL-terminated writable template.
        let template = unsafe { bytes_mut(template, c_len(template)?)? };
        io::temp_file(template)
    })
}

/// Copies the first `limit` bytes of the buffer file `src` to `dst`. On
/// failure `stage` = 0 seek, 1 read, 2 write.
#[no_mangle]
pub extern "C" fn dtee_replay(src: i32, dst: i32, limit: u64, stage: *mut i32) -> c_int {
    boundary(|| {
        io::replay(src, dst, limit)
            .map(|_| 0)
            .map_err(|(step, errno)| {
                if !stage.is_null() {
                    // SAFETY: checked non-null; the caller passes one int.
                    unsafe { *stage = step };
                }
                errno
            })
    })
}

#[no_mangle]
pub extern "C" fn dtee_set_blocking(fd: i32) -> c_int {
    boundary(|| io::set_blocking(fd).map(|_| 0))
}

#[no_mangle]
pub extern "C" fn dtee_close(fd: i32) -> c_int {
    boundary(|| io::close(fd).map(|_| 0))
}

/// 1 when writes to `b` may be merged into writes to `a` without any reader
/// seeing a difference (the same description, or the same terminal, pipe,
/// socket or appended file), else 0.
#[no_mangle]
pub extern "C" fn dtee_same_destination(a: i32, b: i32) -> c_int {
    boundary(|| Ok(io::same_destination(a, b) as c_int))
}

/// 1 when `fd` is a socket that keeps write boundaries (each message must
/// then be written on its own), else 0.
#[no_mangle]
pub extern "C" fn dtee_keeps_boundaries(fd: i32) -> c_int {
    boundary(|| Ok(io::keeps_boundaries(fd) as c_int))
}

/// Opens /dev/null on whichever of fds 0-2 are closed and makes those that
/// were closed when dtee started close-on-exec; returns the mask of those
/// opened.
#[no_mangle]
pub extern "C" fn dtee_ensure_std_fds() -> c_int {
    boundary(io::ensure_std_fds)
}

/// strerror(3) text of `errnum` into `buf` (up to `cap` bytes); returns its length.
#[no_mangle]
pub extern "C" fn dtee_strerror(errnum: i32, buf: *mut u8, cap: usize) -> c_int {
    // SAFETY: the caller passes `cap` writable bytes.
    boundary(|| Ok(io::strerror(errnum, unsafe { bytes_mut(buf, cap)? }) as c_int))
}

/// strsignal(3) text of `sig` into `buf` (up to `cap` bytes); returns its length.
#[no_mangle]
pub extern "C" fn dtee_strsignal(sig: i32, buf: *mut u8, cap: usize) -> c_int {
    // SAFETY: the caller passes `cap` writable bytes.
    boundary(|| Ok(io::strsignal(sig, unsafe { bytes_mut(buf, cap)? }) as c_int))
}

/// /proc/self/cmdline (every argument as the kernel holds it, each followed
/// by a NUL) into `buf` (up to `cap` bytes); returns its whole length, which
/// is larger than `cap` when the buffer was too small.
#[no_mangle]
pub extern "C" fn dtee_cmdline(buf: *mut u8, cap: usize) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `cap` writable bytes.
        let out = unsafe { bytes_mut(buf, cap)? };
        let all = std::fs::read("/proc/self/cmdline")
            .map_err(|e| e.raw_os_error().unwrap_or(sys::EIO))?;
        let n = all.len().min(out.len());
        out[..n].copy_from_slice(&all[..n]);
        Ok(all.len() as c_int)
    })
}
