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
time_month(const unsigned char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, months[i], 3) == 0)
            return i;
    return -1;
}

/* Reads n digits; -1 if any is not one. */
static int
time_digits(const unsigned char *p, const unsigned char *end, int n)
{
    int v = 0;
    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "08:49:37" into tm; 1 on success. */
static int
time_hms(const unsigned char *p, const unsigned char *end, struct tm *tm)
{
    if (end - p < 8 || p[2] != ':' || p[5] != ':')
        return 0;
    tm->tm_hour = time_digits(p, end, 2);
    tm->tm_min = time_digits(p + 3, end, 2);
    tm->tm_sec = time_digits(p + 6, end, 2);
    return tm->tm_hour >= 0 && tm->tm_hour < 24 && tm->tm_min >= 0 && tm->tm_min < 60 &&
           tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

time_t
fc_time_parse_http(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len, *q = p;
    struct tm tm = {0};
    while (q < end && *q != ' ' && *q != ',')
        q++; /* the weekday, whatever it says */
    int comma = q < end && *q == ',';
    q += comma;
    while (q < end && *q == ' ')
        q++;
    if (end - q < 3)
        return -1;
    if (!comma) {
        /* asctime: "Nov  6 08:49:37 1994" */
        if ((tm.tm_mon = time_month(q)) < 0 || end - q < 20)
            return -1;
        q += 4;
        tm.tm_mday = *q == ' ' ? time_digits(q + 1, end, 1) : time_digits(q, end, 2);
        if (!time_hms(q + 3, end, &tm) || (tm.tm_year = time_digits(q + 12, end, 4)) < 0)
            return -1;
    } else if (end - q >= 20 && q[2] == ' ') {
        /* RFC 1123: "06 Nov 1994 08:49:37 GMT" */
        tm.tm_mday = time_digits(q, end, 2);
        if ((tm.tm_mon = time_month(q + 3)) < 0 || (tm.tm_year = time_digits(q + 7, end, 4)) < 0 ||
            q[11] != ' ' || !time_hms(q + 12, end, &tm))
            return -1;
    } else if (end - q >= 18 && q[2] == '-') {
        /* RFC 850: "06-Nov-94 08:49:37 GMT" */
        tm.tm_mday = time_digits(q, end, 2);
        if ((tm.tm_mon = time_month(q + 3)) < 0 || q[6] != '-' ||
            (tm.tm_year = time_digits(q + 7, end, 2)) < 0 || q[9] != ' ' ||
            !time_hms(q + 10, end, &tm))
            return -1;
        tm.tm_year += tm.tm_year < 70 ? 2000 : 1900;
    } else {
        return -1;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    return timegm(&tm);
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
