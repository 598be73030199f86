/*
 * Business hours, for the interpreter and its unit tests: is a flow open
 * at a given instant, in its own time zone.
 */
#ifndef IVRD_FLOW_HOURS_H
#define IVRD_FLOW_HOURS_H

#include <time.h>

struct flow_business_hours;
struct tm;

/*
 * 1 when t falls in one of bh's ranges (bh NULL: always open), 0 when
 * closed: outside every range, or on a holiday. Ranges are local wall
 * time in bh's zone; an overnight range belongs to the day it starts
 * on, so a holiday closes its tail on the next morning too.
 */
int	flow_hours_open(const struct flow_business_hours *bh, time_t t);

/*
 * t as local time in zone (a tz database name; NULL or "UTC" is UTC).
 * 0, or -1 when the C library cannot convert t.
 */
int	flow_localtime(const char *zone, time_t t, struct tm *tm);

#endif
