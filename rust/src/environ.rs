//! What the command inherits from the world dtee was started in
//! (docs/behaviour.md A7, "The wrapper is invisible to the command"): its
//! environment, byte for byte, which of fds 0-2 were closed, and its
//! working directory; and dtee's own command line as it was given. The one
//! exception is asked for by the user: `-L` adds its variables (`add`).
//!
//! None of them can be read from the running process alone: the Deno
//! runtime changes its own environment at start-up (a `node` shim first in
//! PATH, `DENO_NODE_SHIM_ACTIVE`), Rust's runtime opens /dev/null on closed
//! fds 0-2 before any dtee code runs, Deno does not start in a removed
//! working directory, and it cannot take arguments that are not UTF-8. All
//! are taken from where they survive instead, once:
//!
//! - Under the native launcher (rust/src/bin/dtee.rs), which hands Deno an
//!   environment and a command line of its own, the launcher's own
//!   arguments (the first `DTEE_ARGS_LEN` bytes) and its original
//!   environment block are in a sealed memfd at the descriptor named by
//!   `DTEE_START_FD` in Deno's environment, `DTEE_CLOSED_FDS` is the mask of
//!   fds 0-2 that it found closed, `DTEE_IGNORED` the signals it found
//!   ignored, and `DTEE_CWD_FD` a removed working
//!   directory to go back to.
//!   None of this needs /proc.
//! - Otherwise (the single binary, `deno run`), /proc/self/environ: the
//!   block the process was exec'd with, which setenv never rewrites, and
//!   /proc/self/cmdline; and a
//!   standard fd that is /dev/null open for reading and writing counts as
//!   closed, as that is what Rust's runtime opens (a shell's `<` or `>`
//!   redirection opens it one way only; `<>/dev/null` is the one case taken
//!   for closed although it was not, see docs/architecture.md, "Limits").

use crate::abi::env_join;
use crate::failable;
use crate::sys;
use std::ffi::{c_char, c_int};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Mutex, OnceLock};

use crate::handover::{ARGS_LEN, CLOSED_FDS, CWD_FD, IGNORED, NOFILE, SEALS, START_FD};

/// An environment as execve takes it.
struct Environ {
    /// The entries, each followed by its NUL, in their original order.
    block: Vec<u8>,
    /// Pointers to each entry of `block`, then a null pointer.
    envp: Vec<*const c_char>,
}

impl Environ {
    fn new(block: Vec<u8>) -> Environ {
        let envp = entries(&block)
            .map(|e| e.as_ptr() as *const c_char)
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Environ { block, envp }
    }
}

struct Start {
    environ: Environ,
    /// Bit N: fd N was closed when dtee started.
    closed: u8,
    /// The soft limit of open files dtee was started with, where known.
    nofile: Option<u64>,
    /// Bit N-1: signal N was ignored when dtee started; known under the
    /// launcher only (the runtime ignores SIGPIPE before the shim loads).
    ignored: Option<u64>,
    /// The launcher's own arguments, NAME first, each followed by its NUL;
    /// None when dtee was not started by the launcher.
    args: Option<Vec<u8>>,
}

// SAFETY: the pointers point into `block`, which is never changed or
// dropped once the value is made (it lives in a static, or is leaked).
unsafe impl Send for Environ {}
unsafe impl Sync for Environ {}

static START: OnceLock<Start> = OnceLock::new();
/// The environment with what `add` added, once it was called: each call
/// leaks the previous one, since a Program made before may point into it
/// (a few entries, a handful of times per run).
static ADDED: Mutex<Option<&'static Environ>> = Mutex::new(None);

fn start() -> &'static Start {
    START.get_or_init(|| {
        // First: whatever follows may take a path relative to it.
        if let Some(fd) = launcher_number(CWD_FD) {
            // SAFETY: the launcher's O_PATH descriptor of the removed
            // directory; closed once dtee is back in it.
            unsafe {
                if sys::fchdir(fd) == 0 {
                    failable::close(fd);
                }
            }
        }
        let nofile = launcher_number(NOFILE);
        let ignored = launcher_number(IGNORED);
        let launched = launcher_number(START_FD).and_then(read_memfd);
        let args_len = launcher_number(ARGS_LEN).unwrap_or(0);
        let (args, block, closed) = match launched {
            Some(mut both) if args_len <= both.len() => {
                let block = both.split_off(args_len);
                let closed = launcher_number(CLOSED_FDS).unwrap_or(0u8) & 7;
                (Some(both), block, closed)
            }
            _ => (
                None,
                std::fs::read("/proc/self/environ").unwrap_or_else(|_| current_environ()),
                runtime_nulls(),
            ),
        };
        Start {
            environ: Environ::new(block),
            closed,
            nofile,
            ignored,
            args,
        }
    })
}

/// dtee's own command line, argv[0] first, each word followed by a NUL:
/// the launcher's words where it started dtee, else the last `argc` words
/// of /proc/self/cmdline (Deno's own come first) after argv[0]. Also the
/// first call that sets dtee up where the launcher left it (`start`).
pub fn invocation(argc: usize) -> Result<Vec<u8>, c_int> {
    if let Some(args) = &start().args {
        return Ok(args.clone());
    }
    let all =
        std::fs::read("/proc/self/cmdline").map_err(|e| e.raw_os_error().unwrap_or(sys::EIO))?;
    let words: Vec<&[u8]> = entries(&all).collect();
    if words.len() <= argc {
        return Err(sys::ENOENT);
    }
    let mut own = words[0].to_vec();
    words[words.len() - argc..]
        .iter()
        .for_each(|w| own.extend_from_slice(w));
    Ok(own)
}

fn current() -> &'static Environ {
    let added = *ADDED.lock().unwrap_or_else(|e| e.into_inner());
    added.unwrap_or(&start().environ)
}

/// What goes between an inherited value and ours (`abi::env_join`); None:
/// an inherited value that is not empty is kept instead.
fn separator(join: i32) -> Result<Option<&'static [u8]>, i32> {
    match join {
        env_join::KEEP => Ok(None),
        env_join::COLON => Ok(Some(b":")),
        env_join::SPACE => Ok(Some(b" ")),
        _ => Err(sys::EINVAL),
    }
}

/// `ours` combined with the inherited value `theirs`; already there (an
/// outer `dtee -L`), it is not added again.
fn merged(theirs: &[u8], ours: &[u8], separator: Option<&[u8]>) -> Vec<u8> {
    match (theirs, separator) {
        (b"", _) => ours.to_vec(),
        (_, None) => theirs.to_vec(),
        (_, Some(separator)) if contains(theirs, ours, separator) => theirs.to_vec(),
        (_, Some(separator)) => [theirs, separator, ours].concat(),
    }
}

/// Whether `list` holds `part` between separators (or at an end).
fn contains(list: &[u8], part: &[u8], separator: &[u8]) -> bool {
    let framed = |text: &[u8]| [separator, text, separator].concat();
    framed(list)
        .windows(part.len() + 2 * separator.len())
        .any(|w| w == framed(part))
}

/// The environment for the command's exec or spawn: null-terminated,
/// valid for the rest of the process's life.
pub fn command_env() -> *const *const c_char {
    current().envp.as_ptr()
}

/// Gives the command `entry` (`NAME=VALUE`), combined with an inherited
/// value of NAME as `join` (`abi::env_join`) says; a new variable goes
/// last, an inherited one keeps its place.
pub fn add(entry: &[u8], join: i32) -> Result<(), i32> {
    let eq = entry.iter().position(|&b| b == b'=');
    let eq = eq
        .filter(|&eq| eq > 0 && !entry.contains(&0))
        .ok_or(sys::EINVAL)?;
    let (prefix, ours) = entry.split_at(eq + 1);
    let separator = separator(join)?;
    let mut block = Vec::new();
    let mut found = false;
    for e in entries(&current().block) {
        match e.strip_prefix(prefix) {
            // The first one is what getenv, ld.so and perl read.
            Some(theirs) if !found => {
                found = true;
                let theirs = &theirs[..theirs.len() - 1];
                block.extend_from_slice(prefix);
                block.extend_from_slice(&merged(theirs, ours, separator));
                block.push(0);
            }
            _ => block.extend_from_slice(e),
        }
    }
    if !found {
        block.extend_from_slice(entry);
        block.push(0);
    }
    let environ: &'static Environ = Box::leak(Box::new(Environ::new(block)));
    *ADDED.lock().unwrap_or_else(|e| e.into_inner()) = Some(environ);
    Ok(())
}

/// The soft limit of open files dtee was started with, which the runtime
/// raised: known under the native launcher only (docs/architecture.md, "Limits").
pub fn nofile_soft_limit() -> Option<u64> {
    start().nofile
}

/// The signals ignored when dtee started (bit N-1 for signal N), as the
/// launcher found them before the runtime ignored SIGPIPE; None without it.
pub fn ignored_at_start() -> Option<u64> {
    start().ignored
}

/// The mask (bit N for fd N) of fds 0-2 that were closed when dtee
/// started, as far as can be known from here; `files::ensure_std_fds` adds
/// those it finds closed itself.
pub fn closed_std_fds() -> u8 {
    start().closed
}

/// Each NUL-terminated entry of `block`, with its NUL; a last entry
/// without one (a block cut short) is not an entry.
fn entries(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block
        .split_inclusive(|&b| b == 0)
        .filter(|e| e.ends_with(&[0]))
}

/// A number the launcher put in Deno's environment (read through getenv:
/// /proc may not be mounted).
fn launcher_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var_os(name)?.to_str()?.parse().ok()
}

/// The contents of the launcher's memfd (then closed, so that the command
/// never inherits it); None when `fd` is not it (its seals say).
fn read_memfd(fd: c_int) -> Option<Vec<u8>> {
    // SAFETY: F_GET_SEALS only inspects the descriptor. Not a failpoint:
    // it is no fcntl a fault test means.
    if unsafe { sys::raw::fcntl(fd, sys::F_GET_SEALS) } != SEALS {
        return None;
    }
    // SAFETY: the descriptor is the launcher's memfd, inherited and used by
    // nothing else; the File owns it from here and closes it when dropped.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut block = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut block).ok()?;
    Some(block)
}

/// The process's environment as it is now: only where /proc cannot be
/// read, so the best there is.
fn current_environ() -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in std::env::vars_os() {
        block.extend_from_slice(name.as_bytes());
        block.push(b'=');
        block.extend_from_slice(value.as_bytes());
        block.push(0);
    }
    block
}

/// Fds 0-2 that are /dev/null open read-write: what Rust's runtime put on
/// the descriptors it found closed.
fn runtime_nulls() -> u8 {
    let mut mask = 0;
    for fd in 0..3 {
        let is_null = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .is_ok_and(|link| link.as_os_str() == "/dev/null");
        let read_write = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
            .ok()
            .and_then(|info| {
                let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
                u32::from_str_radix(flags.trim(), 8).ok()
            })
            .is_some_and(|flags| flags as c_int & sys::O_ACCMODE == sys::O_RDWR);
        if is_null && read_write {
            mask |= 1 << fd;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_order_empty_entries_and_odd_names() {
        let block = b"Z=1\0\0a b=\xff\0=x\0PATH=/p\0PATH=/q\0cut";
        let all: Vec<&[u8]> = entries(block).collect();
        assert_eq!(
            all,
            [
                &b"Z=1\0"[..],
                b"\0",
                b"a b=\xff\0",
                b"=x\0",
                b"PATH=/p\0",
                b"PATH=/q\0"
            ]
        );
    }

    #[test]
    fn added_values_meet_inherited_ones() {
        let [keep, colon, space] =
            [env_join::KEEP, env_join::COLON, env_join::SPACE].map(|join| separator(join).unwrap());
        assert_eq!(merged(b"", b"1", keep), b"1");
        assert_eq!(merged(b"0", b"1", keep), b"0");
        assert_eq!(merged(b"/a.so", b"/b.so", colon), b"/a.so:/b.so");
        assert_eq!(merged(b"", b"-w", space), b"-w");
        assert_eq!(merged(b"-d", b"-w", space), b"-d -w");
        assert_eq!(merged(b"/a.so:/b.so", b"/b.so", colon), b"/a.so:/b.so");
        assert_eq!(merged(b"/b.so:/a.so", b"/b.so", colon), b"/b.so:/a.so");
        assert_eq!(merged(b"/b.sox", b"/b.so", colon), b"/b.sox:/b.so");
        assert_eq!(merged(b"-w -I/d -Mm", b"-I/d -Mm", space), b"-w -I/d -Mm");
        assert_eq!(
            merged(b"-I/d -Mmx", b"-I/d -Mm", space),
            b"-I/d -Mmx -I/d -Mm"
        );
        assert_eq!(separator(9), Err(sys::EINVAL));
    }
}
