//! dtee's system shim: the part of dtee that talks to the kernel, behind a
//! plain C ABI (integers, pointers, buffers) for Deno's FFI. `lib/ffi.ts` is
//! its only user and holds the matching symbol table.
//!
//! Conventions of every export: a negative return is `-errno`; a null (or
//! misaligned) pointer is `-EINVAL`, whatever the length given with it; a
//! panic is caught at the boundary and returned as `-ENOTRECOVERABLE`, never
//! unwound into the runtime. The numbers the front end interprets are those
//! of `abi.rs`, from which `lib/abi.ts` is generated.

// The exports are called only through FFI, where `unsafe fn` means nothing
// to the caller; each one documents the buffers it expects instead.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod abi;
mod batch;
mod environ;
mod failable;
mod failpoints;
mod files;
mod handover;
mod held;
mod identity;
mod job;
mod locale;
mod localtime;
mod recv;
mod signals;
mod sockets;
mod spawn;
mod sys;
mod timer;
mod write;

use abi::spawn_stage;
use batch::Batch;
use std::ffi::{c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::slice;

pub use abi::ABI_VERSION;

fn boundary(body: impl FnOnce() -> Result<c_int, c_int>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(errno)) => -errno,
        Err(_) => -sys::ENOTRECOVERABLE,
    }
}

/// The one check every pointer from the caller passes: null (or misaligned
/// for its type) is EINVAL, whatever the length.
fn valid<T>(ptr: *const T) -> Result<(), c_int> {
    if ptr.is_null() || !ptr.is_aligned() {
        return Err(sys::EINVAL);
    }
    Ok(())
}

/// Borrows `len` elements at `ptr`.
///
/// # Safety
/// A valid `ptr` must point to `len` readable elements for the borrow's lifetime.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], c_int> {
    valid(ptr)?;
    Ok(slice::from_raw_parts(ptr, len))
}

/// As `slice`, for writing.
///
/// # Safety
/// A valid `ptr` must point to `len` writable elements for the borrow's lifetime.
unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], c_int> {
    valid(ptr)?;
    Ok(slice::from_raw_parts_mut(ptr, len))
}

/// Borrows a NUL-terminated string.
///
/// # Safety
/// A valid `ptr` must be readable up to its NUL.
unsafe fn c_str<'a>(ptr: *const u8) -> Result<&'a CStr, c_int> {
    valid(ptr)?;
    Ok(CStr::from_ptr(ptr as *const std::ffi::c_char))
}

/// A NUL-terminated buffer, NUL included, for writing in place.
///
/// # Safety
/// A valid `ptr` must be readable and writable up to its NUL.
unsafe fn c_buf<'a>(ptr: *mut u8) -> Result<&'a mut [u8], c_int> {
    let len = c_str(ptr)?.to_bytes_with_nul().len();
    slice_mut(ptr, len)
}

#[no_mangle]
pub extern "C" fn dtee_abi_version() -> u32 {
    ABI_VERSION
}

/// Creates the socket directory from the mkdtemp pattern `template`
/// (NUL-terminated, rewritten in place), the input socket and the two
/// output sockets. Out: `fds` = [input, stdout, stderr]; `limits` =
/// [send buffer, receive buffer, largest single write]; on failure `fail`
/// = [who (`abi::socket_who`), op (`abi::socket_op`)].
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
            (
                c_buf(template)?,
                slice_mut(fds, 3)?,
                slice_mut(limits, 3)?,
                slice_mut(fail, 2)?,
            )
        };
        match sockets::open(template) {
            Ok(o) => {
                fds.copy_from_slice(&[o.input, o.out, o.err]);
                limits.copy_from_slice(&[o.sndbuf, o.rcvbuf, o.max_write]);
                Ok(0)
            }
            Err(f) => {
                fail.copy_from_slice(&[f.who, f.op]);
                Err(f.errno)
            }
        }
    })
}

/// Starts the command given as `argc` NUL-terminated words in `words` with
/// `out_fd`/`err_fd` as its fd 1/2, found and run as execvp(3) would;
/// `flags`: bits of `abi::spawn_flag`.
/// Out: `ids` = [pid, pidfd or -1, stage]; stage (`abi::spawn_stage`) says
/// what failed when the result is negative, and is NONE otherwise.
#[no_mangle]
pub extern "C" fn dtee_spawn(
    words: *const u8,
    words_len: usize,
    argc: u32,
    out_fd: i32,
    err_fd: i32,
    flags: u32,
    ids: *mut i32,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `words_len` readable bytes and 3 ints.
        let (words, ids) = unsafe { (slice(words, words_len)?, slice_mut(ids, 3)?) };
        ids.copy_from_slice(&[-1, -1, spawn_stage::NONE]);
        let program = spawn::Program::new(words, argc as usize)?;
        let own_group = flags & abi::spawn_flag::OWN_GROUP != 0;
        match spawn::spawn(program, out_fd, err_fd, own_group) {
            Ok(started) => {
                ids[..2].copy_from_slice(&[started.pid, started.pidfd]);
                Ok(0)
            }
            Err(failed) => {
                ids[2] = failed.stage;
                Err(failed.errno)
            }
        }
    })
}

/// Gives the command (`dtee_spawn`, `dtee_exec`) the variable `entry`
/// (NUL-terminated `NAME=VALUE`), combined with the value it would inherit
/// as `join` (`abi::env_join`) says: `-L` only, since by default the
/// command inherits dtee's environment byte for byte (docs/behaviour.md A7).
#[no_mangle]
pub extern "C" fn dtee_env_add(entry: *const u8, join: i32) -> c_int {
    // SAFETY: the caller passes a NUL-terminated string.
    boundary(|| environ::add(unsafe { c_str(entry)? }.to_bytes(), join).map(|_| 0))
}

/// Replaces the process with the command, found and run as execvp(3)
/// would; returns only on failure (always the exec stage).
#[no_mangle]
pub extern "C" fn dtee_exec(words: *const u8, words_len: usize, argc: u32) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `words_len` readable bytes.
        let words = unsafe { slice(words, words_len)? };
        let mut program = spawn::Program::new(words, argc as usize)?;
        Err(spawn::exec(&mut program))
    })
}

/// Receives up to `slots` queued datagrams into `buf` (`slots` slots of
/// `slot_size` bytes), with each one's length in `lens`, stream in
/// `streams` (`abi::stream`) and the time the kernel queued it in `times`
/// (nanoseconds since the Unix epoch, 0 when unknown). Waits up to
/// `timeout_ms` (-1: forever) when nothing is queued. Out: `events`, bits
/// of `abi::event`. Returns the number of datagrams received.
#[no_mangle]
pub extern "C" fn dtee_recv(
    sock: i32,
    pidfd: i32,
    buf: *mut u8,
    slot_size: u32,
    slots: u32,
    lens: *mut u32,
    streams: *mut u8,
    times: *mut i64,
    timeout_ms: i32,
    events: *mut u32,
) -> c_int {
    boundary(|| {
        let slots = (slots as usize).min(recv::MAX_SLOTS);
        let bytes = (slot_size as usize).checked_mul(slots).ok_or(sys::EINVAL)?;
        // SAFETY: the caller passes a buffer of slots * slot_size bytes,
        // arrays of `slots` elements and one u32.
        let (buf, lens, streams, times, events) = unsafe {
            (
                slice_mut(buf, bytes)?,
                slice_mut(lens, slots)?,
                slice_mut(streams, slots)?,
                slice_mut(times, slots)?,
                &mut slice_mut(events, 1)?[0],
            )
        };
        let mut batch = Batch::new(buf, slot_size as usize, lens, streams)?;
        recv::recv(sock, pidfd, &mut batch, times, timeout_ms, events).map(|n| n as c_int)
    })
}

/// Writes messages `from..to` of a received batch whose stream bit
/// (`abi::mask`: 1 << stream) is set in `mask` to `fd`, in order; a
/// zero-length message is a zero-length write when it is the only one
/// (docs/behaviour.md A7). Returns how many messages that was: 0 means
/// nothing was written, not a success. On failure `done` = the index of
/// the message being written then (all wanted ones before it went out whole).
/// -EINTR: a signal caught with `disposition::INTERRUPT` is pending (or dtee
/// is stopping and the reader stalled); it stays pending for the caller.
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
    done: *mut u32,
) -> c_int {
    boundary(|| {
        let bytes = (slot_size as usize)
            .checked_mul(to as usize)
            .ok_or(sys::EINVAL)?;
        // SAFETY: as for dtee_recv, with `to` slots, and one u32.
        let (buf, lens, streams, done) = unsafe {
            (
                slice_mut(buf, bytes)?,
                slice_mut(lens, to as usize)?,
                slice_mut(streams, to as usize)?,
                slice_mut(done, 1)?,
            )
        };
        let batch = Batch::new(buf, slot_size as usize, lens, streams)?;
        write::write_batch(fd, &batch, from as usize, to as usize, mask)
            .map(|n| n as c_int)
            .map_err(|failed| {
                done[0] = failed.at as u32;
                failed.errno
            })
    })
}

/// Writes all `len` bytes at `buf` to `fd`; -EINTR as for `dtee_write_batch`.
#[no_mangle]
pub extern "C" fn dtee_write(fd: i32, buf: *const u8, len: usize) -> c_int {
    // SAFETY: the caller passes `len` readable bytes.
    boundary(|| write::write_all(fd, unsafe { slice(buf, len)? }).map(|_| 0))
}

/// waitpid(): returns the pid reaped (0 with `nohang` when none is ready)
/// and stores its raw wait status.
#[no_mangle]
pub extern "C" fn dtee_wait(pid: i32, nohang: i32, status: *mut i32) -> c_int {
    boundary(|| {
        let options = if nohang != 0 { sys::WNOHANG } else { 0 };
        // SAFETY: the caller passes one int.
        let status = unsafe { &mut slice_mut(status, 1)?[0] };
        loop {
            // SAFETY: status is a valid int to write.
            match sys::check(unsafe { failable::waitpid(pid, status, options) }) {
                Err(sys::EINTR) => continue,
                other => return other,
            }
        }
    })
}

/// Sets the disposition of `sig` (`abi::disposition`); catching it or
/// restoring its default also unblocks it in the calling thread, as a
/// signal blocked when dtee started must not stay blocked
/// (docs/behaviour.md A7).
#[no_mangle]
pub extern "C" fn dtee_signal_set(sig: i32, disposition: i32) -> c_int {
    boundary(|| signals::set(sig, disposition).map(|_| 0))
}

/// Unblocks `sig` in the calling thread without changing its disposition:
/// outside cron mode a signal dtee keeps at its default action (or that it
/// inherited ignored) must not stay blocked either (docs/behaviour.md A5, A7).
#[no_mangle]
pub extern "C" fn dtee_signal_unblock(sig: i32) -> c_int {
    boundary(|| signals::unblock(sig).map(|_| 0))
}

/// dtee is going the interrupted way: from now on its writes give up when
/// the reader makes no room for a while, instead of waiting for it.
#[no_mangle]
pub extern "C" fn dtee_signal_stopping() -> c_int {
    boundary(|| {
        signals::set_stopping();
        Ok(0)
    })
}

/// 1 when `sig` was ignored (SIG_IGN) when dtee started, else 0: dtee
/// does not catch such a signal only to die by it (docs/behaviour.md B3).
#[no_mangle]
pub extern "C" fn dtee_signal_ignored(sig: i32) -> c_int {
    boundary(|| signals::ignored_at_start(sig).map(c_int::from))
}

/// The lowest caught signal still pending (now taken), or 0.
#[no_mangle]
pub extern "C" fn dtee_signal_take() -> c_int {
    boundary(|| Ok(signals::take()))
}

/// Sends `sig` to process `pid` (an init process forwarding a signal).
#[no_mangle]
pub extern "C" fn dtee_kill(pid: i32, sig: i32) -> c_int {
    // SAFETY: plain system call.
    boundary(|| sys::check(unsafe { sys::kill(pid, sig) }))
}

/// Sends `sig` to the process group of the command `pid` (started with
/// `spawn_flag::OWN_GROUP`) and to the command itself, then SIGCONT unless
/// `sig` is SIGKILL; a group that is gone is no error.
#[no_mangle]
pub extern "C" fn dtee_signal_group(pid: i32, sig: i32) -> c_int {
    boundary(|| job::signal(pid, sig).map(|_| 0))
}

/// Gives the terminal back to dtee's own process group if the command's
/// group took its foreground at spawn; later calls do nothing.
#[no_mangle]
pub extern "C" fn dtee_terminal_restore() -> c_int {
    boundary(|| {
        job::restore_terminal();
        Ok(0)
    })
}

/// After a SIGCHLD: 1 when the command `pid` had stopped while its group
/// held the terminal (Ctrl-Z), and dtee stopped and was continued in turn
/// (`job::follow_stop`), else 0.
#[no_mangle]
pub extern "C" fn dtee_job_follow_stop(pid: i32) -> c_int {
    boundary(|| Ok(job::follow_stop(pid) as c_int))
}

/// Sets the time limit's deadline `ns` nanoseconds from now (0: none);
/// `dtee_recv` reports `event::TIMER` once it has passed.
#[no_mangle]
pub extern "C" fn dtee_timer_set(ns: i64) -> c_int {
    boundary(|| {
        timer::set(ns);
        Ok(0)
    })
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

/// Dies by `sig` with its default action, even when it is blocked; returns
/// only if that action does not end the process.
#[no_mangle]
pub extern "C" fn dtee_die(sig: i32) -> c_int {
    boundary(|| signals::die(sig).map(|_| 0))
}

/// Opens an output file (append or truncate, 0666 less umask, close-on-exec,
/// no controlling tty). Returns the descriptor.
#[no_mangle]
pub extern "C" fn dtee_open_output(path: *const u8, append: i32) -> c_int {
    // SAFETY: the caller passes a NUL-terminated path.
    boundary(|| files::open_output(unsafe { c_str(path)? }, append != 0))
}

/// Opens a file to read (a log to replay). Returns the descriptor.
#[no_mangle]
pub extern "C" fn dtee_open_input(path: *const u8) -> c_int {
    // SAFETY: the caller passes a NUL-terminated path.
    boundary(|| files::open_input(unsafe { c_str(path)? }))
}

/// Reads up to `cap` bytes from `fd` into `buf`; returns how many (0 at the end).
#[no_mangle]
pub extern "C" fn dtee_read(fd: i32, buf: *mut u8, cap: usize) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `cap` writable bytes.
        let buf = unsafe { slice_mut(buf, cap.min(c_int::MAX as usize))? };
        files::read(fd, buf).map(|n| n as c_int)
    })
}

/// Moves `fd`'s offset to `offset` bytes from the start; -ESPIPE for a pipe.
#[no_mangle]
pub extern "C" fn dtee_seek(fd: i32, offset: u64) -> c_int {
    boundary(|| files::seek(fd, offset).map(|_| 0))
}

/// Waits up to `timeout_ms` for a caught signal: 1 when one is pending, else 0.
#[no_mangle]
pub extern "C" fn dtee_pause(timeout_ms: i32) -> c_int {
    boundary(|| recv::pause(timeout_ms).map(c_int::from))
}

/// Creates and unlinks the cron-mode buffer file from the mkostemp pattern
/// `template` (NUL-terminated, rewritten in place). Returns the descriptor.
#[no_mangle]
pub extern "C" fn dtee_temp_file(template: *mut u8) -> c_int {
    // SAFETY: the caller passes a NUL-terminated writable template.
    boundary(|| files::temp_file(unsafe { c_buf(template)? }))
}

/// Copies the buffer file `src` from its start: the `count` pieces of
/// `pieces` (byte counts), piece i to `dsts[i]`, in large writes, or with
/// `whole` each piece in a write of its own. On failure `stage[0]` = the
/// step that failed (`abi::replay_stage`) and `stage[1]` = the destination
/// a WRITE failed on (else -1); a WRITE that fails with -EINTR was stopped
/// as `dtee_write_batch` is.
#[no_mangle]
pub extern "C" fn dtee_replay(
    src: i32,
    pieces: *const u64,
    dsts: *const i32,
    count: u32,
    whole: i32,
    stage: *mut i32,
) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `count` u64s, `count` ints and two ints.
        let (pieces, dsts, stage) = unsafe {
            (
                slice(pieces, count as usize)?,
                slice(dsts, count as usize)?,
                slice_mut(stage, 2)?,
            )
        };
        held::replay(src, pieces, dsts, whole != 0)
            .map(|_| 0)
            .map_err(|failed| {
                stage[0] = failed.stage;
                stage[1] = failed.dst;
                failed.errno
            })
    })
}

#[no_mangle]
pub extern "C" fn dtee_set_blocking(fd: i32) -> c_int {
    boundary(|| files::set_blocking(fd).map(|_| 0))
}

#[no_mangle]
pub extern "C" fn dtee_close(fd: i32) -> c_int {
    boundary(|| files::close(fd).map(|_| 0))
}

/// 1 when writes to `b` may be merged into writes to `a` without any reader
/// seeing a difference (the same description, or the same terminal, pipe,
/// socket or appended file), else 0.
#[no_mangle]
pub extern "C" fn dtee_same_destination(a: i32, b: i32) -> c_int {
    boundary(|| Ok(identity::same_destination(a, b) as c_int))
}

/// What `fd` leads to: `info` = [device, inode, size]; returns its kind
/// (`abi::fd_kind`, plus KEEPS_BOUNDARIES for a datagram socket).
#[no_mangle]
pub extern "C" fn dtee_fd_info(fd: i32, info: *mut u64) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes 3 u64s.
        let info = unsafe { slice_mut(info, 3)? };
        identity::fd_info(fd, info)
    })
}

/// What `path` names (symlinks followed), without opening it: as
/// `dtee_fd_info`, without KEEPS_BOUNDARIES.
#[no_mangle]
pub extern "C" fn dtee_path_info(path: *const u8, info: *mut u64) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes a NUL-terminated path and 3 u64s.
        let (path, info) = unsafe { (c_str(path)?, slice_mut(info, 3)?) };
        identity::path_info(path, info)
    })
}

/// Opens /dev/null on whichever of fds 0-2 are closed and makes those that
/// were closed when dtee started close-on-exec; returns the mask of those
/// opened.
#[no_mangle]
pub extern "C" fn dtee_ensure_std_fds() -> c_int {
    boundary(files::ensure_std_fds)
}

/// strerror(3) text of `errnum` in the user's locale (docs/behaviour.md A6)
/// into `buf` (up to `cap` bytes); returns its length.
#[no_mangle]
pub extern "C" fn dtee_strerror(errnum: i32, buf: *mut u8, cap: usize) -> c_int {
    // SAFETY: the caller passes `cap` writable bytes.
    boundary(|| Ok(locale::strerror(errnum, unsafe { slice_mut(buf, cap)? }) as c_int))
}

/// strsignal(3) text of `sig` in the user's locale into `buf` (up to `cap`
/// bytes); returns its length.
#[no_mangle]
pub extern "C" fn dtee_strsignal(sig: i32, buf: *mut u8, cap: usize) -> c_int {
    // SAFETY: the caller passes `cap` writable bytes.
    boundary(|| Ok(locale::strsignal(sig, unsafe { slice_mut(buf, cap)? }) as c_int))
}

/// The name of the LC_MESSAGES locale those texts follow (`en_US.UTF-8`,
/// `C`...) into `buf` (up to `cap` bytes); returns its length.
#[no_mangle]
pub extern "C" fn dtee_messages_locale(buf: *mut u8, cap: usize) -> c_int {
    // SAFETY: the caller passes `cap` writable bytes.
    boundary(|| Ok(locale::messages_name(unsafe { slice_mut(buf, cap)? }) as c_int))
}

/// dtee's own command line, argv[0] first, each word followed by a NUL
/// (rust/src/environ.rs: the native launcher's words, else the last `argc`
/// words of /proc/self/cmdline after argv[0]) into `buf` (up to `cap`
/// bytes); returns its whole length, which is larger than `cap` when the
/// buffer was too small.
#[no_mangle]
pub extern "C" fn dtee_invocation(buf: *mut u8, cap: usize, argc: u32) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes `cap` writable bytes.
        let out = unsafe { slice_mut(buf, cap)? };
        let all = environ::invocation(argc as usize)?;
        let n = all.len().min(out.len());
        out[..n].copy_from_slice(&all[..n]);
        Ok(all.len() as c_int)
    })
}

/// The local time of `t` (seconds since the epoch) under TZ, as localtime_r(3)
/// gives it: `fields[10]` (see localtime.rs) and the zone's abbreviation into
/// `zone` (up to `cap` bytes); returns the abbreviation's length.
#[no_mangle]
pub extern "C" fn dtee_localtime(t: i64, fields: *mut i64, zone: *mut u8, cap: usize) -> c_int {
    boundary(|| {
        // SAFETY: the caller passes 10 writable i64s and `cap` writable bytes.
        let (fields, zone) =
            unsafe { (slice_mut(fields, localtime::FIELDS)?, slice_mut(zone, cap)?) };
        Ok(localtime::broken_down(t, fields, zone)? as c_int)
    })
}
