//! Starting the command as execvp(3) would find and run it
//! (docs/behaviour.md A7): a PATH search with its rules, EACCES remembered,
//! and a file the kernel will not execute (ENOEXEC: a script without `#!`)
//! run by /bin/sh. Used for both a child (`spawn`) and exec in place (`exec`).
//!
//! The child is made with clone(CLONE_VM | CLONE_VFORK), as glibc's
//! posix_spawn does: it borrows dtee's memory instead of copying the page
//! tables of a large multi-threaded runtime, and dtee sleeps until it has
//! exec'd or failed. Unlike posix_spawn, the child then reports *which* step
//! failed through the memory it shares. Everything the child needs is
//! allocated beforehand; it makes only raw system calls.
//!
//! Measured (median of dtee_spawn of /bin/true from Deno, loaded machine):
//! posix_spawnp 0.11-0.25 ms, this clone 0.08-0.20 ms, fork with a
//! close-on-exec error pipe 1.1 ms at 41 MB RSS and 104 ms at 1 GB.

use crate::abi::spawn_stage;
use crate::environ::command_env;
use crate::failable;
use crate::job;
use crate::signals;
use crate::sys;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

/// execvp's shell for files without `#!` (glibc's _PATH_BSHELL).
const SHELL: &CStr = c"/bin/sh";
/// execvp's search path when PATH is unset (glibc's _CS_PATH).
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";
/// A file name longer than this cannot be found in a directory (NAME_MAX).
const NAME_MAX: usize = 255;
/// Stack of the child until it execs: it only makes system calls.
const CHILD_STACK: usize = 64 << 10;

/// The command, prepared so that running it needs no allocation.
pub struct Program {
    /// The words as given, null-terminated; they borrow the caller's buffer.
    argv: Vec<*const c_char>,
    /// Every path to try, in order, each NUL-terminated.
    candidates: Vec<Vec<u8>>,
    /// `/bin/sh`, the candidate, argv[1..], null: slot 1 is filled in when a
    /// candidate turns out to be ENOEXEC.
    shell_argv: Vec<*const c_char>,
    envp: *const *const c_char,
    /// Whether the candidates come from a PATH search (the name has no `/`).
    searched: bool,
    /// ENAMETOOLONG when the name cannot be searched for at all.
    unsearchable: c_int,
}

/// The value of `name` in `envp`, as getenv would find it.
fn env_value(envp: *const *const c_char, name: &[u8]) -> Option<&'static [u8]> {
    if envp.is_null() {
        return None;
    }
    let mut entry = envp;
    // SAFETY: envp is a null-terminated array of NUL-terminated strings that
    // lives as long as the process (the C library's or the launcher's).
    unsafe {
        while !(*entry).is_null() {
            let text = CStr::from_ptr(*entry).to_bytes();
            if text.len() > name.len() && text.starts_with(name) && text[name.len()] == b'=' {
                return Some(&text[name.len() + 1..]);
            }
            entry = entry.add(1);
        }
    }
    None
}

impl Program {
    /// `argc` NUL-terminated words back to back in `words` ("ls\0-la\0").
    pub fn new(words: &[u8], argc: usize) -> Result<Program, c_int> {
        let mut argv = Vec::with_capacity(argc + 1);
        let mut start = 0;
        for _ in 0..argc {
            let len = words
                .get(start..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or(sys::EINVAL)?;
            argv.push(words[start..].as_ptr() as *const c_char);
            start += len + 1;
        }
        if argv.is_empty() {
            return Err(sys::EINVAL);
        }
        argv.push(ptr::null());
        let envp = command_env();
        // SAFETY: argv[0] points at a NUL-terminated word of `words`.
        let file = unsafe { CStr::from_ptr(argv[0]) }.to_bytes();
        let mut candidates = Vec::new();
        let mut unsearchable = 0;
        let searched = !file.contains(&b'/');
        if !searched {
            candidates.push([file, b"\0"].concat());
        } else if file.len() > NAME_MAX {
            unsearchable = sys::ENAMETOOLONG;
        } else if !file.is_empty() {
            let path = env_value(envp, b"PATH").unwrap_or(DEFAULT_PATH);
            for dir in path.split(|&b| b == b':') {
                // An empty element is the current directory, as in execvp.
                let candidate = match dir {
                    b"" => [file, b"\0"].concat(),
                    _ => [dir, b"/", file, b"\0"].concat(),
                };
                candidates.push(candidate);
            }
        }
        let mut shell_argv = Vec::with_capacity(argv.len() + 1);
        shell_argv.extend([SHELL.as_ptr(), ptr::null()]);
        shell_argv.extend_from_slice(&argv[1..]);
        Ok(Program {
            argv,
            candidates,
            shell_argv,
            envp,
            searched,
            unsearchable,
        })
    }

    /// Tries every candidate as execvp does; returns only on failure, with
    /// the errno execvp would leave.
    ///
    /// # Safety
    /// Async-signal-safe (no allocation, no lock): usable in a vfork child.
    unsafe fn run(&mut self) -> c_int {
        if self.unsearchable != 0 {
            return self.unsearchable;
        }
        let mut got_eacces = false;
        let mut errno = sys::ENOENT;
        for candidate in &self.candidates {
            let path = candidate.as_ptr() as *const c_char;
            sys::execve(path, self.argv.as_ptr(), self.envp);
            errno = sys::errno();
            if errno == sys::ENOEXEC {
                if let Some(slot) = self.shell_argv.get_mut(1) {
                    *slot = path;
                }
                sys::execve(SHELL.as_ptr(), self.shell_argv.as_ptr(), self.envp);
                errno = sys::errno();
            }
            if !self.searched {
                return errno;
            }
            match errno {
                sys::EACCES => got_eacces = true,
                sys::ENOENT | sys::ESTALE | sys::ENOTDIR | sys::ENODEV | sys::ETIMEDOUT => {}
                _ => return errno,
            }
        }
        if got_eacces {
            sys::EACCES
        } else {
            errno
        }
    }
}

/// What the child needs and what it reports back through shared memory.
struct Job {
    program: Program,
    out_fd: c_int,
    err_fd: c_int,
    defaults: u64,
    ignored: u64,
    /// An exec failure to pretend (failpoint `exec`), or 0.
    fake_exec_errno: c_int,
    /// The limit of open files to give back: [soft, hard], or None to keep dtee's.
    nofile: Option<[u64; 2]>,
    /// A process group of its own (`job.rs`).
    own_group: bool,
    /// The terminal whose foreground that group takes, or -1.
    tty: c_int,
    stage: c_int,
    errno: c_int,
}

/// Makes `fd` the descriptor `target` of the child, without close-on-exec.
///
/// # Safety
/// Async-signal-safe.
unsafe fn install(fd: c_int, target: c_int) -> Result<(), c_int> {
    let ret = if fd == target {
        sys::raw::fcntl(fd, sys::F_SETFD, 0)
    } else {
        sys::dup2(fd, target)
    };
    if ret < 0 {
        return Err(sys::errno());
    }
    Ok(())
}

/// The soft limit of open files dtee was started with, and the hard limit as
/// it is: the runtime raised the soft one at start-up (docs/behaviour.md A7).
fn nofile_to_restore() -> Option<[u64; 2]> {
    let soft = crate::environ::nofile_soft_limit()?;
    let mut now = [0u64; 2];
    // SAFETY: prlimit64 reads into a live struct rlimit64 (two u64).
    let ret = unsafe {
        sys::syscall(
            sys::SYS_PRLIMIT64,
            0 as std::ffi::c_long,
            sys::RLIMIT_NOFILE,
            ptr::null::<u64>(),
            now.as_mut_ptr(),
        )
    };
    (ret == 0 && soft < now[0]).then_some([soft, now[1]])
}

/// Sets the limit of open files; a failure leaves the raised one.
///
/// # Safety
/// Async-signal-safe: one raw system call.
unsafe fn restore_nofile(limit: Option<[u64; 2]>) {
    if let Some(limit) = limit {
        sys::syscall(
            sys::SYS_PRLIMIT64,
            0 as std::ffi::c_long,
            sys::RLIMIT_NOFILE,
            limit.as_ptr(),
            ptr::null_mut::<u64>(),
        );
    }
}

extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the parent's Job, which outlives this child: the parent
    // is suspended (CLONE_VFORK) until the child execs or exits. Only raw
    // system calls follow.
    unsafe {
        let job = &mut *(arg as *mut Job);
        // Still with every signal blocked, as job::enter_own_group needs.
        if job.own_group {
            job::enter_own_group(job.tty);
        }
        signals::reset_in_child(job.defaults, job.ignored);
        restore_nofile(job.nofile);
        if let Err(errno) = install(job.out_fd, 1).and_then(|_| install(job.err_fd, 2)) {
            job.stage = spawn_stage::FORK;
            job.errno = errno;
            return 127;
        }
        job.errno = if job.fake_exec_errno != 0 {
            job.fake_exec_errno
        } else {
            job.program.run()
        };
        job.stage = spawn_stage::EXEC;
    }
    127
}

/// A command that started.
pub struct Started {
    pub pid: c_int,
    /// -1 where the kernel has no pidfd_open(2).
    pub pidfd: c_int,
}

/// Why the command could not be started: the stage that failed
/// (`abi::spawn_stage`: the fork, or the exec in the child) and its errno.
pub struct SpawnError {
    pub stage: c_int,
    pub errno: c_int,
}

/// Starts the command with `out_fd` and `err_fd` as its standard output and
/// error, stdin and other inherited descriptors unchanged, an empty signal
/// mask, default dispositions for the signals of `signals::defaults` and
/// SIG_IGN for those of `signals::kept_ignored`; with `own_group`, in a
/// process group of its own (`job.rs`).
/// Returns the command's pid and a pidfd (-1 where the kernel has none), or
/// which stage failed and why.
pub fn spawn(
    program: Program,
    out_fd: c_int,
    err_fd: c_int,
    own_group: bool,
) -> Result<Started, SpawnError> {
    let fork_failed = |errno| SpawnError {
        stage: spawn_stage::FORK,
        errno,
    };
    signals::unignore_sigchld().map_err(fork_failed)?;
    let mut job = Box::new(Job {
        program,
        out_fd,
        err_fd,
        defaults: signals::defaults(),
        ignored: signals::kept_ignored(),
        fake_exec_errno: crate::failpoints::exec_errno(),
        nofile: nofile_to_restore(),
        own_group,
        tty: if own_group {
            job::foreground_terminal()
        } else {
            -1
        },
        stage: spawn_stage::NONE,
        errno: 0,
    });
    let mut stack = vec![0u128; CHILD_STACK / std::mem::size_of::<u128>()];
    // SAFETY: the stack grows down from the end of a live, 16-byte aligned
    // buffer that outlives the child's use of it (CLONE_VFORK). Every signal
    // is blocked around clone so that no handler runs in the child before it
    // has reset them; the parent's mask is restored right after.
    let (pid, clone_errno) = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()) as *mut c_void;
        let saved = signals::set_thread_mask(!0);
        let pid = failable::clone(
            child,
            top,
            sys::CLONE_VM | sys::CLONE_VFORK | sys::SIGCHLD,
            &mut *job as *mut Job as *mut c_void,
        );
        let errno = sys::errno();
        signals::set_thread_mask(saved);
        (pid, errno)
    };
    if pid < 0 {
        job::restore_terminal();
        return Err(fork_failed(clone_errno));
    }
    if job.stage != spawn_stage::NONE {
        job::restore_terminal();
        let mut status = 0;
        // SAFETY: reaping the child that just exited; status is a valid int.
        while unsafe { sys::raw::waitpid(pid, &mut status, 0) } < 0 && sys::errno() == sys::EINTR {}
        return Err(SpawnError {
            stage: job.stage,
            errno: job.errno,
        });
    }
    // SAFETY: plain system call; the pidfd is close-on-exec by definition.
    let pidfd = unsafe {
        sys::syscall(
            sys::SYS_PIDFD_OPEN,
            pid as std::ffi::c_long,
            0 as std::ffi::c_long,
        )
    };
    Ok(Started {
        pid,
        pidfd: if pidfd < 0 { -1 } else { pidfd as c_int },
    })
}

/// Replaces dtee with the command, restoring what the command would have
/// inherited (exec keeps SIG_IGN and the mask). Returns only on failure.
pub fn exec(program: &mut Program) -> c_int {
    signals::reset_for_exec();
    // SAFETY: nothing else runs here that the exec could cut short.
    unsafe {
        restore_nofile(nofile_to_restore());
        program.run()
    }
}
