/* The benchmark's message format, shared by gen.c (writes it) and verify.c
 * (checks it), so that both derive the same stream and bytes for message i.
 *
 * A workload is N messages of S bytes. Message i (1-based, counted across
 * both streams) is:
 *
 *     'O' or 'E'   the stream it was written to (stdout or stderr)
 *     9 digits     i, zero-padded
 *     ' '
 *     filler       the letter 'a' + i % 26, up to byte S - 2
 *     '\n'
 *
 * so a verifier can tell a lost, repeated, reordered, truncated or spliced
 * message from a good one, and the combined output stays readable text.
 */
#ifndef BENCH_MSG_H
#define BENCH_MSG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_HEADER 11
#define MSG_MIN_SIZE (MSG_HEADER + 1)
#define MSG_MAX_COUNT 999999999UL

enum pattern { PAT_STDOUT, PAT_STDERR, PAT_ALTERNATE, PAT_RANDOM };

struct workload {
	unsigned long count;
	size_t size;
	enum pattern pattern;
	uint64_t rng; /* state of the seeded generator for PAT_RANDOM */
};

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Parses "N S PATTERN" where PATTERN is stdout, stderr, alternate or
 * random:SEED. Prints the problem and returns -1 on bad input. */
static int parse_workload(const char *prog, char **arg, struct workload *w)
{
	unsigned long size, seed;
	if (parse_ulong(arg[0], MSG_MAX_COUNT, &w->count) ||
	    parse_ulong(arg[1], 1UL << 30, &size) || size < MSG_MIN_SIZE) {
		fprintf(stderr, "%s: bad count '%s' or size '%s' (size %d..2^30)\n",
			prog, arg[0], arg[1], MSG_MIN_SIZE);
		return -1;
	}
	w->size = size;
	w->rng = 0;
	if (!strcmp(arg[2], "stdout"))
		w->pattern = PAT_STDOUT;
	else if (!strcmp(arg[2], "stderr"))
		w->pattern = PAT_STDERR;
	else if (!strcmp(arg[2], "alternate"))
		w->pattern = PAT_ALTERNATE;
	else if (!strncmp(arg[2], "random:", 7) && !parse_ulong(arg[2] + 7, ~0UL, &seed)) {
		w->pattern = PAT_RANDOM;
		w->rng = seed;
	} else {
		fprintf(stderr, "%s: bad pattern '%s' (stdout|stderr|alternate|random:SEED)\n",
			prog, arg[2]);
		return -1;
	}
	return 0;
}

/* The stream (1 or 2) of message i. Must be called for i = 1, 2, ... in
 * order: the random pattern advances its generator (splitmix64) each call. */
static int next_stream(struct workload *w, unsigned long i)
{
	switch (w->pattern) {
	case PAT_STDOUT:
		return 1;
	case PAT_STDERR:
		return 2;
	case PAT_ALTERNATE:
		return i % 2 ? 1 : 2;
	case PAT_RANDOM:
	default: {
		uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return (z ^ (z >> 31)) >> 63 ? 2 : 1;
	}
	}
}

/* 26 message buffers, one per filler letter, with filler and newline in
 * place: stamping a header is then all the per-message work left. */
static char **message_templates(size_t size)
{
	char **t = malloc(26 * sizeof *t);
	for (int k = 0; t && k < 26; k++) {
		if (!(t[k] = malloc(size)))
			return NULL;
		memset(t[k], 'a' + k, size - 1);
		t[k][size - 1] = '\n';
	}
	return t;
}

static void stamp_header(char *m, int stream, unsigned long i)
{
	m[0] = stream == 1 ? 'O' : 'E';
	for (int d = 9; d >= 1; d--, i /= 10)
		m[d] = '0' + i % 10;
	m[10] = ' ';
}

#endif
