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
