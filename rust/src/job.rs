//! The command's own process group, made when a time limit is set (as
//! timeout(1) runs its command): when the limit passes the whole group is
//! signalled, the command's children included. At a terminal where dtee's
//! group is in the foreground, the command's group takes the foreground for
//! the run, so that it reads from the terminal and gets the terminal's
//! signals (Ctrl-C) as it would without a group of its own
//! (docs/behaviour.md B5); dtee takes it back when the command has ended.

use crate::sys::{self, SIGCONT, SIGKILL, SIGTTOU};
use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// The controlling terminal while the command's group holds its foreground, else -1.
static TTY: AtomicI32 = AtomicI32::new(-1);
/// dtee's own process group, which the terminal goes back to.
static OWN_GROUP: AtomicI32 = AtomicI32::new(0);

/// Before spawning: the controlling terminal (close-on-exec) when dtee's
/// group is its foreground group, for the command's group to take over;
/// else -1.
pub fn foreground_terminal() -> c_int {
    // SAFETY: plain system calls on a NUL-terminated path and a live pid_t.
    unsafe {
        let fd = sys::open(
            c"/dev/tty".as_ptr(),
            sys::O_RDWR | sys::O_NOCTTY | sys::O_CLOEXEC,
            0,
        );
        if fd < 0 {
            return -1;
        }
        let mut foreground: sys::pid_t = 0;
        let own = sys::getpgrp();
        if sys::ioctl(fd, sys::TIOCGPGRP, &mut foreground) == 0 && foreground == own {
            OWN_GROUP.store(own, Ordering::SeqCst);
            TTY.store(fd, Ordering::SeqCst);
            return fd;
        }
        sys::raw::close(fd);
    }
    -1
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
        let group = sys::getpgrp();
        sys::ioctl(tty, sys::TIOCSPGRP, &group);
    }
}

/// Gives the terminal back to dtee's group, if the command's group has it;
/// once (later calls do nothing).
pub fn restore_terminal() {
    let fd = TTY.swap(-1, Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let own = OWN_GROUP.load(Ordering::SeqCst);
    // SAFETY: sets and masks are live; the descriptor is dtee's own. From a
    // background group tcsetpgrp raises SIGTTOU unless the caller blocks it.
    unsafe {
        let mut block = sys::sigset_t { bits: [0; 16] };
        let mut saved = sys::sigset_t { bits: [0; 16] };
        sys::sigemptyset(&mut block);
        sys::sigaddset(&mut block, SIGTTOU);
        sys::pthread_sigmask(sys::SIG_BLOCK, &block, &mut saved);
        sys::ioctl(fd, sys::TIOCSPGRP, &own);
        sys::pthread_sigmask(sys::SIG_SETMASK, &saved, ptr::null_mut());
        sys::raw::close(fd);
    }
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
