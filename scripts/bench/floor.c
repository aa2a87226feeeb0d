/* floor [-q] [-t] -c FILE [--] COMMAND [ARG]...
 *
 * The benchmark's floor: the least work any socket-based dtee has to do on
 * this machine, so that dtee's times can be judged against it. It wires the
 * command like dtee does (one bound AF_UNIX datagram socket in a private
 * directory, two sockets bound and connected to it as the command's fd 1
 * and 2, buffers raised as far as allowed), then receives in recvmmsg
 * batches and appends each batch to FILE with a single writev, in order,
 * telling the streams apart by the sender's address.
 *
 * What it leaves out, on purpose: copies to its own stdout/stderr (the
 * bench points dtee's at /dev/null, so the floor skips them unless -t is
 * given, to show what they cost), option parsing, signal handling and
 * error reporting beyond the essentials.
 * With -q it holds stdout messages in an unlinked temporary file like
 * dtee's cron mode, and writes them out only if the command fails or wrote
 * to stderr.
 *
 * It stops when the command has exited and the queue is drained, and exits
 * with the command's status (128 + N for signal N). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Datagrams per recvmmsg. The kernel queues at most net.unix.max_dgram_qlen
 * + 1 datagrams (11 by default) for the input socket, so more slots than
 * that are rarely filled; they cost only address space. */
#define SLOTS 64
/* Requested socket buffer; Linux doubles it, giving the 4 MiB the dtee shim
 * aims for (a datagram must fit the sender's buffer). */
#define BUFFER (2 << 20)

static void die(int status, const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(status);
}

static volatile sig_atomic_t exited;
static int wake_fd = -1;

/* A blocking recvmmsg would miss a SIGCHLD that lands just before it: so
 * the handler also sends an empty datagram from an anonymous socket, which
 * ends the wait (and is ignored as coming from neither stream). If the
 * queue is full the send fails, but then recvmmsg cannot block either. */
static void on_child(int sig)
{
	int saved = errno;
	(void)sig;
	exited = 1;
	send(wake_fd, "", 0, MSG_DONTWAIT);
	errno = saved;
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(69, "socket");
	return fd;
}

static int bound_socket(const char *dir, const char *name, struct sockaddr_un *a)
{
	int fd = unix_socket();
	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	if ((size_t)snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name) >=
	    sizeof a->sun_path) {
		errno = ENAMETOOLONG;
		die(69, dir);
	}
	if (bind(fd, (struct sockaddr *)a, sizeof *a))
		die(69, "bind");
	return fd;
}

/* Raises a socket buffer past the sysctl limit when privileged
 * (SO_*BUFFORCE), else up to it; returns the effective size. */
static int raise_buffer(int fd, int force, int plain)
{
	int v = BUFFER;
	socklen_t len = sizeof v;
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof v))
		setsockopt(fd, SOL_SOCKET, plain, &v, sizeof v);
	getsockopt(fd, SOL_SOCKET, plain, &v, &len);
	return v;
}

static void write_all(int fd, struct iovec *iov, int count)
{
	while (count > 0) {
		ssize_t n = writev(fd, iov, count);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(74, "writev");
		}
		for (; count > 0 && (size_t)n >= iov->iov_len; iov++, count--)
			n -= iov->iov_len;
		if (count) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
}

int main(int argc, char **argv)
{
	const char *combined = NULL;
	int cron = 0, tee = 0, opt;
	while ((opt = getopt(argc, argv, "+qtc:")) != -1) {
		if (opt == 'q')
			cron = 1;
		else if (opt == 't')
			tee = 1;
		else if (opt == 'c')
			combined = optarg;
		else
			return 64;
	}
	if (!combined || optind >= argc) {
		fprintf(stderr, "usage: floor [-q] [-t] -c FILE [--] COMMAND [ARG]...\n");
		return 64;
	}
	int file = open(combined, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (file < 0)
		die(73, combined);
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int held = -1;
	if (cron && (held = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0)
		die(73, "temporary file");

	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	if ((size_t)snprintf(dir, sizeof dir, "%s/floorXXXXXX", tmp) >= sizeof dir ||
	    !mkdtemp(dir))
		die(69, "temporary directory");
	struct sockaddr_un in_addr, out_addr, err_addr;
	int in = bound_socket(dir, "i", &in_addr);
	int out = bound_socket(dir, "o", &out_addr);
	int err = bound_socket(dir, "e", &err_addr);
	wake_fd = unix_socket();
	if (connect(out, (struct sockaddr *)&in_addr, sizeof in_addr) ||
	    connect(err, (struct sockaddr *)&in_addr, sizeof in_addr) ||
	    connect(wake_fd, (struct sockaddr *)&in_addr, sizeof in_addr))
		die(69, "connect");
	raise_buffer(in, SO_RCVBUFFORCE, SO_RCVBUF);
	int out_buf = raise_buffer(out, SO_SNDBUFFORCE, SO_SNDBUF);
	int err_buf = raise_buffer(err, SO_SNDBUFFORCE, SO_SNDBUF);
	unlink(in_addr.sun_path);
	unlink(out_addr.sun_path);
	unlink(err_addr.sun_path);
	rmdir(dir);
	/* A datagram reports its sender's bound name: DIR/o or DIR/e. */
	size_t dir_len = strlen(dir);
	socklen_t name_len = offsetof(struct sockaddr_un, sun_path) + dir_len + 3;

	struct sigaction sa = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
	sigaction(SIGCHLD, &sa, NULL);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, err, 2);
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setsigmask(&attr, &none);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[optind], &fa, &attr, argv + optind, environ);
	if (rc) {
		errno = rc;
		die(66, argv[optind]);
	}
	close(out);
	close(err);

	/* Each slot holds the largest datagram a sender's buffer admits. */
	size_t slot = out_buf > err_buf ? out_buf : err_buf;
	char *mem = mmap(NULL, SLOTS * slot, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die(70, "mmap");
	struct mmsghdr msgs[SLOTS];
	struct iovec slots[SLOTS], to_file[SLOTS], to_held[SLOTS], to_tee[SLOTS];
	struct sockaddr_un from[SLOTS];
	for (int k = 0; k < SLOTS; k++) {
		slots[k] = (struct iovec){mem + k * slot, slot};
		msgs[k].msg_hdr = (struct msghdr){.msg_name = &from[k], .msg_iov = &slots[k],
						  .msg_iovlen = 1};
	}

	int saw_stderr = 0;
	for (;;) {
		for (int k = 0; k < SLOTS; k++)
			msgs[k].msg_hdr.msg_namelen = sizeof from[k];
		/* Block for the first datagram while the command runs; once it has
		 * exited, take what is queued and stop at the first EAGAIN. */
		int n = recvmmsg(in, msgs, SLOTS, exited ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die(74, "recvmmsg");
		}
		int n_file = 0, n_held = 0, n_tee = 0, tee_fd = 0;
		for (int k = 0; k < n; k++) {
			struct msghdr *h = &msgs[k].msg_hdr;
			char tag = h->msg_namelen == name_len && !memcmp(from[k].sun_path, dir, dir_len)
					   ? from[k].sun_path[dir_len + 1] : 0;
			int s = tag == 'o' ? 1 : tag == 'e' ? 2 : 0;
			if (!s)
				continue; /* neither stream: the wake-up or a stranger */
			if (h->msg_flags & MSG_TRUNC) {
				fprintf(stderr, "floor: datagram larger than a slot\n");
				return 70;
			}
			struct iovec m = {slots[k].iov_base, msgs[k].msg_len};
			to_file[n_file++] = m;
			if (s == 2)
				saw_stderr = 1;
			if (s == 1 && held >= 0) {
				to_held[n_held++] = m;
			} else if (tee) {
				/* One write per run of same-stream messages keeps the
				 * order across our own stdout and stderr. */
				if (s != tee_fd) {
					write_all(tee_fd, to_tee, n_tee);
					n_tee = 0;
				}
				tee_fd = s;
				to_tee[n_tee++] = m;
			}
		}
		write_all(file, to_file, n_file);
		write_all(held, to_held, n_held);
		write_all(tee_fd, to_tee, n_tee);
	}

	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(71, "waitpid");
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (held >= 0 && (code || saw_stderr)) {
		/* The held stdout, then a one-line report: enough to be a fair
		 * stand-in for cron mode; the bench's cron runs never get here. */
		lseek(held, 0, SEEK_SET);
		ssize_t got;
		while ((got = read(held, mem, slot)) > 0)
			write_all(1, &(struct iovec){mem, got}, 1);
		fprintf(stderr, "floor: %s: exited with status %d\n", argv[optind], code);
	}
	return code;
}
