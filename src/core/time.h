/*
 * time.h: a clock cached once per event-loop turn. Reading the time is then
 * free, and every timer and log line in one turn agrees on "now".
 */
#ifndef FC_TIME_H
#define FC_TIME_H

#include <time.h>

typedef struct {
    fc_msec_t msec;   /* monotonic milliseconds, for timers */
    time_t sec;       /* wall clock seconds */
    unsigned wall_ms; /* wall clock millisecond part */
    char err_log[64];
    char http_time[64];
    char log_local[64];
    char iso8601[64];
} fc_time_cache_t;

/*
 * Parses an HTTP date (RFC 1123, RFC 850 or asctime form, as nginx's
 * ngx_parse_http_time accepts them) into seconds since the epoch; -1 if it
 * is none of them.
 */
time_t fc_time_parse_http(const unsigned char *p, size_t len);
/* Refreshes the cached clock (called once per loop turn and at startup). */
void fc_time_update(void);
/* "Thu, 01 Jan 1970 00:00:01 GMT" for t into buf (>= 30 bytes); its length. */
size_t fc_time_http(time_t t, char *buf, size_t size);
/* The cached clock. */
const fc_time_cache_t *fc_time(void);

#define fc_current_msec() (fc_time()->msec)

#endif
