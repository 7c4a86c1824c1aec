/*
 * logfmt.h: access logs for every layer, as nginx's log modules:
 * `log_format NAME [escape=default|json|none] STRING...` and
 * `access_log PATH [FORMAT [buffer=SIZE] [flush=TIME] [if=COND]] | off`.
 * A PATH with variables is opened (append, create) and closed for each
 * line, as nginx does without open_log_file_cache; it cannot be buffered.
 * A format is a complex value whose variables are escaped when a line is
 * written ("-" for a variable not found, except with escape=json). A file
 * written through `buffer=` keeps one buffer, shared by every access_log
 * naming that file; it is written out when full, `flush` after its first
 * line, before the file is reopened (USR1) and when the worker exits.
 */
#ifndef FC_LOGFMT_H
#define FC_LOGFMT_H

#include "core/conf.h"
#include "core/cycle.h"
#include "core/var.h"

enum { FC_LOGFMT_ESCAPE_DEFAULT, FC_LOGFMT_ESCAPE_JSON, FC_LOGFMT_ESCAPE_NONE };

typedef struct {
    fc_str_t name;
    fc_cv_t value;
    unsigned escape; /* FC_LOGFMT_ESCAPE_* */
} fc_logfmt_t;

typedef struct fc_logfmt_buf_s fc_logfmt_buf_t;

/* One access_log line of the config. */
typedef struct {
    fc_open_file_t *file; /* NULL when the path has variables */
    fc_cv_t *path;        /* a path with variables (absolute): opened for each line, as nginx */
    const fc_logfmt_t *format;
    fc_cv_t *cond; /* if=: no line when it is "" or "0"; NULL: always */
} fc_logfmt_target_t;

/* A layer's main-conf part: the formats and the buffers its access_logs made. */
typedef struct {
    fc_array_t formats; /* fc_logfmt_t */
    fc_logfmt_buf_t *buffers;
    fc_array_t *default_logs; /* the implicit log of levels with none, made once */
} fc_logfmt_main_t;

/* The access_log lines of one level (server, location). */
typedef struct {
    fc_array_t *logs; /* fc_logfmt_target_t; NULL: none at this level */
    unsigned off : 1; /* access_log off */
} fc_logfmt_conf_t;

/* What a layer's log handler gives for evaluating variables. */
typedef struct {
    fc_var_registry_t *reg;
    fc_var_value_t *values;
    void *r;         /* the session or request the getters receive */
    fc_pool_t *pool; /* where lines are made */
    const fc_captures_t *caps;
    fc_log_t *log; /* for a log file that cannot be opened */
} fc_logfmt_ctx_t;

/* Initializes a main-conf part (create_main_conf). */
int fc_logfmt_main_init(fc_logfmt_main_t *m, fc_pool_t *pool);
/* Adds a format by name (a predefined one: "combined"); NULL on error (logged). */
fc_logfmt_t *fc_logfmt_define(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg,
                              const fc_str_t *name, unsigned escape, const fc_str_t *text);
/* The `log_format` directive (cf's arguments). */
char *fc_logfmt_format_directive(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg);
/*
 * The `access_log` directive (cf's arguments) for level lc. default_format
 * names the format used when none is given (http: "combined"); NULL makes
 * the format mandatory (stream).
 */
char *fc_logfmt_access_directive(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg,
                                 fc_logfmt_conf_t *lc, const char *default_format);
/*
 * Merges a level with its outer one: a level with access_log lines or `off`
 * keeps them, else it takes the outer's. When neither has any and
 * default_path is not NULL, the level gets "default_path default_format"
 * (http: logs/access.log combined, opened under the prefix).
 */
char *fc_logfmt_merge(fc_conf_t *cf, fc_logfmt_main_t *m, const fc_logfmt_conf_t *prev,
                      fc_logfmt_conf_t *conf, const char *default_path, const char *default_format);

/* Writes a line to every log of lc (the LOG phase). */
void fc_logfmt_write(const fc_logfmt_conf_t *lc, const fc_logfmt_ctx_t *ctx);
/* One formatted line with its "\n", in ctx->pool. FC_OK or FC_ERROR. */
int fc_logfmt_line(const fc_logfmt_t *fmt, const fc_logfmt_ctx_t *ctx, fc_str_t *line);
/* Escapes src into dst (room for 6 * len bytes); returns the bytes written. */
size_t fc_logfmt_escape(unsigned escape, const unsigned char *src, size_t len, unsigned char *dst);

/* Worker start: buffers start empty, flush timers run on the worker's loop. */
int fc_logfmt_init_worker(fc_logfmt_main_t *m, fc_cycle_t *cycle);
/* Worker exit: writes out every buffer. */
void fc_logfmt_exit_worker(fc_logfmt_main_t *m);

#endif
