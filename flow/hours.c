#include "config.h"

/*
 * Business hours. The only impure corner of flow/: local time in a named
 * zone needs the tz database, and glibc offers it only through the
 * process-wide TZ (no localtime_rz/tzalloc as in NetBSD or tzcode). So
 * flow_localtime() swaps TZ, calls tzset() and localtime_r(), and puts
 * TZ back, all under one mutex. That costs a read of the zone file per
 * call of the function (once per incoming call with business hours), and
 * is safe as long as no other thread reads the time zone or the
 * environment meanwhile: ivrd calls it on the loop thread only, and its
 * worker threads do neither. Writing a TZif parser instead would mean
 * owning leap seconds, POSIX TZ footers and the file format's versions.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "flow/flow_int.h"
#include "flow/hours.h"

/*
 * TZ unset means /etc/localtime to glibc; ":/etc/localtime" says the
 * same explicitly. Restoring "unset" with unsetenv() would reshuffle
 * environ under any thread reading it; overwriting an existing TZ only
 * swaps one pointer.
 */
#define HOURS_TZ_UNSET	":/etc/localtime"

static pthread_mutex_t	 hours_tz_lock = PTHREAD_MUTEX_INITIALIZER;

static int	 in_ranges(const struct flow_day *, int, int);
static int	 is_holiday(const struct flow_business_hours *, int, int, int);
static void	 previous_day(int *, int *, int *);

int
flow_hours_open(const struct flow_business_hours *bh, time_t t)
{
	struct tm tm;
	int year, month, day, minute, wday, yday;

	if (bh == NULL)
		return 1;
	/* Cannot happen with a sane time_t; take the call rather than drop it. */
	if (flow_localtime(bh->timezone, t, &tm) == -1)
		return 1;
	year = tm.tm_year + 1900;
	month = tm.tm_mon + 1;
	day = tm.tm_mday;
	minute = tm.tm_hour * 60 + tm.tm_min;
	wday = tm.tm_wday;

	if (is_holiday(bh, year, month, day))
		return 0;
	if (in_ranges(&bh->days[wday], minute, 0))
		return 1;

	/* Yesterday's overnight ranges, unless yesterday was a holiday. */
	yday = (wday + 6) % 7;
	previous_day(&year, &month, &day);
	if (is_holiday(bh, year, month, day))
		return 0;
	return in_ranges(&bh->days[yday], minute, 1);
}

int
flow_localtime(const char *zone, time_t t, struct tm *tm)
{
	char *saved;
	const char *old;
	int ok;

	if (zone == NULL || strcmp(zone, "UTC") == 0)
		return gmtime_r(&t, tm) != NULL ? 0 : -1;

	pthread_mutex_lock(&hours_tz_lock);
	old = getenv("TZ");
	saved = xstrdup(old != NULL ? old : HOURS_TZ_UNSET);
	setenv("TZ", zone, 1);
	tzset();
	ok = localtime_r(&t, tm) != NULL;
	setenv("TZ", saved, 1);
	tzset();
	pthread_mutex_unlock(&hours_tz_lock);
	free(saved);
	return ok ? 0 : -1;
}

/*
 * Is minute inside one of d's ranges: today's part of them, or with
 * tail set, the after-midnight part of the overnight ones.
 */
static int
in_ranges(const struct flow_day *d, int minute, int tail)
{
	for (size_t i = 0; i < d->nranges; i++) {
		const struct flow_time_range *r = &d->ranges[i];

		if (tail) {
			if (r->end < r->start && minute < r->end)
				return 1;
		} else if (r->start < r->end) {
			if (minute >= r->start && minute < r->end)
				return 1;
		} else if (minute >= r->start)
			return 1;
	}
	return 0;
}

static int
is_holiday(const struct flow_business_hours *bh, int year, int month,
    int day)
{
	for (size_t i = 0; i < bh->nholidays; i++) {
		const struct flow_holiday *h = &bh->holidays[i];

		if ((h->year == 0 || h->year == year) && h->month == month &&
		    h->day == day)
			return 1;
	}
	return 0;
}

/* The calendar date before, without mktime() and its time zone. */
static void
previous_day(int *year, int *month, int *day)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap;

	if (--*day > 0)
		return;
	if (--*month == 0) {
		*month = 12;
		--*year;
	}
	leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
	*day = mdays[*month - 1] + (*month == 2 && leap);
}
