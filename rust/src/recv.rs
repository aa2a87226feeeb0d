//! Batched receive: every datagram queued on the input socket, in order, each
//! into its own slot of the caller's buffer, with its length, stream and the
//! time the kernel queued it (docs/behaviour.md B3).

use crate::abi::{event, stream};
use crate::batch::Batch;
use crate::failable;
use crate::signals;
use crate::sockets::SENDERS;
use crate::sys::{self, cmsghdr, iovec, mmsghdr, pollfd, sockaddr_un, timespec, POLLIN};
use crate::timer;
use std::cell::RefCell;
use std::ffi::{c_int, c_uint, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

/// The most slots one call fills. The kernel queues at most
/// net.unix.max_dgram_qlen + 1 datagrams (11 by default) before senders
/// block, so this leaves room for a raised limit without large stack use.
pub const MAX_SLOTS: usize = 64;

/// Control data of one datagram: room for one SCM_TIMESTAMPNS message
/// (header and timespec) and then some, aligned as cmsghdr needs.
type Control = [u64; 8];

fn same_path(addr: &sockaddr_un, len: usize, expected: &sockaddr_un) -> bool {
    let got = &addr.sun_path[..len.saturating_sub(2).min(addr.sun_path.len())];
    let got = got.split(|&b| b == 0).next().unwrap_or(&[]);
    let want = expected.sun_path.split(|&b| b == 0).next().unwrap_or(&[]);
    !got.is_empty() && got == want
}

/// The headers recvmmsg fills. Kept per thread so that a call only sets up
/// the slots it uses instead of building ~12 KB of headers every time.
struct Scratch {
    names: [sockaddr_un; MAX_SLOTS],
    iovs: [iovec; MAX_SLOTS],
    controls: [Control; MAX_SLOTS],
    msgs: [mmsghdr; MAX_SLOTS],
}

thread_local! {
    // SAFETY: all-zero bytes are valid for these plain C structs (null
    // pointers, zero lengths); every field used is set before each use.
    static SCRATCH: RefCell<Box<Scratch>> = RefCell::new(Box::new(unsafe { std::mem::zeroed() }));
}

/// The SCM_TIMESTAMPNS time in a datagram's control data, in nanoseconds
/// since the Unix epoch; 0 when there is none.
fn queued_at(hdr: &sys::msghdr) -> i64 {
    let header = std::mem::size_of::<cmsghdr>();
    let end = hdr.msg_controllen.min(std::mem::size_of::<Control>());
    let mut offset = 0;
    while offset + header <= end {
        // SAFETY: the kernel wrote a cmsghdr at this aligned offset within
        // the control buffer; read_unaligned spares any alignment question.
        let cmsg = unsafe {
            ptr::read_unaligned((hdr.msg_control as *const u8).add(offset) as *const cmsghdr)
        };
        if cmsg.cmsg_len < header || offset + cmsg.cmsg_len > end {
            break;
        }
        if cmsg.cmsg_level == sys::SOL_SOCKET
            && cmsg.cmsg_type == sys::SCM_TIMESTAMPNS
            && cmsg.cmsg_len >= header + std::mem::size_of::<timespec>()
        {
            // SAFETY: the timespec follows the header within the buffer.
            let time = unsafe {
                ptr::read_unaligned(
                    (hdr.msg_control as *const u8).add(offset + header) as *const timespec
                )
            };
            return time.tv_sec * 1_000_000_000 + time.tv_nsec;
        }
        // CMSG_NXTHDR: the next header starts at the next multiple of 8.
        offset += cmsg.cmsg_len.next_multiple_of(std::mem::size_of::<usize>());
    }
    0
}

/// Takes whatever is queued without blocking. Ok(0) when nothing is.
fn take_queued(
    sock: c_int,
    batch: &mut Batch,
    times: &mut [i64],
    events: &mut u32,
) -> Result<usize, c_int> {
    SCRATCH.with_borrow_mut(|scratch| take_queued_into(scratch, sock, batch, times, events))
}

fn take_queued_into(
    scratch: &mut Scratch,
    sock: c_int,
    batch: &mut Batch,
    times: &mut [i64],
    events: &mut u32,
) -> Result<usize, c_int> {
    let Scratch {
        names,
        iovs,
        controls,
        msgs,
    } = scratch;
    let slots = batch.slots().min(times.len()).min(MAX_SLOTS);
    for i in 0..slots {
        iovs[i].iov_base = batch.slot(i) as *mut c_void;
        iovs[i].iov_len = batch.slot_size();
        let hdr = &mut msgs[i].msg_hdr;
        hdr.msg_iov = &mut iovs[i];
        hdr.msg_iovlen = 1;
        hdr.msg_name = &mut names[i] as *mut sockaddr_un as *mut c_void;
        hdr.msg_namelen = std::mem::size_of::<sockaddr_un>() as sys::socklen_t;
        hdr.msg_control = controls[i].as_mut_ptr() as *mut c_void;
        hdr.msg_controllen = std::mem::size_of::<Control>();
    }
    let n = loop {
        // SAFETY: msgs[..slots] point at live iovecs, names and buffer slots.
        let n = unsafe {
            failable::recvmmsg(
                sock,
                msgs.as_mut_ptr(),
                slots as c_uint,
                sys::MSG_DONTWAIT,
                ptr::null_mut(),
            )
        };
        if n >= 0 {
            break n as usize;
        }
        match sys::errno() {
            sys::EINTR => continue,
            sys::EAGAIN => return Ok(0),
            e => return Err(e),
        }
    };
    let senders = *SENDERS.lock().unwrap_or_else(|e| e.into_inner());
    for i in 0..n {
        let hdr = &msgs[i].msg_hdr;
        batch.lens[i] = msgs[i].msg_len;
        times[i] = queued_at(hdr);
        let len = hdr.msg_namelen as usize;
        let stream = match &senders {
            Some((out, _)) if same_path(&names[i], len, out) => stream::STDOUT,
            Some((_, err)) if same_path(&names[i], len, err) => stream::STDERR,
            _ => stream::FOREIGN,
        };
        // Slots hold the largest datagram the kernel builds, but a command
        // could still outgrow them: such a message is lost, and that must
        // not go unnoticed.
        if hdr.msg_flags & sys::MSG_TRUNC != 0 && stream != stream::FOREIGN {
            *events |= event::TRUNCATED;
            batch.streams[i] = stream::FOREIGN;
        } else {
            batch.streams[i] = stream;
        }
    }
    Ok(n)
}

/// How many data-returning calls pass between looks at the child's pidfd.
const CHILD_CHECK_INTERVAL: u32 = 16;
static BUSY_CALLS: AtomicU32 = AtomicU32::new(0);

fn readable(fd: c_int, timeout_ms: c_int) -> bool {
    let mut pfd = pollfd {
        fd,
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: pfd is a live pollfd.
    unsafe { sys::poll(&mut pfd, 1, timeout_ms) > 0 && pfd.revents != 0 }
}

/// Returns the number of datagrams received (possibly 0) and sets `events`.
/// Blocks in poll() on the socket, the child's pidfd (when >= 0) and the
/// signal self-pipe for at most `timeout_ms` (-1: no limit), and no later
/// than the time limit's deadline (`timer.rs`), when nothing is queued and
/// no signal is pending.
pub fn recv(
    sock: c_int,
    pidfd: c_int,
    batch: &mut Batch,
    times: &mut [i64],
    timeout_ms: c_int,
    events: &mut u32,
) -> Result<usize, c_int> {
    *events = 0;
    // A pending signal is reported even while data keeps arriving, so that a
    // chatty command cannot delay dtee's reaction to it.
    if signals::pending() {
        *events |= event::SIGNAL;
    }
    if timer::expired() {
        *events |= event::TIMER;
    }
    let n = take_queued(sock, batch, times, events)?;
    if n > 0 || *events != 0 {
        // While data keeps coming the poll below never runs; look at the
        // child now and then so that a grandchild that keeps writing cannot
        // keep dtee reading after the command has exited.
        if pidfd >= 0
            && BUSY_CALLS
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(CHILD_CHECK_INTERVAL)
            && readable(pidfd, 0)
        {
            *events |= event::CHILD;
        }
        return Ok(n);
    }
    let mut fds = [
        pollfd {
            fd: sock,
            events: POLLIN,
            revents: 0,
        },
        pollfd {
            fd: pidfd,
            events: POLLIN,
            revents: 0,
        },
        pollfd {
            fd: signals::wake_fd(),
            events: POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: fds is a live array of the length given; poll ignores negative fds.
    let ready = unsafe { sys::poll(fds.as_mut_ptr(), fds.len() as u64, timer::limit(timeout_ms)) };
    if ready < 0 && sys::errno() != sys::EINTR {
        return Err(sys::errno());
    }
    if timer::expired() {
        *events |= event::TIMER;
    }
    if fds[1].revents != 0 {
        *events |= event::CHILD;
    }
    if fds[2].revents != 0 {
        signals::drain_wake_fd();
    }
    if signals::pending() {
        *events |= event::SIGNAL;
    }
    if fds[0].revents != 0 {
        return take_queued(sock, batch, times, events);
    }
    Ok(0)
}

/// Waits up to `timeout_ms` for a caught signal (replay's pacing): whether
/// one is pending.
pub fn pause(timeout_ms: c_int) -> Result<bool, c_int> {
    // Nothing to wait for (an unpaced replay, once a batch): no system call.
    if signals::pending() || timeout_ms == 0 {
        return Ok(signals::pending());
    }
    let mut pfd = pollfd {
        fd: signals::wake_fd(),
        events: POLLIN,
        revents: 0,
    };
    // SAFETY: pfd is a live pollfd; poll ignores a negative fd (no handler yet).
    let ready = unsafe { sys::poll(&mut pfd, 1, timeout_ms) };
    if ready < 0 && sys::errno() != sys::EINTR {
        return Err(sys::errno());
    }
    if pfd.revents != 0 {
        signals::drain_wake_fd();
    }
    Ok(signals::pending())
}
