/* log.c: error log lines in nginx's format, to files or stderr. */
#include "core/fc_core.h"

#include <sys/uio.h>

static const char *const log_levels[] = {"", "emerg", "alert", "crit", "error",
                                         "warn", "notice", "info", "debug"};

/* The fallback log and its stderr file: process-wide, read-only after init. */
static fc_open_file_t log_stderr_file = {.fd = 2, .name = fc_string("stderr")};
static fc_log_t log_stderr_log = {
    .level = FC_LOG_WARN, .file = &log_stderr_file, .short_format = 1};

const char *
fc_log_level_name(int level)
{
    if (level < FC_LOG_EMERG || level > FC_LOG_DEBUG)
        return NULL;
    return log_levels[level];
}

int
fc_log_level_parse(const fc_str_t *name)
{
    for (int i = FC_LOG_EMERG; i <= FC_LOG_DEBUG; i++) {
        if (fc_str_eq_c(name, log_levels[i]))
            return i;
    }
    return FC_ERROR;
}

fc_log_t *
fc_log_init(void)
{
    return &log_stderr_log;
}

void
fc_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "fulcrum: assertion \"%s\" failed at %s:%d\n", cond, file, line);
    abort();
}

size_t
fc_log_append(char *buf, size_t len, size_t pos, const char *fmt, ...)
{
    if (pos >= len)
        return pos;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + pos, len - pos, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pos;
    return fc_min(pos + (size_t) n, len);
}

void
fc_log_error_core(int level, fc_log_t *log, int err, const char *fmt, ...)
{
    char head[128], buf[4096];
    const size_t cap = sizeof(buf) - 1; /* room for the newline */
    size_t n = 0;

    if (log->connection)
        n = fc_log_append(buf, cap, n, "*%lu ", log->connection);
    va_list ap;
    va_start(ap, fmt);
    if (n < cap) {
        int w = vsnprintf(buf + n, cap - n, fmt, ap);
        if (w > 0)
            n = fc_min(n + (size_t) w, cap);
    }
    va_end(ap);
    if (err)
        n = fc_log_append(buf, cap, n, " (%d: %s)", err, strerror(err));
    if (level != FC_LOG_DEBUG && log->action)
        n = fc_log_append(buf, cap, n, " while %s", log->action);
    if (level != FC_LOG_DEBUG && log->handler && n < cap)
        n += log->handler(log, buf + n, cap - n);
    buf[n++] = '\n';

    for (fc_log_t *l = log; l; l = l->next) {
        if (l->level < level || l->file == NULL || l->file->fd < 0)
            continue;
        int h;
        if (l->short_format)
            h = snprintf(head, sizeof(head), "fulcrum: [%s] ", log_levels[level]);
        else
            h = snprintf(head, sizeof(head), "%s [%s] %d#%d: ", fc_time()->err_log,
                         log_levels[level], (int) getpid(), (int) getpid());
        struct iovec iov[2] = {{head, (size_t) (h > 0 ? h : 0)}, {buf, n}};
        /* One writev() per line keeps lines from different workers whole. */
        ssize_t r = writev(l->file->fd, iov, 2);
        (void) r;
    }
}

void
fc_log_stderr(int err, const char *fmt, ...)
{
    char buf[2048];
    size_t n = (size_t) snprintf(buf, sizeof(buf), "fulcrum: ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
    va_end(ap);
    if (w > 0)
        n = fc_min(n + (size_t) w, sizeof(buf) - 2);
    if (err)
        n = fc_log_append(buf, sizeof(buf) - 1, n, " (%d: %s)", err, strerror(err));
    buf[n++] = '\n';
    ssize_t r = write(2, buf, n);
    (void) r;
}

void
fc_log_use_destinations(fc_log_t *log, const fc_log_t *conf)
{
    if (conf == NULL || conf->file == NULL)
        return;
    log->file = conf->file;
    log->level = conf->level;
    log->next = conf->next;
}
