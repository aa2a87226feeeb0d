//! The command's own process group, made when a time limit is set (as
//! timeout(1) runs its command): when the limit passes the whole group is
//! signalled, the command's children included. At a terminal where dtee's
//! group is in the foreground, the command's group takes the foreground for
//! the run, so that it reads from the terminal and gets the terminal's
//! signals (Ctrl-C, Ctrl-Z) as it would without a group of its own
//! (docs/behaviour.md B7); dtee takes it back when the command has ended.
//! Started in the background, dtee follows the command's stops (SIGTTIN when
//! it reads the terminal) so that the shell sees its job stopped, and `fg`
//! gives the terminal to the command.

use crate::sys::{self, siginfo_t, sigset_t, SIGCONT, SIGKILL, SIGTSTP, SIGTTIN, SIGTTOU};
use std::ffi::{c_int, c_uint};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// dtee's controlling terminal while the command runs in a group of its own, else -1.
static TTY: AtomicI32 = AtomicI32::new(-1);
/// Whether dtee gave the terminal's foreground to the command's group (and has not taken it back).
static GIVEN: AtomicBool = AtomicBool::new(false);
/// dtee's own process group, which the terminal goes back to.
static OWN_GROUP: AtomicI32 = AtomicI32::new(0);

/// Blocks or unblocks SIGTTOU in the calling thread (dtee's main thread).
/// Blocked, dtee may write to the terminal and move its foreground from
/// the background: SIGTTOU would stop it there with `stty tostop`, and
/// tcsetpgrp(3) always raises it from the background.
fn block_sigttou(block: bool) {
    // SAFETY: the set is a live sigset_t; pthread_sigmask only changes this thread's mask.
    unsafe {
        let mut set = sigset_t { bits: [0; 16] };
        sys::sigemptyset(&mut set);
        sys::sigaddset(&mut set, SIGTTOU);
        let how = if block {
            sys::SIG_BLOCK
        } else {
            sys::SIG_UNBLOCK
        };
        sys::pthread_sigmask(how, &set, ptr::null_mut());
    }
}

/// tcgetpgrp(3) of `tty`, or -1.
fn foreground(tty: c_int) -> sys::pid_t {
    let mut group: sys::pid_t = -1;
    // SAFETY: TIOCGPGRP writes one pid_t into a live one.
    if unsafe { sys::ioctl(tty, sys::TIOCGPGRP, &mut group) } < 0 {
        return -1;
    }
    group
}

/// tcsetpgrp(3); SIGTTOU must be blocked when dtee is in the background.
fn set_foreground(tty: c_int, group: sys::pid_t) {
    // SAFETY: TIOCSPGRP reads one pid_t from a live one.
    unsafe { sys::ioctl(tty, sys::TIOCSPGRP, &group) };
}

/// Before spawning: the controlling terminal (close-on-exec) when dtee's
/// group is its foreground group, for the command's group to take over;
/// else -1. From then on SIGTTOU is blocked in this thread. In the
/// background dtee keeps the terminal too (for `follow_stop`), but the
/// command does not take it.
pub fn foreground_terminal() -> c_int {
    // SAFETY: a NUL-terminated path; the descriptor is dtee's own.
    let fd = unsafe {
        sys::open(
            c"/dev/tty".as_ptr(),
            sys::O_RDWR | sys::O_NOCTTY | sys::O_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return -1;
    }
    // SAFETY: plain system call.
    let own = unsafe { sys::getpgrp() };
    OWN_GROUP.store(own, Ordering::SeqCst);
    TTY.store(fd, Ordering::SeqCst);
    if foreground(fd) != own {
        return -1;
    }
    block_sigttou(true);
    GIVEN.store(true, Ordering::SeqCst);
    fd
}

/// In the child before exec: a process group of its own, and the
/// terminal's foreground when `tty` >= 0. The parent does not repeat the
/// setpgid: with CLONE_VFORK it runs again only once the child has exec'd.
///
/// # Safety
/// Async-signal-safe. Every signal must be blocked: tcsetpgrp from what is
/// now a background group would otherwise raise SIGTTOU.
pub unsafe fn enter_own_group(tty: c_int) {
    sys::setpgid(0, 0);
    if tty >= 0 {
        set_foreground(tty, sys::getpgrp());
    }
}

/// Gives the terminal back to dtee's group, if the command's group has it
/// from dtee; once (later calls do nothing).
pub fn restore_terminal() {
    let fd = TTY.swap(-1, Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    if GIVEN.swap(false, Ordering::SeqCst) {
        set_foreground(fd, OWN_GROUP.load(Ordering::SeqCst));
    }
    // SAFETY: the descriptor is dtee's own and no longer shared.
    unsafe { sys::raw::close(fd) };
    block_sigttou(false);
}

/// After a SIGCHLD: whether the command `pid` has stopped while dtee has a
/// terminal: Ctrl-Z where its group holds the terminal, or SIGTTIN/SIGTTOU
/// where it reads or writes the terminal from the background. Then dtee does
/// what the signal would have done to the whole job without a group of its
/// own: the terminal goes back to dtee's group if the command's had it, and
/// dtee's group stops by the same signal (the shell sees its job stopped);
/// once continued, the command's group gets the terminal if dtee's group
/// has it (`fg`, not `bg`), and is continued.
pub fn follow_stop(pid: c_int) -> bool {
    let tty = TTY.load(Ordering::SeqCst);
    if tty < 0 {
        return false;
    }
    // SAFETY: all-zero bytes are a valid siginfo_t; waitid fills it. Only
    // stops are asked for: the command's exit stays for waitpid.
    let stop = unsafe {
        let mut info: siginfo_t = std::mem::zeroed();
        let stopped = sys::waitid(
            sys::P_PID,
            pid as c_uint,
            &mut info,
            sys::WSTOPPED | sys::WNOHANG,
        ) == 0
            && info.si_pid == pid;
        stopped.then_some(info.si_status)
    };
    let Some(stop) = stop else {
        return false;
    };
    let own = OWN_GROUP.load(Ordering::SeqCst);
    if GIVEN.swap(false, Ordering::SeqCst) {
        set_foreground(tty, own);
    }
    let sig = if stop == SIGTTIN || stop == SIGTTOU {
        stop
    } else {
        SIGTSTP
    };
    // SAFETY: plain system calls. dtee's stop signals keep their default
    // action: the group stop takes this thread on its way back from
    // kill(2), and kill returns once the group is continued.
    unsafe { sys::kill(-own, sig) };
    if foreground(tty) == own {
        // From the background, dtee may still write to the terminal and take it back.
        block_sigttou(true);
        set_foreground(tty, pid);
        GIVEN.store(true, Ordering::SeqCst);
    }
    // SAFETY: plain system calls.
    unsafe {
        sys::kill(-pid, SIGCONT);
    }
    true
}

/// Sends `sig` to the command's process group and to the command itself
/// (it may have left the group); a stopped job is continued so that it
/// gets the signal, as timeout(1) does. A group already gone is no error.
pub fn signal(pid: c_int, sig: c_int) -> Result<(), c_int> {
    let mut failed = 0;
    let mut send = |target: c_int, sig: c_int| {
        // SAFETY: plain system call.
        if unsafe { sys::kill(target, sig) } < 0 && sys::errno() != sys::ESRCH {
            failed = sys::errno();
        }
    };
    send(-pid, sig);
    send(pid, sig);
    if sig != SIGKILL && sig != SIGCONT {
        send(-pid, SIGCONT);
        send(pid, SIGCONT);
    }
    match failed {
        0 => Ok(()),
        errno => Err(errno),
    }
}
