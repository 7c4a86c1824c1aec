/*
 * time.c: the cached clock. It is per process and rewritten only by the
 * process's own loop, so it is the one piece of process-global mutable state
 * outside the cycle: every log line and timer needs it, and passing it
 * around would buy nothing.
 */
#include "core/fc_core.h"

#include <sys/time.h>

static fc_time_cache_t time_cache;
static time_t time_cache_sec_formatted = -1;

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

size_t
fc_time_http(time_t t, char *buf, size_t size)
{
    static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct tm gt;
    if (gmtime_r(&t, &gt) == NULL)
        return 0;
    int n = snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[gt.tm_wday],
                     gt.tm_mday, months[gt.tm_mon], gt.tm_year + 1900, gt.tm_hour, gt.tm_min,
                     gt.tm_sec);
    return n > 0 ? fc_min((size_t) n, size - 1) : 0;
}

static int
time_digits(const unsigned char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "Jan".."Dec" -> 0..11, -1 if none. */
static int
time_month(const unsigned char *p)
{
    for (int m = 0; m < 12; m++)
        if (memcmp(p, months[m], 3) == 0)
            return m;
    return -1;
}

/* Days since 1970-01-01 of a Gregorian date (month 0..11; years from 1970 on). */
static int64_t
time_days(int64_t year, int month, int day)
{
    /* Counted in 400-year eras from March 1, so the leap day ends the year. */
    int64_t m = month + 1, y = year - (m <= 2);
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

typedef struct {
    int year, month, day, hour, min, sec;
} time_tm_t;

/* "hh:mm:ss" */
static int
time_clock(const unsigned char *p, time_tm_t *tm)
{
    if (p[2] != ':' || p[5] != ':')
        return FC_ERROR;
    tm->hour = time_digits(p, 2);
    tm->min = time_digits(p + 3, 2);
    tm->sec = time_digits(p + 6, 2);
    return tm->hour < 0 || tm->min < 0 || tm->sec < 0 ? FC_ERROR : FC_OK;
}

/*
 * The fields after the day name: "06 Nov 1994 hh:mm:ss", "06-Nov-94
 * hh:mm:ss" or, for asctime (isoc), "Nov  6 hh:mm:ss 1994".
 */
static int
time_date_fields(const unsigned char *p, const unsigned char *end, int isoc, time_tm_t *tm)
{
    if (end - p < 18)
        return FC_ERROR;
    if (isoc) {
        if ((tm->month = time_month(p)) < 0 || p[3] != ' ')
            return FC_ERROR;
        p += 4;
        if (*p == ' ')
            p++;
        int one = p[1] == ' ';
        if (end - p < (one ? 15 : 16) || (tm->day = time_digits(p, one ? 1 : 2)) < 0)
            return FC_ERROR;
        p += one ? 2 : 3;
        if (time_clock(p, tm) != FC_OK || p[8] != ' ')
            return FC_ERROR;
        tm->year = time_digits(p + 9, 4);
        return tm->year < 0 ? FC_ERROR : FC_OK;
    }
    if ((tm->day = time_digits(p, 2)) < 0 || (p[2] != ' ' && p[2] != '-'))
        return FC_ERROR;
    int rfc850 = p[2] == '-';
    if ((tm->month = time_month(p + 3)) < 0 || p[6] != p[2])
        return FC_ERROR;
    p += 7;
    tm->year = time_digits(p, rfc850 ? 2 : 4);
    if (tm->year < 0)
        return FC_ERROR;
    if (rfc850)
        tm->year += tm->year < 70 ? 2000 : 1900;
    p += rfc850 ? 2 : 4;
    if (end - p < 9 || *p != ' ')
        return FC_ERROR;
    return time_clock(p + 1, tm);
}

time_t
fc_time_parse_http(const unsigned char *p, size_t len)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const unsigned char *end = p + len;
    /* The day name ends at ',' (RFC 1123, RFC 850) or ' ' (asctime). */
    while (p < end && *p != ',' && *p != ' ')
        p++;
    if (p == end)
        return -1;
    int isoc = *p == ' ';
    for (p++; p < end && *p == ' ';)
        p++;
    time_tm_t tm;
    if (time_date_fields(p, end, isoc, &tm) != FC_OK)
        return -1;
    if (tm.hour > 23 || tm.min > 59 || tm.sec > 59 || tm.day < 1 || tm.day > mdays[tm.month])
        return -1;
    int leap = (tm.year % 4 == 0 && tm.year % 100 != 0) || tm.year % 400 == 0;
    if (tm.month == 1 && tm.day == 29 && !leap)
        return -1;
    int64_t t =
        time_days(tm.year, tm.month, tm.day) * 86400 + tm.hour * 3600 + tm.min * 60 + tm.sec;
    return t < 0 ? -1 : (time_t) t;
}

static void
time_format(void)
{
    struct tm lt;
    localtime_r(&time_cache.sec, &lt);

    snprintf(time_cache.err_log, sizeof(time_cache.err_log), "%04d/%02d/%02d %02d:%02d:%02d",
             lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec);
    fc_time_http(time_cache.sec, time_cache.http_time, sizeof(time_cache.http_time));

    int off = (int) ((lt.tm_gmtoff / 60) % (24 * 60));
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(time_cache.log_local, sizeof(time_cache.log_local),
             "%02d/%s/%04d:%02d:%02d:%02d %c%02d%02d", lt.tm_mday, months[lt.tm_mon],
             lt.tm_year + 1900, lt.tm_hour, lt.tm_min, lt.tm_sec, sign, off / 60, off % 60);
    snprintf(time_cache.iso8601, sizeof(time_cache.iso8601),
             "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", lt.tm_year + 1900, lt.tm_mon + 1,
             lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec, sign, off / 60, off % 60);
}

void
fc_time_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    time_cache.msec = (fc_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_cache.sec = tv.tv_sec;
    time_cache.wall_ms = (unsigned) (tv.tv_usec / 1000);
    if (time_cache.sec != time_cache_sec_formatted) {
        time_format();
        time_cache_sec_formatted = time_cache.sec;
    }
}

const fc_time_cache_t *
fc_time(void)
{
    return &time_cache;
}
