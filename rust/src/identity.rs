//! What a descriptor leads to (fd identity): its kind, the file it is, and
//! whether writes to two descriptors may be merged into one.

use crate::failable;
use crate::sys;
use std::ffi::{c_int, c_void, CStr};

/// Whether writes to `b` may be merged into writes to `a` without changing
/// what any reader sees: both are the same open file description (`2>&1`),
/// or the same object where writes have no private offset (a terminal, a
/// pipe, a socket, or a file both opened for appending).
pub fn same_destination(a: c_int, b: c_int) -> bool {
    // Merged writes to a datagram socket would join messages into one.
    if keeps_boundaries(a) || keeps_boundaries(b) {
        return false;
    }
    // SAFETY: plain system calls on descriptor numbers.
    let pid = unsafe { sys::getpid() } as std::ffi::c_long;
    let kcmp = unsafe {
        sys::syscall(
            sys::SYS_KCMP,
            pid,
            pid,
            sys::KCMP_FILE,
            a as std::ffi::c_long,
            b as std::ffi::c_long,
        )
    };
    if kcmp == 0 {
        return true;
    }
    let (mut sa, mut sb) = (sys::statx_t::zeroed(), sys::statx_t::zeroed());
    let mask = sys::STATX_TYPE | sys::STATX_INO;
    // SAFETY: the path is an empty NUL-terminated string and the buffers are live statx_t.
    let ok = unsafe {
        sys::statx(a, c"".as_ptr(), sys::AT_EMPTY_PATH, mask, &mut sa) == 0
            && sys::statx(b, c"".as_ptr(), sys::AT_EMPTY_PATH, mask, &mut sb) == 0
    };
    if !ok
        || sa.stx_ino != sb.stx_ino
        || (sa.stx_dev_major, sa.stx_dev_minor) != (sb.stx_dev_major, sb.stx_dev_minor)
    {
        return false;
    }
    if sa.stx_mode & sys::S_IFMT != sys::S_IFREG {
        return true;
    }
    // SAFETY: F_GETFL only inspects the descriptors.
    let appending = |fd| unsafe { failable::fcntl(fd, sys::F_GETFL, 0) } & sys::O_APPEND != 0;
    appending(a) && appending(b)
}

/// What `fd` leads to: [device, inode, size] in `identity` (the first two
/// equal for two descriptors of one file, pipe, socket or device) and its
/// kind (`abi::fd_kind`), plus `abi::fd_kind::KEEPS_BOUNDARIES` when it
/// keeps write boundaries.
pub fn fd_info(fd: c_int, identity: &mut [u64]) -> Result<c_int, c_int> {
    let mut st = sys::statx_t::zeroed();
    let mask = sys::STATX_TYPE | sys::STATX_INO | sys::STATX_SIZE;
    // SAFETY: the path is an empty NUL-terminated string and st is a live statx_t.
    sys::check(unsafe { sys::statx(fd, c"".as_ptr(), sys::AT_EMPTY_PATH, mask, &mut st) })?;
    let boundaries = if keeps_boundaries(fd) {
        crate::abi::fd_kind::KEEPS_BOUNDARIES
    } else {
        0
    };
    Ok(kind_of(&st, identity) | boundaries)
}

/// What `path` names, symlinks followed, as `fd_info` tells it of a
/// descriptor: without opening it (a FIFO would block, an output be created).
pub fn path_info(path: &CStr, identity: &mut [u64]) -> Result<c_int, c_int> {
    let mut st = sys::statx_t::zeroed();
    let mask = sys::STATX_TYPE | sys::STATX_INO | sys::STATX_SIZE;
    // SAFETY: path is NUL-terminated and st is a live statx_t.
    sys::check(unsafe { sys::statx(sys::AT_FDCWD, path.as_ptr(), 0, mask, &mut st) })?;
    Ok(kind_of(&st, identity))
}

/// The kind (`abi::fd_kind`), identity and size ([device, inode, size]) of a statx result.
fn kind_of(st: &sys::statx_t, identity: &mut [u64]) -> c_int {
    use crate::abi::fd_kind;
    identity[0] = ((st.stx_dev_major as u64) << 32) | st.stx_dev_minor as u64;
    identity[1] = st.stx_ino;
    identity[2] = st.stx_size;
    match st.stx_mode & sys::S_IFMT {
        sys::S_IFIFO => fd_kind::PIPE,
        sys::S_IFSOCK => fd_kind::SOCKET,
        sys::S_IFREG => fd_kind::FILE,
        sys::S_IFCHR | sys::S_IFBLK => fd_kind::DEVICE,
        _ => fd_kind::OTHER,
    }
}

/// Whether `fd` is a socket that keeps write boundaries (datagram or
/// seqpacket, e.g. an outer dtee's): each message must then be written on
/// its own, as the command wrote it; merged, a batch could exceed the
/// largest datagram and be refused whole.
pub fn keeps_boundaries(fd: c_int) -> bool {
    let mut ty: c_int = 0;
    let mut len = std::mem::size_of::<c_int>() as sys::socklen_t;
    // SAFETY: ty and len are valid for writes of the sizes given.
    let ret = unsafe {
        sys::getsockopt(
            fd,
            sys::SOL_SOCKET,
            sys::SO_TYPE,
            &mut ty as *mut c_int as *mut c_void,
            &mut len,
        )
    };
    ret == 0 && (ty == sys::SOCK_DGRAM || ty == sys::SOCK_SEQPACKET)
}
