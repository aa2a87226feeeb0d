/* verify FILE N S PATTERN: checks that FILE holds exactly the messages that
 * `gen N S PATTERN` writes, both streams combined: every message present,
 * in order, intact, nothing extra. Silent with status 0 when it does; else
 * names the first violation on stderr and exits 1. Written in C so that a
 * 1 GiB file costs a fraction of a second. */
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file;

static void show(const char *label, const char *bytes, size_t len)
{
	fputs(label, stderr);
	for (size_t j = 0; j < len && j < 40; j++) {
		unsigned char c = bytes[j];
		fprintf(stderr, c >= ' ' && c < 127 ? "%c" : "\\x%02x", c);
	}
	fputs(len > 40 ? "...\n" : "\n", stderr);
}

/* Names the first violation with the expected and found bytes, escaped and
 * cut short; returns the exit status. */
static int violation(unsigned long i, size_t off, const char *what, const char *want,
		     size_t want_len, const char *got, size_t got_len)
{
	fprintf(stderr, "verify: %s: message %lu at offset %zu: %s\n", file, i, off, what);
	show("  expected: ", want, want_len);
	show("  found:    ", got, got_len);
	return 1;
}

int main(int argc, char **argv)
{
	struct workload w;
	if (argc != 5) {
		fprintf(stderr, "usage: %s FILE COUNT SIZE stdout|stderr|alternate|random:SEED\n",
			argv[0]);
		return 64;
	}
	file = argv[1];
	if (parse_workload(argv[0], argv + 2, &w))
		return 64;
	int fd = open(file, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "verify: %s: %s\n", file, strerror(errno));
		return 1;
	}
	size_t have = st.st_size;
	const char *data = "";
	if (have && (data = mmap(NULL, have, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		fprintf(stderr, "verify: %s: mmap: %s\n", file, strerror(errno));
		return 1;
	}
	char **tmpl = message_templates(w.size);
	if (!tmpl) {
		perror("verify: malloc");
		return 1;
	}
	size_t off = 0;
	for (unsigned long i = 1; i <= w.count; i++, off += w.size) {
		char *want = tmpl[i % 26];
		stamp_header(want, next_stream(&w, i), i);
		if (off >= have) {
			fprintf(stderr, "verify: %s: file ends (%zu bytes) before message %lu of %lu\n",
				file, have, i, w.count);
			return 1;
		}
		size_t len = have - off < w.size ? have - off : w.size;
		if (memcmp(data + off, want, MSG_HEADER))
			return violation(i, off, "wrong header (lost, extra or reordered message)",
					 want, w.size, data + off, len);
		if (len < w.size || memcmp(data + off, want, w.size))
			return violation(i, off, "message damaged (truncated or spliced)", want,
					 w.size, data + off, len);
	}
	if (have > off)
		return violation(w.count + 1, off, "extra data after the last message", "", 0,
				 data + off, have - off);
	return 0;
}
