/*
 * stream_log.c: `log_format NAME [escape=default|json|none] STRING...` and
 * `access_log PATH FORMAT [buffer=SIZE] [flush=TIME] [if=COND] | off` in
 * stream, as nginx's ngx_stream_log_module. Lines are written at the end of
 * a session; a buffer per file collects them until full, until `flush`
 * elapses, or until the worker exits. Files are reopened on USR1 by the cycle.
 */
#include "stream/stream.h"

enum { LOG_ESCAPE_DEFAULT, LOG_ESCAPE_JSON, LOG_ESCAPE_NONE };

typedef struct {
    fc_str_t name;
    fc_cv_t value;
    unsigned escape;
} log_format_t;

typedef struct log_buffer_s {
    fc_open_file_t *file;
    unsigned char *start;
    size_t size;
    size_t used;
    fc_msec_t flush;
    fc_event_t timer;
    fc_connection_t timer_conn; /* the timer's data holder */
    struct log_buffer_s *next;
} log_buffer_t;

typedef struct {
    fc_open_file_t *file;
    log_format_t *format;
    log_buffer_t *buffer;
    fc_cv_t *cond;
} log_target_t;

typedef struct {
    fc_array_t formats; /* log_format_t */
    log_buffer_t *buffers;
} log_main_conf_t;

typedef struct {
    fc_array_t *logs; /* log_target_t; NULL: inherit */
    unsigned off:1;
} log_srv_conf_t;

static void *log_create_main_conf(fc_conf_t *cf);
static void *log_create_srv_conf(fc_conf_t *cf);
static char *log_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static int log_postconfiguration(fc_conf_t *cf);
static char *log_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *log_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static int log_init_worker(fc_cycle_t *cycle);
static void log_exit_worker(fc_cycle_t *cycle);

static const fc_command_t log_commands[] = {
    {"log_format", FC_STREAM_MAIN_CONF | FC_CONF_2MORE, log_set_format, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    {"access_log", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_1MORE, log_set_access_log,
     FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t log_ctx_ops = {
    .postconfiguration = log_postconfiguration,
    .create_main_conf = log_create_main_conf,
    .create_srv_conf = log_create_srv_conf,
    .merge_srv_conf = log_merge_srv_conf,
};

fc_module_t fc_stream_log_module = {
    .name = "stream_log",
    .type = FC_STREAM_MODULE,
    .commands = log_commands,
    .ctx = &log_ctx_ops,
    .init_worker = log_init_worker,
    .exit_worker = log_exit_worker,
};

static void *
log_create_main_conf(fc_conf_t *cf)
{
    log_main_conf_t *lmcf = fc_pcalloc(cf->pool, sizeof(*lmcf));
    if (lmcf == NULL || fc_array_init(&lmcf->formats, cf->pool, 4, sizeof(log_format_t)) != FC_OK)
        return NULL;
    return lmcf;
}

static void *
log_create_srv_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(log_srv_conf_t));
}

static char *
log_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    log_srv_conf_t *prev = parent, *conf = child;
    (void) cf;
    if (conf->logs == NULL && !conf->off) {
        conf->logs = prev->logs;
        conf->off = prev->off;
    }
    return FC_CONF_OK;
}

static char *
log_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    log_main_conf_t *lmcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf), first = 2;
    (void) cmd;
    log_format_t *f = lmcf->formats.elts;
    for (size_t i = 0; i < lmcf->formats.nelts; i++) {
        if (fc_str_eq(&f[i].name, &args[1])) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate \"log_format\" name \"%.*s\"",
                              (int) args[1].len, args[1].data);
            return FC_CONF_ERROR;
        }
    }
    log_format_t *fmt = fc_array_push(&lmcf->formats);
    if (fmt == NULL)
        return FC_CONF_ERROR;
    fmt->name = args[1];
    if (n > 2 && args[2].len > 7 && memcmp(args[2].data, "escape=", 7) == 0) {
        fc_str_t e = {args[2].len - 7, args[2].data + 7};
        fmt->escape = fc_str_eq_c(&e, "json")   ? LOG_ESCAPE_JSON
                      : fc_str_eq_c(&e, "none") ? LOG_ESCAPE_NONE
                                                : LOG_ESCAPE_DEFAULT;
        if (!fc_str_eq_c(&e, "json") && !fc_str_eq_c(&e, "none") && !fc_str_eq_c(&e, "default")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unknown log format escaping \"%.*s\"",
                              (int) e.len, e.data);
            return FC_CONF_ERROR;
        }
        first = 3;
    }
    /* The strings are joined as written (nginx concatenates them). */
    size_t len = 0;
    for (size_t i = first; i < n; i++)
        len += args[i].len;
    fc_str_t text = {len, fc_pnalloc(cf->pool, len + 1)};
    if (text.data == NULL)
        return FC_CONF_ERROR;
    len = 0;
    for (size_t i = first; i < n; i++) {
        memcpy(text.data + len, args[i].data, args[i].len);
        len += args[i].len;
    }
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_cv_compile(cf, &cmcf->vars, &text, &fmt->value) == FC_OK ? FC_CONF_OK
                                                                       : FC_CONF_ERROR;
}

static void log_buffer_flush(log_buffer_t *b);

static void
log_file_flush(fc_open_file_t *file)
{
    log_buffer_flush(file->data);
}

static log_buffer_t *
log_buffer_for(fc_conf_t *cf, fc_open_file_t *file, size_t size, fc_msec_t flush)
{
    log_main_conf_t *lmcf = fc_stream_conf_get_main(cf, fc_stream_log_module);
    for (log_buffer_t *b = lmcf->buffers; b; b = b->next) {
        if (b->file == file)
            return b; /* one buffer per file keeps lines in order */
    }
    log_buffer_t *b = fc_pcalloc(cf->pool, sizeof(*b));
    if (b == NULL || (b->start = fc_palloc(cf->pool, size)) == NULL)
        return NULL;
    b->file = file;
    b->size = size;
    b->flush = flush;
    file->flush = log_file_flush; /* reopen (USR1) writes the buffer out first */
    file->data = b;
    b->next = lmcf->buffers;
    lmcf->buffers = b;
    return b;
}

static char *
log_access_param(fc_conf_t *cf, const fc_str_t *p, size_t *buffer, fc_msec_t *flush, fc_cv_t **cond)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    if (p->len > 7 && memcmp(p->data, "buffer=", 7) == 0) {
        fc_str_t v = {p->len - 7, p->data + 7};
        int64_t n = fc_parse_size(&v);
        if (n < 1 || n > 64 * 1024 * 1024)
            return "invalid buffer size";
        *buffer = (size_t) n;
    } else if (p->len > 6 && memcmp(p->data, "flush=", 6) == 0) {
        fc_str_t v = {p->len - 6, p->data + 6};
        int64_t n = fc_parse_time(&v, 1000);
        if (n < 1)
            return "invalid flush time";
        *flush = n;
    } else if (p->len > 3 && memcmp(p->data, "if=", 3) == 0) {
        fc_str_t v = {p->len - 3, p->data + 3};
        *cond = fc_palloc(cf->pool, sizeof(fc_cv_t));
        if (*cond == NULL || fc_cv_compile(cf, &cmcf->vars, &v, *cond) != FC_OK)
            return FC_CONF_ERROR;
    } else if (p->len >= 4 && memcmp(p->data, "gzip", 4) == 0) {
        return "\"gzip\" parameter is not supported";
    } else {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) p->len, p->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static log_format_t *
log_find_format(fc_conf_t *cf, const fc_str_t *name)
{
    log_main_conf_t *lmcf = fc_stream_conf_get_main(cf, fc_stream_log_module);
    log_format_t *f = lmcf->formats.elts;
    for (size_t i = 0; i < lmcf->formats.nelts; i++) {
        if (fc_str_eq(&f[i].name, name))
            return &f[i];
    }
    return NULL;
}

static char *
log_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    log_srv_conf_t *lscf = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    (void) cmd;
    if (fc_str_eq_c(&args[1], "off")) {
        if (n != 2)
            return "has too many arguments";
        lscf->off = 1;
        return FC_CONF_OK;
    }
    if (lscf->off)
        return "is duplicate";
    if (n < 3) {
        /* nginx's stream access_log has no default format. */
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "log format is not specified");
        return FC_CONF_ERROR;
    }
    log_format_t *fmt = log_find_format(cf, &args[2]);
    if (fmt == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unknown log format \"%.*s\"", (int) args[2].len,
                          args[2].data);
        return FC_CONF_ERROR;
    }
    size_t buffer = 0;
    fc_msec_t flush = 0;
    fc_cv_t *cond = NULL;
    for (size_t i = 3; i < n; i++) {
        char *rv = log_access_param(cf, &args[i], &buffer, &flush, &cond);
        if (rv != FC_CONF_OK)
            return rv;
    }
    if (flush && !buffer)
        return "\"flush\" parameter requires \"buffer\"";
    fc_str_t path = args[1];
    if (!fc_str_eq_c(&path, "stderr") &&
        fc_conf_full_name(cf->pool, &cf->cycle->prefix, &path) != FC_OK)
        return FC_CONF_ERROR;
    if (lscf->logs == NULL &&
        (lscf->logs = fc_array_create(cf->pool, 2, sizeof(log_target_t))) == NULL)
        return FC_CONF_ERROR;
    log_target_t *t = fc_array_push(lscf->logs);
    if (t == NULL || (t->file = fc_cycle_open_file(cf->cycle, &path)) == NULL)
        return FC_CONF_ERROR;
    t->format = fmt;
    t->cond = cond;
    if (buffer && (t->buffer = log_buffer_for(cf, t->file, buffer, flush)) == NULL)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

/* ---- run time ---- */

static size_t
log_escape(unsigned escape, const unsigned char *src, size_t len, unsigned char *dst)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = src[i];
        if (escape == LOG_ESCAPE_NONE) {
            dst[n++] = ch;
        } else if (escape == LOG_ESCAPE_JSON && (ch == '"' || ch == '\\')) {
            dst[n++] = '\\';
            dst[n++] = ch;
        } else if (escape == LOG_ESCAPE_JSON && ch < 0x20) {
            n += (size_t) sprintf((char *) dst + n, "\\u%04x", ch);
        } else if (escape == LOG_ESCAPE_DEFAULT && (ch == '"' || ch == '\\' || ch < 0x20 || ch > 0x7e)) {
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = (unsigned char) hex[ch >> 4];
            dst[n++] = (unsigned char) hex[ch & 0xf];
        } else {
            dst[n++] = ch;
        }
    }
    return n;
}

/* Formats one line (variables escaped, "-" for ones not found, as nginx) into pool memory. */
static int
log_format_line(fc_stream_session_t *s, const log_format_t *fmt, fc_str_t *line)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_core_main(s);
    const fc_cv_t *cv = &fmt->value;
    if (!cv->has_vars) {
        line->len = cv->text.len + 1;
        line->data = fc_pnalloc(s->connection->pool, line->len);
        if (line->data == NULL)
            return FC_ERROR;
        memcpy(line->data, cv->text.data, cv->text.len);
        line->data[cv->text.len] = '\n';
        return FC_OK;
    }
    size_t cap = 1;
    for (size_t i = 0; i < cv->nparts; i++) {
        if (cv->parts[i].type == 1)
            cap += 6 * fc_var_get(&cmcf->vars, s->variables, s, cv->parts[i].index)->len + 1;
        else
            cap += cv->parts[i].lit.len;
    }
    unsigned char *d = fc_pnalloc(s->connection->pool, cap), *p = d;
    if (d == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < cv->nparts; i++) {
        const fc_cv_part_t *part = &cv->parts[i];
        if (part->type != 1) {
            memcpy(p, part->lit.data, part->lit.len);
            p += part->lit.len;
            continue;
        }
        fc_var_value_t *v = fc_var_get(&cmcf->vars, s->variables, s, part->index);
        /* nginx: "-" only for a variable not found; an empty value stays empty */
        if (v->not_found && fmt->escape != LOG_ESCAPE_JSON)
            *p++ = '-';
        else
            p += log_escape(fmt->escape, v->data, v->len, p);
    }
    *p++ = '\n';
    line->data = d;
    line->len = (size_t) (p - d);
    return FC_OK;
}

static void
log_buffer_flush(log_buffer_t *b)
{
    if (b->used == 0 || b->file->fd < 0)
        return;
    ssize_t w = write(b->file->fd, b->start, b->used);
    (void) w; /* a log that cannot be written must not stop traffic */
    b->used = 0;
}

static void
log_write(log_target_t *t, const fc_str_t *line)
{
    log_buffer_t *b = t->buffer;
    if (b == NULL) {
        ssize_t w = write(t->file->fd, line->data, line->len);
        (void) w;
        return;
    }
    if (b->used + line->len > b->size)
        log_buffer_flush(b);
    if (line->len > b->size) {
        ssize_t w = write(t->file->fd, line->data, line->len);
        (void) w;
        return;
    }
    memcpy(b->start + b->used, line->data, line->len);
    b->used += line->len;
}

static int
log_handler(fc_stream_session_t *s)
{
    log_srv_conf_t *lscf = fc_stream_get_module_srv_conf(s, fc_stream_log_module);
    if (lscf->off || lscf->logs == NULL)
        return FC_OK;
    log_target_t *t = lscf->logs->elts;
    for (size_t i = 0; i < lscf->logs->nelts; i++) {
        if (t[i].cond) {
            fc_str_t v;
            if (fc_stream_cv_eval(s, t[i].cond, &v) != FC_OK || v.len == 0 ||
                (v.len == 1 && v.data[0] == '0'))
                continue;
        }
        fc_str_t line;
        if (log_format_line(s, t[i].format, &line) == FC_OK)
            log_write(&t[i], &line);
    }
    return FC_OK;
}

static int
log_postconfiguration(fc_conf_t *cf)
{
    return fc_stream_add_phase_handler(cf, FC_STREAM_LOG_PHASE, log_handler);
}

static void
log_flush_timer(fc_event_t *ev)
{
    fc_connection_t *holder = ev->data;
    log_buffer_t *b = holder->data;
    log_buffer_flush(b);
    fc_event_add_timer(holder->loop, ev, b->flush);
}

static log_main_conf_t *
log_cycle_main_conf(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_stream_cycle_ctx(cycle);
    return ctx ? ctx->main_conf[fc_stream_log_module.ctx_index] : NULL;
}

static int
log_init_worker(fc_cycle_t *cycle)
{
    log_main_conf_t *lmcf = log_cycle_main_conf(cycle);
    fc_worker_t *w = fc_worker_self(cycle);
    for (log_buffer_t *b = lmcf ? lmcf->buffers : NULL; b; b = b->next) {
        b->used = 0;
        if (!b->flush)
            continue;
        b->timer_conn.data = b;
        b->timer_conn.loop = w->loop;
        b->timer.data = &b->timer_conn;
        b->timer.handler = log_flush_timer;
        b->timer.log = w->log;
        fc_event_add_timer(w->loop, &b->timer, b->flush);
    }
    return FC_OK;
}

static void
log_exit_worker(fc_cycle_t *cycle)
{
    log_main_conf_t *lmcf = log_cycle_main_conf(cycle);
    for (log_buffer_t *b = lmcf ? lmcf->buffers : NULL; b; b = b->next)
        log_buffer_flush(b);
}
