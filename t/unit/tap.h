/*
 * A tiny TAP emitter for the C unit tests, header only, so a test is one
 * .c file that prove runs through its .t wrapper:
 *
 *	plan(3);			(or no plan and done_testing())
 *	ok(x == 1, "x is %d", 1);
 *	is_str(got, "want", "name");
 *	is_int(got, 42, "name");
 *	diag("anything %s", "useful");
 *	return done_testing();
 *
 * done_testing() returns the exit status: nonzero if a test failed or the
 * count does not match the plan, so a crash half way cannot pass.
 */
#ifndef IVRD_TAP_H
#define IVRD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TAP_UNUSED	__attribute__((unused))

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static void TAP_UNUSED
plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static void TAP_UNUSED __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	char buf[4096], *line, *next;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* Every line of a diagnostic needs its "#", or the parser chokes. */
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		printf("# %s\n", line);
	}
	fflush(stdout);
}

static int TAP_UNUSED __attribute__((format(printf, 2, 0)))
tap_vok(int pass, const char *fmt, va_list ap)
{
	char name[1024];

	tap_run++;
	if (!pass)
		tap_failed++;
	vsnprintf(name, sizeof(name), fmt, ap);
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	/* A bare "#" would start a directive, a newline a new TAP line. */
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '#')
			fputs("\\#", stdout);
		else
			putchar(*c == '\n' ? ' ' : *c);
	}
	printf("\n");
	fflush(stdout);
	return pass;
}

static int TAP_UNUSED __attribute__((format(printf, 2, 3)))
ok(int pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(pass, fmt, ap);
	va_end(ap);
	return pass;
}

/* NULL equals only NULL. */
static int TAP_UNUSED __attribute__((format(printf, 3, 4)))
is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	int pass;

	pass = (got == NULL || want == NULL) ? got == want :
	    strcmp(got, want) == 0;
	va_start(ap, fmt);
	tap_vok(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("     got: %s%s%s\nexpected: %s%s%s",
		    got ? "'" : "", got ? got : "NULL", got ? "'" : "",
		    want ? "'" : "", want ? want : "NULL", want ? "'" : "");
	return pass;
}

static int TAP_UNUSED __attribute__((format(printf, 3, 4)))
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	int pass = got == want;

	va_start(ap, fmt);
	tap_vok(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("     got: %lld\nexpected: %lld", got, want);
	return pass;
}

static int TAP_UNUSED
done_testing(void)
{
	if (tap_planned == -1)
		printf("1..%d\n", tap_run);
	else if (tap_run != tap_planned)
		diag("planned %d tests but ran %d", tap_planned, tap_run);
	if (tap_failed > 0)
		diag("failed %d of %d tests", tap_failed, tap_run);
	fflush(stdout);
	return tap_failed > 0 ||
	    (tap_planned != -1 && tap_run != tap_planned);
}

#endif
