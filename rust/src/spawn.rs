//! Starting the command: posix_spawnp (no fork of a large runtime), or exec
//! in place when dtee cannot capture and must get out of the way.

use crate::signals;
use crate::sys::{self, posix_spawn_file_actions_t, posix_spawnattr_t};
use std::ffi::{c_char, c_int};
use std::ptr;

/// Pointers to the NUL-terminated words of `words` ("ls\0-la\0"), plus the
/// terminating null pointer. The pointers borrow from `words`.
pub fn argv(words: &[u8], argc: usize) -> Result<Vec<*const c_char>, c_int> {
    let mut out = Vec::with_capacity(argc + 1);
    let mut start = 0;
    for _ in 0..argc {
        let len = words[start..]
            .iter()
            .position(|&b| b == 0)
            .ok_or(sys::EINVAL)?;
        out.push(words[start..].as_ptr() as *const c_char);
        start += len + 1;
    }
    if out.is_empty() {
        return Err(sys::EINVAL);
    }
    out.push(ptr::null());
    Ok(out)
}

/// Spawns argv[0] (searched in PATH) with `out_fd` and `err_fd` as its
/// standard output and error, stdin and inherited descriptors unchanged,
/// an empty signal mask, and default dispositions for the signals dtee
/// handles. Returns the pid and a pidfd (-1 where the kernel has none).
/// An exec failure comes back as its errno, reported by glibc's spawn.
pub fn spawn(
    argv: &[*const c_char],
    out_fd: c_int,
    err_fd: c_int,
) -> Result<(c_int, c_int), c_int> {
    let mut actions = posix_spawn_file_actions_t::zeroed();
    let mut attr = posix_spawnattr_t::zeroed();
    let defaults = signals::spawn_defaults();
    let mask = signals::empty_mask();
    let mut pid: c_int = -1;
    // SAFETY: actions and attr are initialised before use and destroyed on
    // every path; argv is null-terminated with pointers into live memory;
    // the environment is null-terminated and lives as long as the process.
    let ret = unsafe {
        sys::posix_spawn_file_actions_init(&mut actions);
        sys::posix_spawnattr_init(&mut attr);
        let mut ret = sys::posix_spawn_file_actions_adddup2(&mut actions, out_fd, 1);
        if ret == 0 {
            ret = sys::posix_spawn_file_actions_adddup2(&mut actions, err_fd, 2);
        }
        if ret == 0 {
            sys::posix_spawnattr_setsigdefault(&mut attr, &defaults);
            sys::posix_spawnattr_setsigmask(&mut attr, &mask);
            ret = sys::posix_spawnattr_setflags(
                &mut attr,
                sys::POSIX_SPAWN_SETSIGDEF | sys::POSIX_SPAWN_SETSIGMASK,
            );
        }
        if ret == 0 {
            ret = sys::posix_spawnp(
                &mut pid,
                argv[0],
                &actions,
                &attr,
                argv.as_ptr(),
                crate::environ::command_env(),
            );
        }
        sys::posix_spawnattr_destroy(&mut attr);
        sys::posix_spawn_file_actions_destroy(&mut actions);
        ret
    };
    if ret != 0 {
        return Err(ret);
    }
    // SAFETY: plain system call; the pidfd is close-on-exec by definition.
    let pidfd = unsafe {
        sys::syscall(
            sys::SYS_PIDFD_OPEN,
            pid as std::ffi::c_long,
            0 as std::ffi::c_long,
        )
    };
    Ok((pid, if pidfd < 0 { -1 } else { pidfd as c_int }))
}

/// Replaces dtee with the command, restoring what the command would have
/// inherited. Returns only on failure.
pub fn exec(argv: &[*const c_char]) -> c_int {
    signals::reset_for_exec();
    // SAFETY: argv and the environment are null-terminated with pointers
    // into live memory.
    unsafe { sys::execvpe(argv[0], argv.as_ptr(), crate::environ::command_env()) };
    sys::errno()
}
