/*
 * log.h: error logging with nginx's levels. Each log carries an optional
 * `action` ("connecting to upstream") and a context handler that appends who
 * the message is about (client, server, upstream), so runtime errors are
 * precise without every call site formatting that itself.
 */
#ifndef FC_LOG_H
#define FC_LOG_H

enum {
    FC_LOG_STDERR = 0,
    FC_LOG_EMERG,
    FC_LOG_ALERT,
    FC_LOG_CRIT,
    FC_LOG_ERR,
    FC_LOG_WARN,
    FC_LOG_NOTICE,
    FC_LOG_INFO,
    FC_LOG_DEBUG
};

/* Appends context to a message being formatted; returns bytes written. */
typedef size_t (*fc_log_handler_pt)(fc_log_t *log, char *buf, size_t len);

/* An open log file shared by every log that writes to the same path. */
typedef struct fc_open_file_s {
    int fd;
    fc_str_t name; /* NUL-terminated; "stderr" for fd 2 */
    /* Writes out what a module buffers for this file (access_log buffer=);
     * called before the file is reopened. NULL when nothing is buffered. */
    void (*flush)(struct fc_open_file_s *file);
    void *data; /* the flush handler's state */
    struct fc_open_file_s *next;
} fc_open_file_t;

struct fc_log_s {
    int level;
    fc_open_file_t *file;
    unsigned long connection; /* connection number, 0 if none */
    const char *action;
    fc_log_handler_pt handler;
    void *data;
    fc_log_t *next; /* further error_log destinations */
    unsigned short_format; /* "fulcrum: [level] msg", as nginx prints at startup */
};

/* The level's name as written in error_log ("warn"), or NULL. */
const char *fc_log_level_name(int level);
/* The level for a name, FC_ERROR if unknown. */
int fc_log_level_parse(const fc_str_t *name);

/*
 * Formats and writes one line "YYYY/MM/DD HH:MM:SS [level] pid#tid: *conn msg
 * (errno: strerror) while action, context" to every destination whose level
 * admits it. err is an errno value or 0.
 */
void fc_log_error_core(int level, fc_log_t *log, int err, const char *fmt, ...) FC_PRINTF(4, 5);

#define fc_log_error(lvl, lg, err, ...)                                                            \
    do {                                                                                           \
        if ((lg)->level >= (lvl) || (lg)->next)                                                    \
            fc_log_error_core(lvl, lg, err, __VA_ARGS__);                                          \
    } while (0)

#define fc_log_debug(log, ...) fc_log_error(FC_LOG_DEBUG, log, 0, __VA_ARGS__)

/*
 * A connection's log writes to conf's destinations from now on (the error_log
 * of the server or location that took it), keeping its own context. NULL or
 * an empty conf: unchanged.
 */
void fc_log_use_destinations(fc_log_t *log, const fc_log_t *conf);

/*
 * Prints "fulcrum: [level] msg" to stderr; used before logs are open and
 * for -t output, as nginx does.
 */
void fc_log_stderr(int err, const char *fmt, ...) FC_PRINTF(2, 3);

/*
 * Appends a formatted piece at buf[pos] (len: the buffer's size) for log
 * context handlers; returns the new position, never past len.
 */
size_t fc_log_append(char *buf, size_t len, size_t pos, const char *fmt, ...) FC_PRINTF(4, 5);

/* The process-wide fallback log writing to stderr (before a cycle exists). */
fc_log_t *fc_log_init(void);

#endif
