//! Descriptors dtee writes to: output files, its own stdout/stderr and the
//! cron-mode buffer file.

use crate::abi::replay_stage;
use crate::batch::Batch;
use crate::recv::MAX_SLOTS;
use crate::signals;
use crate::sys::{self, iovec};
use std::ffi::{c_char, c_int, c_void, CStr};

pub fn open_output(path: &CStr, append: bool) -> Result<c_int, c_int> {
    let mode = if append { sys::O_APPEND } else { sys::O_TRUNC };
    let flags = sys::O_WRONLY | sys::O_CREAT | sys::O_CLOEXEC | sys::O_NOCTTY | mode;
    // SAFETY: path is NUL-terminated.
    sys::check(unsafe { sys::open(path.as_ptr(), flags, 0o666) })
}

/// Opens a file to read (a log to replay); a directory is refused here
/// (EISDIR) rather than at the first read.
pub fn open_input(path: &CStr) -> Result<c_int, c_int> {
    // SAFETY: path is NUL-terminated.
    let fd = sys::check(unsafe { sys::open(path.as_ptr(), sys::O_CLOEXEC, 0) })?;
    let mut st = sys::statx_t::zeroed();
    // SAFETY: the path is an empty NUL-terminated string and st is a live statx_t.
    let ok = unsafe {
        sys::statx(
            fd,
            c"".as_ptr(),
            sys::AT_EMPTY_PATH,
            sys::STATX_TYPE,
            &mut st,
        )
    };
    if ok == 0 && st.stx_mode & sys::S_IFMT == 0o040000 {
        close(fd)?;
        return Err(sys::EISDIR);
    }
    Ok(fd)
}

/// Reads what is there (up to `buf.len()` bytes; 0 at the end), going on after EINTR.
pub fn read(fd: c_int, buf: &mut [u8]) -> Result<usize, c_int> {
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { sys::read(fd, buf.as_mut_ptr() as *mut c_void, buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match sys::errno() {
            sys::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// How long a write may make no progress once dtee is stopping before it
/// gives up (`signals::stopping`): a reader that reads at all keeps it
/// going, one that does not cannot hold dtee (docs/behaviour.md A7).
const STALL_MS: c_int = 200;

/// The most a careful write asks for: PIPE_BUF, the size a pipe that poll()
/// calls writable takes without blocking.
const CAREFUL_CHUNK: usize = 4096;

/// Waits until `fd` takes more data: false when `timeout_ms` (>= 0) passes
/// first, and at once when it does not take any while a signal that stops
/// dtee is pending. A descriptor dtee made blocking can be made
/// non-blocking again by the command through a shared description (its
/// stdin on the same terminal or socket).
fn wait_writable(fd: c_int, timeout_ms: c_int) -> Result<bool, c_int> {
    let mut fds = [
        sys::pollfd {
            fd,
            events: sys::POLLOUT,
            revents: 0,
        },
        sys::pollfd {
            fd: signals::wake_fd(),
            events: sys::POLLIN,
            revents: 0,
        },
    ];
    loop {
        let timeout = if signals::interrupt_due() {
            0
        } else {
            timeout_ms
        };
        // SAFETY: fds is a live array of the length given; poll ignores a negative fd.
        let ready = unsafe { sys::poll(fds.as_mut_ptr(), fds.len() as u64, timeout) };
        match ready {
            0 => return Ok(false),
            n if n > 0 && fds[0].revents != 0 => return Ok(true),
            // Only a wake-up byte: the receive loop looks at the pending set
            // itself, so the byte is not needed any more.
            n if n > 0 => signals::drain_wake_fd(),
            _ if sys::errno() == sys::EINTR => {}
            _ => return Err(sys::errno()),
        }
    }
}

/// Writes every byte of `iovs`, going on after short writes, EINTR and
/// EAGAIN. Nothing but empty iovecs is one zero-length write: to a datagram
/// socket that is a message of its own (docs/behaviour.md A7). That one
/// goes through write(2): Linux's writev returns at once when there is
/// nothing to write, without a word to the socket.
/// A failure says how many of the iovecs were written whole first. EINTR:
/// it would have had to wait for the reader while a signal that stops dtee
/// is pending, or (dtee stopping) the reader took nothing for STALL_MS;
/// a file or a reader that keeps up still gets everything.
///
/// The usual write is one plain writev, one system call. Once a write came
/// back short, interrupted or with EAGAIN (the reader is behind), while a
/// stop is pending and once dtee is stopping, it is careful instead: poll()
/// on the fd and the signal self-pipe, then at most PIPE_BUF at a time,
/// which a pipe that poll() calls writable takes without sleeping, so that
/// a signal cannot find it asleep in the kernel with nothing to wake it
/// (whole writes where that would split a datagram, or where EAGAIN showed
/// that the description does not sleep).
/// The plain writev sleeps in the kernel when the reader is behind, and a
/// signal that stops dtee ends that sleep (it is caught without SA_RESTART,
/// signals.rs); one that lands in the instant between the check and that
/// sleep is seen when the reader makes room or another signal comes.
fn write_all_vectored(fd: c_int, mut iovs: &mut [iovec]) -> Result<(), (usize, c_int)> {
    if iovs.is_empty() {
        return Ok(());
    }
    let mut written = 0;
    let mut left: usize = iovs.iter().map(|iov| iov.iov_len).sum();
    let empty = left == 0;
    let stopping = signals::stopping();
    let mut behind = false;
    // The most one careful write asks for, decided at the first one: a
    // message to a datagram socket must go whole (its boundaries are the
    // messages), and a non-blocking description (EAGAIN) never sleeps.
    let mut limit: Option<usize> = None;
    loop {
        let careful = behind || stopping || signals::interrupt_due();
        if careful {
            let timeout = if stopping { STALL_MS } else { -1 };
            if !wait_writable(fd, timeout).map_err(|e| (written, e))? {
                return Err((written, sys::EINTR));
            }
        }
        let count = iovs.len().min(1024) as c_int;
        let most = if careful {
            *limit.get_or_insert_with(|| {
                if keeps_boundaries(fd) {
                    usize::MAX
                } else {
                    CAREFUL_CHUNK
                }
            })
        } else {
            usize::MAX
        };
        // SAFETY: iovs describes live, readable memory; an empty write reads none.
        let mut done = unsafe {
            if empty {
                sys::write(fd, iovs[0].iov_base, 0)
            } else if most < usize::MAX {
                let first = iovs.iter().find(|iov| iov.iov_len > 0).unwrap_or(&iovs[0]);
                sys::write(fd, first.iov_base, first.iov_len.min(most))
            } else {
                sys::writev(fd, iovs.as_ptr(), count)
            }
        };
        if done < 0 {
            match sys::errno() {
                sys::EAGAIN => {
                    behind = true;
                    limit = Some(usize::MAX);
                    continue;
                }
                sys::EINTR => {
                    behind = true;
                    continue;
                }
                e => return Err((written, e)),
            }
        }
        if done == 0 && left > 0 {
            return Err((written, sys::EIO));
        }
        left -= done as usize;
        if left == 0 {
            return Ok(());
        }
        behind = true;
        while let Some(first) = iovs.first_mut() {
            if (done as usize) < first.iov_len {
                // SAFETY: advancing within the same iovec's memory.
                first.iov_base =
                    unsafe { (first.iov_base as *mut u8).add(done as usize) } as *mut c_void;
                first.iov_len -= done as usize;
                break;
            }
            done -= first.iov_len as isize;
            iovs = &mut iovs[1..];
            written += 1;
        }
    }
}

pub fn write_all(fd: c_int, buf: &[u8]) -> Result<(), c_int> {
    let mut iov = [iovec {
        iov_base: buf.as_ptr() as *mut c_void,
        iov_len: buf.len(),
    }];
    write_all_vectored(fd, &mut iov).map_err(|(_, e)| e)
}

/// Writes the messages `from..to` of a batch whose stream bit is in `mask`
/// (bit 1 << stream), in order, in as few system calls as possible.
/// Returns how many messages that was; a failure says at which message it
/// happened (every wanted one before it was written whole).
pub fn write_batch(
    fd: c_int,
    batch: &Batch,
    from: usize,
    to: usize,
    mask: u32,
) -> Result<usize, (usize, c_int)> {
    if to > batch.slots() || to > MAX_SLOTS || from > to {
        return Err((from, sys::EINVAL));
    }
    let mut index = [0usize; MAX_SLOTS];
    let mut iovs: [iovec; MAX_SLOTS] = std::array::from_fn(|_| iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    });
    let mut used = 0;
    for i in from..to {
        let len = batch.lens[i] as usize;
        if mask.checked_shr(batch.streams[i] as u32).unwrap_or(0) & 1 == 0 {
            continue;
        }
        iovs[used].iov_base = batch.slot(i) as *mut c_void;
        iovs[used].iov_len = len.min(batch.slot_size());
        index[used] = i;
        used += 1;
    }
    write_all_vectored(fd, &mut iovs[..used])
        .map(|_| used)
        .map_err(|(written, e)| (index[written], e))
}

pub fn set_blocking(fd: c_int) -> Result<(), c_int> {
    // SAFETY: fcntl with integer arguments on any descriptor number.
    let flags = sys::check(unsafe { sys::fcntl(fd, sys::F_GETFL, 0) })?;
    if flags & sys::O_NONBLOCK != 0 {
        // SAFETY: as above.
        sys::check(unsafe { sys::fcntl(fd, sys::F_SETFL, flags & !sys::O_NONBLOCK) })?;
    }
    Ok(())
}

pub fn close(fd: c_int) -> Result<(), c_int> {
    // SAFETY: closing a descriptor the caller owns.
    sys::check(unsafe { sys::close(fd) }).map(|_| ())
}

/// Creates the cron-mode buffer file from `template` (rewritten in place to
/// the name used) and unlinks it at once, so nothing is left behind.
pub fn temp_file(template: &mut [u8]) -> Result<c_int, c_int> {
    // SAFETY: the caller guarantees template is NUL-terminated and writable.
    let fd =
        sys::check(unsafe { sys::mkostemp(template.as_mut_ptr() as *mut c_char, sys::O_CLOEXEC) })?;
    // SAFETY: mkostemp left the NUL-terminated name of the file it created.
    unsafe { sys::unlink(template.as_ptr() as *const c_char) };
    Ok(fd)
}

/// Copies the buffer file `src` from its start: piece i (`pieces[i]` bytes)
/// to `dsts[i]`, in large writes, or with `whole` each piece in a write of
/// its own (a destination that keeps message boundaries: an outer dtee).
/// Cron mode holds stdout alone, or with --failures-only both streams in
/// turn: a piece is then a run of one stream's messages.
pub fn replay(
    src: c_int,
    pieces: &[u64],
    dsts: &[c_int],
    whole: bool,
) -> Result<(), (c_int, c_int)> {
    // SAFETY: plain system call.
    if unsafe {
        sys::lseek(src, 0, 0 /* SEEK_SET */)
    } < 0
    {
        return Err((replay_stage::SEEK, sys::errno()));
    }
    let largest = pieces.iter().copied().max().unwrap_or(0);
    let chunk = if whole {
        largest
    } else {
        largest.min(256 << 10)
    };
    let mut buf = vec![0u8; chunk as usize];
    for (&len, &dst) in pieces.iter().zip(dsts) {
        let mut left = len;
        while left > 0 {
            let n = chunk.min(left) as usize;
            read_exact(src, &mut buf[..n])?;
            write_all(dst, &buf[..n]).map_err(|e| (replay_stage::WRITE, e))?;
            left -= n as u64;
        }
    }
    Ok(())
}

/// Fills `buf` from `src`; the file ending first is EIO (it is shorter than
/// what was written to it).
fn read_exact(src: c_int, buf: &mut [u8]) -> Result<(), (c_int, c_int)> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: buf is writable from `done` to its end.
        let n = unsafe {
            sys::read(
                src,
                buf[done..].as_mut_ptr() as *mut c_void,
                buf.len() - done,
            )
        };
        match n {
            0 => return Err((replay_stage::READ, sys::EIO)),
            _ if n < 0 => match sys::errno() {
                sys::EINTR => continue,
                e => return Err((replay_stage::READ, e)),
            },
            _ => done += n as usize,
        }
    }
    Ok(())
}

/// Opens /dev/null on whichever of fds 0-2 are closed, so that no file or
/// socket dtee opens later lands on one of them, and marks every one that was closed when dtee started
/// close-on-exec, so that the command finds it closed (docs/behaviour.md
/// A7). Returns the mask of those opened here.
pub fn ensure_std_fds() -> Result<c_int, c_int> {
    let closed_at_start = crate::environ::closed_std_fds() as c_int;
    let mut opened = 0;
    for fd in 0..3 {
        // SAFETY: F_GETFD only inspects the descriptor.
        if unsafe {
            sys::fcntl(fd, 1 /* F_GETFD */, 0)
        } < 0
        {
            let flags = if fd == 0 {
                0 /* O_RDONLY */
            } else {
                sys::O_WRONLY
            };
            // SAFETY: the path is NUL-terminated; open takes the lowest free
            // descriptor, which is `fd` since all lower ones are open.
            let got = sys::check(unsafe { sys::open(c"/dev/null".as_ptr(), flags, 0) })?;
            if got != fd {
                close(got)?;
                return Err(sys::EIO);
            }
            opened |= 1 << fd;
        }
        if (opened | closed_at_start) & (1 << fd) != 0 {
            // SAFETY: fcntl with integer arguments on an open descriptor.
            sys::check(unsafe {
                sys::fcntl(fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */)
            })?;
        }
    }
    Ok(opened)
}

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
    let appending = |fd| unsafe { sys::fcntl(fd, sys::F_GETFL, 0) } & sys::O_APPEND != 0;
    appending(a) && appending(b)
}

/// What `fd` leads to: [device, inode] in `identity` (equal for two
/// descriptors of one file, pipe, socket or device) and its kind
/// (`abi::fd_kind`), plus `abi::fd_kind::KEEPS_BOUNDARIES` when it keeps
/// write boundaries.
pub fn fd_info(fd: c_int, identity: &mut [u64]) -> Result<c_int, c_int> {
    use crate::abi::fd_kind;
    let mut st = sys::statx_t::zeroed();
    let mask = sys::STATX_TYPE | sys::STATX_INO;
    // SAFETY: the path is an empty NUL-terminated string and st is a live statx_t.
    sys::check(unsafe { sys::statx(fd, c"".as_ptr(), sys::AT_EMPTY_PATH, mask, &mut st) })?;
    identity[0] = ((st.stx_dev_major as u64) << 32) | st.stx_dev_minor as u64;
    identity[1] = st.stx_ino;
    let kind = match st.stx_mode as u32 & sys::S_IFMT as u32 {
        0o010000 => fd_kind::PIPE,
        0o140000 => fd_kind::SOCKET,
        0o100000 => fd_kind::FILE,
        0o020000 | 0o060000 => fd_kind::DEVICE,
        _ => fd_kind::OTHER,
    };
    let boundaries = if keeps_boundaries(fd) {
        fd_kind::KEEPS_BOUNDARIES
    } else {
        0
    };
    Ok(kind | boundaries)
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
