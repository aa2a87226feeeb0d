/* gen [-s] N S PATTERN: the benchmark's workload. Makes N write(2) calls of
 * S bytes on fd 1 and/or 2 in the given pattern, each message in the format
 * of msg.h. Every write must go through whole: a short or failed write (e.g.
 * EMSGSIZE from a datagram socket) is reported and ends gen with status 2,
 * so that a tool which cannot carry the workload fails the bench instead of
 * looking fast. With -s the messages go through stdio (fwrite to stdout or
 * stderr), buffered as the C library decides: the `linebuf` scenarios, where
 * dtee -L makes stdout line-buffered. */
#include "msg.h"

#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct workload w;
	int stdio = argc == 5 && strcmp(argv[1], "-s") == 0;
	if (stdio) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: %s [-s] COUNT SIZE stdout|stderr|alternate|random:SEED\n",
			argv[0]);
		return 64;
	}
	if (parse_workload(argv[0], argv + 1, &w))
		return 64;
	char **tmpl = message_templates(w.size);
	if (!tmpl) {
		perror("gen: malloc");
		return 2;
	}
	for (unsigned long i = 1; i <= w.count; i++) {
		int fd = next_stream(&w, i);
		char *m = tmpl[i % 26];
		stamp_header(m, fd, i);
		if (stdio) {
			if (fwrite(m, 1, w.size, fd == 1 ? stdout : stderr) != w.size)
				break;
			continue;
		}
		ssize_t n = write(fd, m, w.size);
		if (n != (ssize_t)w.size) {
			/* stderr may be the failing stream: the exit status is what
			 * the harness relies on, the message is a courtesy. */
			fprintf(stderr, "gen: message %lu: write(%d, %zu bytes) = %zd: %s\n", i,
				fd, w.size, n, n < 0 ? strerror(errno) : "short write");
			return 2;
		}
	}
	if (stdio && (fflush(stdout) != 0 || ferror(stdout) || ferror(stderr))) {
		fprintf(stderr, "gen: stdio write failed: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}
