//! The system calls a failpoint can make fail (`failpoints.rs`, tests
//! only): wrappers with the same signatures and safety requirements as the C
//! functions of the same names (`sys::raw`), which are the plain calls in a
//! release build. Kept apart from `sys.rs` so that the declarations depend
//! on nothing, and `failpoints.rs` can use them without an import circle.

#[cfg(feature = "failpoints")]
use crate::sys::__errno_location;
use crate::sys::raw;
use crate::sys::{iovec, mmsghdr, pid_t, sockaddr_un, socklen_t, ssize_t, F_SETFL};
use std::ffi::{c_char, c_int, c_uint, c_void};

/// Sets errno, for a failpoint's `-1 and errno` result.
#[cfg(feature = "failpoints")]
fn set_errno(errno: c_int) {
    // SAFETY: __errno_location always returns a valid pointer to this
    // thread's errno.
    unsafe { *__errno_location() = errno };
}

/// Returns `$fail` with errno set when the failpoint `$name` fires; nothing
/// at all without the `failpoints` feature.
macro_rules! failpoint {
    ($name:expr, $fail:expr) => {
        #[cfg(feature = "failpoints")]
        if let Some(errno) = crate::failpoints::fail($name) {
            set_errno(errno);
            return $fail;
        }
    };
}

// fcntl takes exactly one integer argument.

pub unsafe fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    failpoint!("socket", -1);
    raw::socket(domain, ty, protocol)
}

pub unsafe fn bind(fd: c_int, addr: *const sockaddr_un, len: socklen_t) -> c_int {
    failpoint!("bind", -1);
    raw::bind(fd, addr, len)
}

pub unsafe fn connect(fd: c_int, addr: *const sockaddr_un, len: socklen_t) -> c_int {
    failpoint!("connect", -1);
    raw::connect(fd, addr, len)
}

pub unsafe fn shutdown(fd: c_int, how: c_int) -> c_int {
    failpoint!("shutdown", -1);
    raw::shutdown(fd, how)
}

pub unsafe fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    failpoint!("setsockopt", -1);
    raw::setsockopt(fd, level, name, val, len)
}

pub unsafe fn recvmmsg(
    fd: c_int,
    msgs: *mut mmsghdr,
    vlen: c_uint,
    flags: c_int,
    timeout: *mut c_void,
) -> c_int {
    if crate::failpoints::counts_recv(fd) {
        failpoint!("recv", -1);
    }
    raw::recvmmsg(fd, msgs, vlen, flags, timeout)
}

/// The signal self-pipe (signals.rs): failable, so that a signal set-up failure can be tested.
pub unsafe fn pipe2(fds: *mut c_int, flags: c_int) -> c_int {
    failpoint!("pipe2", -1);
    raw::pipe2(fds, flags)
}

pub unsafe fn mkdtemp(template: *mut c_char) -> *mut c_char {
    failpoint!("mkdtemp", std::ptr::null_mut());
    raw::mkdtemp(template)
}

pub unsafe fn mkostemp(template: *mut c_char, flags: c_int) -> c_int {
    failpoint!("mkostemp", -1);
    let fd = raw::mkostemp(template, flags);
    // Only the cron buffer file is made with mkostemp.
    crate::failpoints::set_buffer_fd(fd);
    fd
}

pub unsafe fn close(fd: c_int) -> c_int {
    #[cfg(feature = "failpoints")]
    if let Some(errno) = crate::failpoints::fail("close") {
        // Linux releases the descriptor even when close reports an error.
        raw::close(fd);
        set_errno(errno);
        return -1;
    }
    raw::close(fd)
}

pub unsafe fn writev(fd: c_int, iov: *const iovec, cnt: c_int) -> ssize_t {
    if crate::failpoints::is_buffer_fd(fd) {
        failpoint!("buffer_write", -1);
    }
    failpoint!("write", -1);
    raw::writev(fd, iov, cnt)
}

pub unsafe fn lseek(fd: c_int, off: i64, whence: c_int) -> i64 {
    failpoint!("lseek", -1);
    raw::lseek(fd, off, whence)
}

pub unsafe fn fcntl(fd: c_int, cmd: c_int, arg: c_int) -> c_int {
    if cmd == F_SETFL {
        failpoint!("fcntl_setfl", -1);
    }
    failpoint!("fcntl", -1);
    raw::fcntl(fd, cmd, arg)
}

pub unsafe fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t {
    failpoint!("waitpid", -1);
    raw::waitpid(pid, status, options)
}

/// The clone(2) that starts the command; see `spawn.rs` for its use.
pub unsafe fn clone(
    child: extern "C" fn(*mut c_void) -> c_int,
    stack: *mut c_void,
    flags: c_int,
    arg: *mut c_void,
) -> c_int {
    failpoint!("fork", -1);
    raw::clone(child, stack, flags, arg)
}
