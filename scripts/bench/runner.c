/* runner [-o FILE] [-e FILE] [-t SECONDS] -- COMMAND [ARG]...
 *
 * Runs one timed command for the harness and prints one JSON line:
 * wall time (monotonic clock around posix_spawn .. wait4), user and system
 * CPU and max RSS from wait4. wait4 reports the process together with the
 * descendants it waited for, so CPU includes the wrapped workload and max
 * RSS is the largest single process of the tree (not a sum).
 *
 * The command gets stdin from /dev/null, stdout/stderr to FILE (default
 * /dev/null, truncated), default signal dispositions, an empty signal mask
 * and its own process group, so that a hung run can be killed whole after
 * the timeout (default 600 s). */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile pid_t child;
static volatile sig_atomic_t timed_out;

/* The command runs in its own process group, so a terminal's signals no
 * longer reach it: pass them on. The alarm is the timeout. */
static void on_signal(int sig)
{
	if (sig == SIGALRM) {
		timed_out = 1;
		sig = SIGKILL;
	}
	if (child > 0)
		kill(-child, sig);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000LL + tv.tv_usec;
}

int main(int argc, char **argv)
{
	const char *out = "/dev/null", *err = "/dev/null";
	unsigned timeout = 600;
	int opt;
	while ((opt = getopt(argc, argv, "+o:e:t:")) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'e': err = optarg; break;
		case 't': timeout = atoi(optarg); break;
		default: return 64;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: runner [-o FILE] [-e FILE] [-t SECONDS] -- COMMAND [ARG]...\n");
		return 64;
	}

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	posix_spawnattr_t attr;
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);

	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
	int forwarded[] = {SIGALRM, SIGHUP, SIGINT, SIGTERM};
	for (unsigned k = 0; k < sizeof forwarded / sizeof *forwarded; k++)
		sigaction(forwarded[k], &sa, NULL);

	pid_t pid;
	long long t0 = now_ns();
	int rc = posix_spawnp(&pid, argv[optind], &fa, &attr, argv + optind, environ);
	if (rc) {
		fprintf(stderr, "runner: %s: %s\n", argv[optind], strerror(rc));
		return 66;
	}
	child = pid;
	alarm(timeout);
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("runner: wait4");
		return 70;
	}
	long long wall = now_ns() - t0;
	alarm(0);
	if (timed_out)
		kill(-pid, SIGKILL); /* what is left of the group */
	printf("{\"wallNs\":%lld,\"userUs\":%lld,\"sysUs\":%lld,\"maxRssKb\":%ld,"
	       "\"exit\":%d,\"signal\":%d,\"timedOut\":%s}\n",
	       wall, tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0, timed_out ? "true" : "false");
	return 0;
}
