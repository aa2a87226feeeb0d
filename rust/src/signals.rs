//! Signal dispositions, and a handler that turns caught signals into a
//! pending set plus a byte on a self-pipe, so the receive loop's poll() wakes.

use crate::abi::disposition;
use crate::failable;
use crate::sys::{self, kernel_sigaction, sigaction_t, siginfo_t, sigset_t};
use crate::sys::{SIGCHLD, SIGKILL, SIGMAX, SIGPIPE, SIGSTOP};
use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// Caught signals not yet taken by the front end: bit N-1 for signal N.
static PENDING: AtomicU64 = AtomicU64::new(0);
/// Every signal whose disposition the shim changed; the command gets the
/// default disposition for each of them (and for SIGPIPE and SIGCHLD).
static TOUCHED: AtomicU64 = AtomicU64::new(0);
/// The signals whose disposition was SIG_IGN when dtee first changed it
/// (`set`): inherited ignored, as under nohup or in a script's background
/// job. The command starts with them ignored again (`kept_ignored`).
static IGNORED_AT_START: AtomicU64 = AtomicU64::new(0);
/// The signals caught with `disposition::INTERRUPT`: pending, they stop
/// dtee's own writes (`interrupt_due`).
static INTERRUPTING: AtomicU64 = AtomicU64::new(0);
/// Set once the front end goes the interrupted way (`set_stopping`).
static STOPPING: AtomicBool = AtomicBool::new(false);
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

fn bit(sig: c_int) -> u64 {
    1u64 << (sig - 1)
}

extern "C" fn on_signal(sig: c_int, info: *mut siginfo_t, _context: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
    let info = unsafe { &*info };
    // A write to a broken pipe raises SIGPIPE at the writer itself
    // (SI_USER from our own pid); that write's EPIPE is handled where it
    // happens, so only a SIGPIPE sent by someone else counts.
    // SAFETY: getpid is async-signal-safe.
    if sig == SIGPIPE && info.si_code == sys::SI_USER && info.si_pid == unsafe { sys::getpid() } {
        return;
    }
    PENDING.fetch_or(bit(sig), Ordering::SeqCst);
    // SAFETY: errno is saved and restored around write, which is
    // async-signal-safe; the pipe is non-blocking so a full pipe only drops
    // a wake-up byte that is not needed while another is unread.
    unsafe {
        let saved = *sys::__errno_location();
        let byte = sig as u8;
        sys::write(
            WAKE_WRITE.load(Ordering::SeqCst),
            &byte as *const u8 as *const c_void,
            1,
        );
        *sys::__errno_location() = saved;
    }
}

fn ensure_wake_pipe() -> Result<(), c_int> {
    if WAKE_READ.load(Ordering::SeqCst) >= 0 {
        return Ok(());
    }
    let mut fds = [-1 as c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    sys::check(unsafe { failable::pipe2(fds.as_mut_ptr(), sys::O_CLOEXEC | sys::O_NONBLOCK) })?;
    WAKE_WRITE.store(fds[1], Ordering::SeqCst);
    WAKE_READ.store(fds[0], Ordering::SeqCst);
    Ok(())
}

pub fn wake_fd() -> c_int {
    WAKE_READ.load(Ordering::SeqCst)
}

pub fn drain_wake_fd() {
    let mut buf = [0u8; 64];
    // SAFETY: buf is writable for its length; the pipe is non-blocking.
    while unsafe { sys::read(wake_fd(), buf.as_mut_ptr() as *mut c_void, buf.len()) } > 0 {}
}

pub fn pending() -> bool {
    PENDING.load(Ordering::SeqCst) != 0
}

/// Whether a signal that stops dtee is pending: its writes then give up
/// (docs/behaviour.md A7). One atomic load, cheap enough before every write.
pub fn interrupt_due() -> bool {
    PENDING.load(Ordering::SeqCst) & INTERRUPTING.load(Ordering::SeqCst) != 0
}

/// dtee has taken a signal that stops it and is writing out what it still
/// owes (held output, the report line): from now on no write may wait
/// long for a reader that is not reading.
pub fn set_stopping() {
    STOPPING.store(true, Ordering::SeqCst);
}

pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// The lowest pending signal, now no longer pending, or 0.
pub fn take() -> c_int {
    let mut current = PENDING.load(Ordering::SeqCst);
    while current != 0 {
        let lowest = current & current.wrapping_neg();
        match PENDING.compare_exchange(
            current,
            current & !lowest,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => return lowest.trailing_zeros() as c_int + 1,
            Err(now) => current = now,
        }
    }
    0
}

fn valid(sig: c_int) -> Result<(), c_int> {
    if (1..=SIGMAX).contains(&sig) {
        Ok(())
    } else {
        Err(sys::EINVAL)
    }
}

/// SIG_DFL with no mask and no flags: a whole action to fill in or to have
/// an old one written into.
fn default_action() -> sigaction_t {
    sigaction_t {
        sa_handler: sys::SIG_DFL,
        sa_mask: empty_set(),
        sa_flags: 0,
        sa_restorer: 0,
    }
}

fn empty_set() -> sigset_t {
    let mut set = sigset_t { bits: [0; 16] };
    // SAFETY: set is a valid sigset_t.
    unsafe { sys::sigemptyset(&mut set) };
    set
}

/// Unblocks `sig` in the calling thread, its disposition unchanged.
pub fn unblock(sig: c_int) -> Result<(), c_int> {
    valid(sig)?;
    let mut set = empty_set();
    // SAFETY: set is a valid sigset_t; pthread_sigmask returns an errno value.
    match unsafe {
        sys::sigaddset(&mut set, sig);
        sys::pthread_sigmask(sys::SIG_UNBLOCK, &set, std::ptr::null_mut())
    } {
        0 => Ok(()),
        errno => Err(errno),
    }
}

/// Sets a disposition; catching a signal or restoring its default also
/// unblocks it in the calling thread: a signal blocked when dtee started
/// would otherwise never reach the handler or kill dtee (docs/behaviour.md A7).
pub fn set(sig: c_int, disposition: c_int) -> Result<(), c_int> {
    valid(sig)?;
    let mut action = default_action();
    match disposition {
        disposition::DEFAULT => {}
        disposition::IGNORE => action.sa_handler = sys::SIG_IGN,
        disposition::CATCH => {
            ensure_wake_pipe()?;
            action.sa_handler = on_signal as *const () as usize;
            action.sa_flags = sys::SA_SIGINFO | sys::SA_RESTART;
        }
        // Without SA_RESTART a blocking write(2) that sleeps for a reader
        // returns (EINTR, or a short count) when the signal arrives, so the
        // write loop (write.rs) sees it pending and gives up; a forwarded or
        // reaping signal keeps SA_RESTART and never disturbs a write. The
        // kernel offers a process-directed signal to the main thread (the
        // one that writes) first, and `set` unblocks it there. A per-write
        // O_NONBLOCK instead would change the open file description that
        // dtee shares with other processes.
        disposition::INTERRUPT => {
            ensure_wake_pipe()?;
            action.sa_handler = on_signal as *const () as usize;
            action.sa_flags = sys::SA_SIGINFO;
        }
        _ => return Err(sys::EINVAL),
    }
    let mut old = sigaction_t { ..action };
    // SAFETY: action is fully initialised; old is written by the call.
    sys::check(unsafe { sys::sigaction(sig, &action, &mut old) })?;
    if TOUCHED.fetch_or(bit(sig), Ordering::SeqCst) & bit(sig) == 0
        && old.sa_handler == sys::SIG_IGN
    {
        IGNORED_AT_START.fetch_or(bit(sig), Ordering::SeqCst);
    }
    if disposition == disposition::INTERRUPT {
        INTERRUPTING.fetch_or(bit(sig), Ordering::SeqCst);
    } else {
        INTERRUPTING.fetch_and(!bit(sig), Ordering::SeqCst);
    }
    if disposition != disposition::IGNORE {
        unblock(sig)?;
    }
    Ok(())
}

/// Whether `sig` was ignored (SIG_IGN) when dtee started: its disposition
/// now, unless dtee has changed it since.
pub fn ignored_at_start(sig: c_int) -> Result<bool, c_int> {
    valid(sig)?;
    if sig == SIGPIPE {
        return Ok(pipe_ignored_at_start());
    }
    if TOUCHED.load(Ordering::SeqCst) & bit(sig) != 0 {
        return Ok(IGNORED_AT_START.load(Ordering::SeqCst) & bit(sig) != 0);
    }
    let mut now = default_action();
    // SAFETY: a null new action only reads the current one into `now`.
    sys::check(unsafe { sys::sigaction(sig, std::ptr::null(), &mut now) })?;
    Ok(now.sa_handler == sys::SIG_IGN)
}

/// Started with SIGCHLD ignored (some supervisors do that), the kernel would
/// reap the command at once and waitpid would find no child: dtee's own
/// SIGCHLD goes back to its default unless dtee catches it
/// (docs/behaviour.md A7).
pub fn unignore_sigchld() -> Result<(), c_int> {
    let mut old = default_action();
    // SAFETY: a null new action only reads the current one into `old`.
    sys::check(unsafe { sys::sigaction(SIGCHLD, std::ptr::null(), &mut old) })?;
    if old.sa_handler == sys::SIG_IGN {
        set(SIGCHLD, disposition::DEFAULT)?;
    }
    Ok(())
}

/// The signals the command must start with at their default disposition
/// (docs/behaviour.md A7): those dtee set, and those the runtime ignores
/// (SIGPIPE) or a supervisor may have left ignored (SIGCHLD).
pub fn defaults() -> u64 {
    (TOUCHED.load(Ordering::SeqCst) | bit(SIGPIPE) | bit(SIGCHLD)) & !kept_ignored()
}

/// The signals the command must start with ignored although dtee changed
/// them: those it inherited ignored, as the C tool's child inherits them
/// before its parent sets any handler (docs/behaviour.md A7). SIGCHLD's
/// never stays; SIGPIPE's SIG_IGN is the runtime's, so SIGPIPE is kept
/// ignored only where the launcher found it so.
pub fn kept_ignored() -> u64 {
    let pipe = if pipe_ignored_at_start() {
        bit(SIGPIPE)
    } else {
        0
    };
    IGNORED_AT_START.load(Ordering::SeqCst) & !(bit(SIGPIPE) | bit(SIGCHLD)) | pipe
}

/// Whether SIGPIPE was ignored before the runtime ignored it itself: only
/// the native launcher, which runs before Deno, can tell (without it the
/// command gets SIGPIPE's default, docs/architecture.md "Limits").
fn pipe_ignored_at_start() -> bool {
    crate::environ::ignored_at_start().is_some_and(|mask| mask & bit(SIGPIPE) != 0)
}

/// rt_sigprocmask(2) on the calling thread, all 64 signals included.
///
/// # Safety
/// Async-signal-safe; only the mask of the calling thread changes.
pub unsafe fn set_thread_mask(mask: u64) -> u64 {
    let mut old = 0u64;
    sys::syscall(
        sys::SYS_RT_SIGPROCMASK,
        sys::SIG_SETMASK as std::ffi::c_long,
        &mask as *const u64,
        &mut old as *mut u64,
        8 as std::ffi::c_long,
    );
    old
}

/// In a child that still shares dtee's memory, before exec: every signal in
/// `ignored` to SIG_IGN, every one in `defaults` to SIG_DFL, every other one
/// with a handler to SIG_DFL too (a handler must not run in the child; exec
/// would reset it anyway), SIG_IGN kept, then an empty mask.
///
/// # Safety
/// Only raw system calls: async-signal-safe, no allocation.
pub unsafe fn reset_in_child(defaults: u64, ignored: u64) {
    let rt_sigaction = |sig: c_int, new: *const kernel_sigaction, old: *mut kernel_sigaction| {
        sys::syscall(
            sys::SYS_RT_SIGACTION,
            sig as std::ffi::c_long,
            new,
            old,
            8 as std::ffi::c_long,
        )
    };
    let dfl = kernel_sigaction {
        handler: sys::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let ign = kernel_sigaction {
        handler: sys::SIG_IGN,
        ..dfl
    };
    for sig in 1..=SIGMAX {
        if sig == SIGKILL || sig == SIGSTOP {
            continue;
        }
        if ignored & bit(sig) != 0 {
            rt_sigaction(sig, &ign, std::ptr::null_mut());
            continue;
        }
        let mut old = kernel_sigaction { ..dfl };
        let to_default = defaults & bit(sig) != 0
            || (rt_sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.handler != sys::SIG_DFL
                && old.handler != sys::SIG_IGN);
        if to_default {
            rt_sigaction(sig, &dfl, std::ptr::null_mut());
        }
    }
    set_thread_mask(0);
}

/// Dies by `sig` the way the default action would: returns only if that
/// action does not end the process.
pub fn die(sig: c_int) -> Result<(), c_int> {
    // Setting the default also unblocks the signal in this thread, so that
    // raising it to this thread delivers it before raise returns, even when
    // it was blocked when dtee started.
    set(sig, disposition::DEFAULT)?;
    // SAFETY: plain library call.
    sys::check(unsafe { sys::raise(sig) })?;
    Ok(())
}

/// Restores what a replaced process image should start with: every touched
/// signal at its default or, inherited ignored, ignored again, and an empty
/// mask (exec keeps SIG_IGN and the mask).
pub fn reset_for_exec() {
    let (defaults, ignored) = (defaults(), kept_ignored());
    for sig in 1..=SIGMAX {
        if ignored & bit(sig) != 0 {
            let _ = set(sig, disposition::IGNORE);
        } else if defaults & bit(sig) != 0 {
            let _ = set(sig, disposition::DEFAULT);
        }
    }
    let mask = empty_set();
    // SAFETY: mask is a valid sigset_t.
    unsafe { sys::pthread_sigmask(sys::SIG_SETMASK, &mask, std::ptr::null_mut()) };
}
