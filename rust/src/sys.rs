//! The few C library functions, types and constants the shim needs.
//!
//! Declared by hand because crates.io (and so the `libc` crate) is out of
//! reach. Layouts and values are those of Linux with glibc on 64-bit targets
//! (x86_64 and aarch64 share every one used here).
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_long, c_short, c_uint, c_void};

pub type pid_t = c_int;
pub type socklen_t = c_uint;
pub type size_t = usize;
pub type ssize_t = isize;
pub type mode_t = c_uint;

// The errno values the front end also sees are defined in abi.rs.
pub use crate::abi::errno::{EACCES, EAGAIN, EINTR, EINVAL, EIO, ENAMETOOLONG, ENOTRECOVERABLE};
pub use crate::abi::signal::SIGKILL;
pub const ENOENT: c_int = 2;
pub const ENOEXEC: c_int = 8;
pub const ENODEV: c_int = 19;
pub const ENOTDIR: c_int = 20;
pub const EISDIR: c_int = 21;
pub const ESRCH: c_int = 3;
pub const EOVERFLOW: c_int = 75;
pub const ETIMEDOUT: c_int = 110;
pub const ESTALE: c_int = 116;

pub const AF_UNIX: c_int = 1;
pub const SOCK_DGRAM: c_int = 2;
pub const SOCK_SEQPACKET: c_int = 5;
pub const SO_TYPE: c_int = 3;
pub const SOCK_CLOEXEC: c_int = 0o2000000;
pub const SOL_SOCKET: c_int = 1;
pub const SO_SNDBUF: c_int = 7;
pub const SO_RCVBUF: c_int = 8;
pub const SO_SNDBUFFORCE: c_int = 32;
pub const SO_RCVBUFFORCE: c_int = 33;
pub const SHUT_RD: c_int = 0;
pub const MSG_DONTWAIT: c_int = 0x40;
pub const MSG_TRUNC: c_int = 0x20;
pub const SO_TIMESTAMPNS: c_int = 35;
pub const SCM_TIMESTAMPNS: c_int = SO_TIMESTAMPNS;

pub const O_RDONLY: c_int = 0;
pub const O_WRONLY: c_int = 1;
pub const O_RDWR: c_int = 2;
pub const O_ACCMODE: c_int = 3;
pub const O_CREAT: c_int = 0o100;
pub const O_NOCTTY: c_int = 0o400;
pub const O_TRUNC: c_int = 0o1000;
pub const O_APPEND: c_int = 0o2000;
pub const O_NONBLOCK: c_int = 0o4000;
pub const O_CLOEXEC: c_int = 0o2000000;
pub const F_GETFD: c_int = 1;
pub const F_SETFD: c_int = 2;
pub const FD_CLOEXEC: c_int = 1;
pub const F_GETFL: c_int = 3;
pub const F_SETFL: c_int = 4;
pub const F_GET_SEALS: c_int = 1034;

pub const POLLIN: c_short = 1;
pub const POLLOUT: c_short = 4;
pub const WNOHANG: c_int = 1;
pub const WSTOPPED: c_int = 2;
pub const P_PID: c_int = 1;

pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;
pub const SA_SIGINFO: c_int = 4;
pub const SA_RESTART: c_int = 0x1000_0000;
pub const SIG_BLOCK: c_int = 0;
pub const SIG_UNBLOCK: c_int = 1;
pub const SIG_SETMASK: c_int = 2;
pub const SI_USER: c_int = 0;
pub use crate::abi::signal::{SIGCHLD, SIGPIPE};
pub const SIGCONT: c_int = 18;
pub const SIGTSTP: c_int = 20;
pub const SIGTTIN: c_int = 21;
pub const SIGTTOU: c_int = 22;
pub const SIGSTOP: c_int = 19;
/// Highest signal number the kernel knows (_NSIG - 1).
pub const SIGMAX: c_int = 64;

pub const CLOCK_MONOTONIC: c_int = 1;
/// tcgetpgrp(3) and tcsetpgrp(3) as ioctls (the same on x86_64 and aarch64).
pub const TIOCGPGRP: std::ffi::c_ulong = 0x540f;
pub const TIOCSPGRP: std::ffi::c_ulong = 0x5410;

pub const CLONE_VM: c_int = 0x100;
pub const CLONE_VFORK: c_int = 0x4000;

/// Locale categories and masks of glibc (LC_ALL_MASK leaves out LC_ALL, 6).
pub const LC_MESSAGES: c_int = 5;
pub const LC_ALL_MASK: c_int = 0x1fbf;
/// _NL_LOCALE_NAME(LC_MESSAGES): the name of a locale object's category.
pub const NL_LOCALE_NAME_MESSAGES: c_int = (LC_MESSAGES << 16) | 0xffff;

pub const SYS_PIDFD_OPEN: c_long = 434;
#[cfg(target_arch = "x86_64")]
pub const SYS_RT_SIGACTION: c_long = 13;
#[cfg(target_arch = "aarch64")]
pub const SYS_RT_SIGACTION: c_long = 134;
#[cfg(target_arch = "x86_64")]
pub const SYS_RT_SIGPROCMASK: c_long = 14;
#[cfg(target_arch = "aarch64")]
pub const SYS_RT_SIGPROCMASK: c_long = 135;
pub const PR_SET_CHILD_SUBREAPER: c_int = 36;
#[cfg(target_arch = "x86_64")]
pub const SYS_PRLIMIT64: c_long = 302;
#[cfg(target_arch = "aarch64")]
pub const SYS_PRLIMIT64: c_long = 261;
pub const RLIMIT_NOFILE: c_long = 7;
#[cfg(target_arch = "x86_64")]
pub const SYS_KCMP: c_long = 312;
#[cfg(target_arch = "aarch64")]
pub const SYS_KCMP: c_long = 272;
pub const KCMP_FILE: c_long = 0;

pub const AT_EMPTY_PATH: c_int = 0x1000;
pub const AT_FDCWD: c_int = -100;
pub const STATX_TYPE: c_uint = 0x1;
pub const STATX_INO: c_uint = 0x100;
pub const STATX_SIZE: c_uint = 0x200;
pub const S_IFMT: u16 = 0o170000;
pub const S_IFREG: u16 = 0o100000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFIFO: u16 = 0o010000;
pub const S_IFSOCK: u16 = 0o140000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFBLK: u16 = 0o060000;
pub const SEEK_SET: c_int = 0;
/// The most iovecs one writev(2) takes.
pub const IOV_MAX: usize = 1024;

#[repr(C)]
pub struct iovec {
    pub iov_base: *mut c_void,
    pub iov_len: size_t,
}

#[repr(C)]
pub struct msghdr {
    pub msg_name: *mut c_void,
    pub msg_namelen: socklen_t,
    pub msg_iov: *mut iovec,
    pub msg_iovlen: size_t,
    pub msg_control: *mut c_void,
    pub msg_controllen: size_t,
    pub msg_flags: c_int,
}

#[repr(C)]
pub struct cmsghdr {
    pub cmsg_len: size_t,
    pub cmsg_level: c_int,
    pub cmsg_type: c_int,
}

#[repr(C)]
pub struct timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

#[repr(C)]
pub struct mmsghdr {
    pub msg_hdr: msghdr,
    pub msg_len: c_uint,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sockaddr_un {
    pub sun_family: u16,
    pub sun_path: [u8; 108],
}

/// struct statx: the same layout on every architecture.
#[repr(C)]
pub struct statx_t {
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    _pad0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    _blocks_and_times: [u64; 10],
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    _spare: [u64; 14],
}

impl statx_t {
    pub const fn zeroed() -> Self {
        // SAFETY: all-zero bytes are a valid value of this plain-data struct.
        unsafe { std::mem::zeroed() }
    }
}

#[repr(C)]
pub struct pollfd {
    pub fd: c_int,
    pub events: c_short,
    pub revents: c_short,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct sigset_t {
    pub bits: [u64; 16],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct siginfo_t {
    pub si_signo: c_int,
    pub si_errno: c_int,
    pub si_code: c_int,
    _pad0: c_int,
    pub si_pid: pid_t,
    _si_uid: c_int,
    /// For SIGCHLD's kinds: the exit status, or the signal that stopped the child.
    pub si_status: c_int,
    _rest: [c_int; 25],
}

#[repr(C)]
pub struct sigaction_t {
    pub sa_handler: usize,
    pub sa_mask: sigset_t,
    pub sa_flags: c_int,
    pub sa_restorer: usize,
}

/// The kernel's struct sigaction (rt_sigaction(2)), the same on x86_64 and
/// aarch64; unlike glibc's sigaction it also reaches the signals glibc keeps
/// for itself (32 and 33), which a child sharing dtee's memory must not
/// handle either.
#[repr(C)]
pub struct kernel_sigaction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

/// glibc's `struct tm` (with the BSD fields glibc has too).
#[repr(C)]
pub struct tm {
    pub tm_sec: c_int,
    pub tm_min: c_int,
    pub tm_hour: c_int,
    pub tm_mday: c_int,
    pub tm_mon: c_int,
    pub tm_year: c_int,
    pub tm_wday: c_int,
    pub tm_yday: c_int,
    pub tm_isdst: c_int,
    pub tm_gmtoff: c_long,
    pub tm_zone: *const c_char,
}

pub type time_t = i64;

/// glibc's locale_t.
pub type locale_t = *mut c_void;

extern "C" {
    pub fn __errno_location() -> *mut c_int;
    pub fn strerror_l(errnum: c_int, locale: locale_t) -> *const c_char;
    pub fn strsignal(sig: c_int) -> *const c_char;
    pub fn newlocale(mask: c_int, name: *const c_char, base: locale_t) -> locale_t;
    pub fn uselocale(locale: locale_t) -> locale_t;
    pub fn nl_langinfo_l(item: c_int, locale: locale_t) -> *const c_char;
    pub fn tzset();
    pub fn localtime_r(t: *const time_t, out: *mut tm) -> *mut tm;

    pub fn getsockopt(
        fd: c_int,
        level: c_int,
        name: c_int,
        val: *mut c_void,
        len: *mut socklen_t,
    ) -> c_int;

    pub fn unlink(path: *const c_char) -> c_int;
    pub fn rmdir(path: *const c_char) -> c_int;
    pub fn open(path: *const c_char, flags: c_int, mode: mode_t) -> c_int;
    pub fn read(fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t;
    pub fn write(fd: c_int, buf: *const c_void, len: size_t) -> ssize_t;
    pub fn statx(
        dirfd: c_int,
        path: *const c_char,
        flags: c_int,
        mask: c_uint,
        buf: *mut statx_t,
    ) -> c_int;
    pub fn poll(fds: *mut pollfd, n: u64, timeout: c_int) -> c_int;

    pub fn getpid() -> pid_t;
    pub fn getpgrp() -> pid_t;
    pub fn setpgid(pid: pid_t, pgid: pid_t) -> c_int;
    pub fn ioctl(fd: c_int, request: std::ffi::c_ulong, ...) -> c_int;
    pub fn clock_gettime(clock: c_int, time: *mut timespec) -> c_int;
    pub fn syscall(num: c_long, ...) -> c_long;
    pub fn raise(sig: c_int) -> c_int;
    pub fn kill(pid: pid_t, sig: c_int) -> c_int;
    pub fn waitid(idtype: c_int, id: c_uint, info: *mut siginfo_t, options: c_int) -> c_int;
    pub fn prctl(option: c_int, ...) -> c_int;
    pub fn execve(
        path: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
    ) -> c_int;
    pub fn dup2(fd: c_int, new: c_int) -> c_int;
    pub fn fchdir(fd: c_int) -> c_int;

    pub fn sigemptyset(set: *mut sigset_t) -> c_int;
    pub fn sigaddset(set: *mut sigset_t, sig: c_int) -> c_int;
    pub fn sigaction(sig: c_int, act: *const sigaction_t, old: *mut sigaction_t) -> c_int;
    pub fn pthread_sigmask(how: c_int, set: *const sigset_t, old: *mut sigset_t) -> c_int;

}

/// The calls a failpoint can make fail (see `failpoints.rs`): use the
/// wrappers of `failable.rs`, which are the plain calls in a release build.
pub mod raw {
    use super::*;

    extern "C" {
        pub fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
        pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
        pub fn bind(fd: c_int, addr: *const sockaddr_un, len: socklen_t) -> c_int;
        pub fn connect(fd: c_int, addr: *const sockaddr_un, len: socklen_t) -> c_int;
        pub fn shutdown(fd: c_int, how: c_int) -> c_int;
        pub fn setsockopt(
            fd: c_int,
            level: c_int,
            name: c_int,
            val: *const c_void,
            len: socklen_t,
        ) -> c_int;
        pub fn recvmmsg(
            fd: c_int,
            msgs: *mut mmsghdr,
            vlen: c_uint,
            flags: c_int,
            timeout: *mut c_void,
        ) -> c_int;
        pub fn mkdtemp(template: *mut c_char) -> *mut c_char;
        pub fn mkostemp(template: *mut c_char, flags: c_int) -> c_int;
        pub fn close(fd: c_int) -> c_int;
        pub fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t;
        pub fn lseek(fd: c_int, off: i64, whence: c_int) -> i64;
        pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        pub fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
        pub fn clone(
            child: extern "C" fn(*mut c_void) -> c_int,
            stack: *mut c_void,
            flags: c_int,
            arg: *mut c_void,
            ...
        ) -> c_int;
    }
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    // SAFETY: __errno_location always returns a valid pointer to this
    // thread's errno.
    unsafe { *__errno_location() }
}

/// Turns a C-style `-1 and errno` result into `Err(errno)`.
pub fn check(ret: c_int) -> Result<c_int, c_int> {
    if ret < 0 {
        Err(errno())
    } else {
        Ok(ret)
    }
}

#[cfg(feature = "failpoints")]
extern "C" {
    pub fn sendto(
        fd: c_int,
        buf: *const c_void,
        len: size_t,
        flags: c_int,
        addr: *const sockaddr_un,
        addr_len: socklen_t,
    ) -> ssize_t;
}
