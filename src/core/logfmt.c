/*
 * logfmt.c: the access-log engine the stream and http log modules share
 * (see logfmt.h): formats, the access_log directive and its inheritance,
 * escaping, and the per-file buffers with their flush timers.
 */
#include "core/fc_core.h"
#include "core/logfmt.h"
#include "core/worker.h"

struct fc_logfmt_buf_s {
    fc_open_file_t *file;
    unsigned char *start;
    size_t size;
    size_t used;
    fc_msec_t flush;       /* 0: only when full, on reopen and at exit */
    fc_event_loop_t *loop; /* the worker's, set by fc_logfmt_init_worker */
    fc_event_t timer;
    fc_logfmt_buf_t *next;
};

int
fc_logfmt_main_init(fc_logfmt_main_t *m, fc_pool_t *pool)
{
    m->buffers = NULL;
    m->default_logs = NULL;
    return fc_array_init(&m->formats, pool, 4, sizeof(fc_logfmt_t));
}

static const fc_logfmt_t *
lf_find_format(const fc_logfmt_main_t *m, const fc_str_t *name)
{
    const fc_logfmt_t *f = m->formats.elts;
    for (size_t i = 0; i < m->formats.nelts; i++) {
        if (fc_str_eq(&f[i].name, name))
            return &f[i];
    }
    return NULL;
}

fc_logfmt_t *
fc_logfmt_define(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg, const fc_str_t *name,
                 unsigned escape, const fc_str_t *text)
{
    if (lf_find_format(m, name)) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate \"log_format\" name \"%.*s\"",
                          (int) name->len, name->data);
        return NULL;
    }
    fc_logfmt_t *fmt = fc_array_push(&m->formats);
    if (fmt == NULL)
        return NULL;
    fmt->name = *name;
    fmt->escape = escape;
    return fc_cv_compile(cf, reg, text, &fmt->value) == FC_OK ? fmt : NULL;
}

char *
fc_logfmt_format_directive(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg)
{
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf), first = 2;
    unsigned escape = FC_LOGFMT_ESCAPE_DEFAULT;
    if (n > 2 && args[2].len >= 7 && memcmp(args[2].data, "escape=", 7) == 0) {
        fc_str_t e = {args[2].len - 7, args[2].data + 7};
        if (fc_str_eq_c(&e, "json")) {
            escape = FC_LOGFMT_ESCAPE_JSON;
        } else if (fc_str_eq_c(&e, "none")) {
            escape = FC_LOGFMT_ESCAPE_NONE;
        } else if (!fc_str_eq_c(&e, "default")) {
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
    fc_str_t text = {0, fc_pnalloc(cf->pool, len + 1)};
    if (text.data == NULL)
        return FC_CONF_ERROR;
    for (size_t i = first; i < n; i++) {
        memcpy(text.data + text.len, args[i].data, args[i].len);
        text.len += args[i].len;
    }
    text.data[text.len] = '\0';
    return fc_logfmt_define(cf, m, reg, &args[1], escape, &text) ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- access_log ---- */

typedef struct {
    size_t buffer;
    fc_msec_t flush;
    fc_cv_t *cond;
} lf_params_t;

static char *
lf_param(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *p, lf_params_t *lp)
{
    if (p->len > 7 && memcmp(p->data, "buffer=", 7) == 0) {
        fc_str_t v = {p->len - 7, p->data + 7};
        int64_t n = fc_parse_size(&v);
        if (n < 1 || n > 64 * 1024 * 1024) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid buffer size \"%.*s\"", (int) v.len,
                              v.data);
            return FC_CONF_ERROR;
        }
        lp->buffer = (size_t) n;
    } else if (p->len > 6 && memcmp(p->data, "flush=", 6) == 0) {
        fc_str_t v = {p->len - 6, p->data + 6};
        int64_t n = fc_parse_time(&v, 1000);
        if (n < 1) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid flush time \"%.*s\"", (int) v.len,
                              v.data);
            return FC_CONF_ERROR;
        }
        lp->flush = n;
    } else if (p->len > 3 && memcmp(p->data, "if=", 3) == 0) {
        fc_str_t v = {p->len - 3, p->data + 3};
        lp->cond = fc_palloc(cf->pool, sizeof(fc_cv_t));
        if (lp->cond == NULL || fc_cv_compile(cf, reg, &v, lp->cond) != FC_OK)
            return FC_CONF_ERROR;
    } else if (p->len >= 4 && memcmp(p->data, "gzip", 4) == 0 &&
               (p->len == 4 || p->data[4] == '=')) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "access_log gzip is not supported");
        return FC_CONF_ERROR;
    } else {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) p->len, p->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static void lf_file_flush(fc_open_file_t *file);

/* The file's buffer: one per file, whichever access_log asked first. */
static char *
lf_buffer(fc_conf_t *cf, fc_logfmt_main_t *m, fc_open_file_t *file, const lf_params_t *lp,
          const fc_str_t *path)
{
    if (file->flush == lf_file_flush) {
        fc_logfmt_buf_t *b = file->data;
        if (b->size == lp->buffer && b->flush == lp->flush)
            return FC_CONF_OK;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "access_log \"%.*s\" already defined with conflicting parameters",
                          (int) path->len, path->data);
        return FC_CONF_ERROR;
    }
    fc_logfmt_buf_t *b = fc_pcalloc(cf->pool, sizeof(*b));
    if (b == NULL || (b->start = fc_pnalloc(cf->pool, lp->buffer)) == NULL)
        return FC_CONF_ERROR;
    b->file = file;
    b->size = lp->buffer;
    b->flush = lp->flush;
    file->flush = lf_file_flush; /* a reopen (USR1) writes the buffer out first */
    file->data = b;
    b->next = m->buffers;
    m->buffers = b;
    return FC_CONF_OK;
}

/*
 * Checks the path and opens it with the cycle (relative to the prefix); a
 * path with variables is compiled instead (reg not NULL), made absolute the
 * same way, and opened when a line is written.
 */
static int
lf_open(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *written, fc_logfmt_target_t *t)
{
    fc_str_t path = *written;
    if (path.len >= 7 && memcmp(path.data, "syslog:", 7) == 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "logging to syslog is not supported");
        return FC_ERROR;
    }
    if (!fc_str_eq_c(&path, "stderr") &&
        fc_conf_full_name(cf->pool, &cf->cycle->prefix, &path) != FC_OK)
        return FC_ERROR;
    if (reg && memchr(path.data, '$', path.len) != NULL) {
        t->path = fc_palloc(cf->pool, sizeof(fc_cv_t));
        return t->path && fc_cv_compile(cf, reg, &path, t->path) == FC_OK ? FC_OK : FC_ERROR;
    }
    t->file = fc_cycle_open_file(cf->cycle, &path);
    return t->file ? FC_OK : FC_ERROR;
}

static fc_logfmt_target_t *
lf_add_target(fc_conf_t *cf, fc_var_registry_t *reg, fc_array_t **logs, const fc_str_t *path,
              const fc_logfmt_t *fmt)
{
    if (*logs == NULL && (*logs = fc_array_create(cf->pool, 2, sizeof(fc_logfmt_target_t))) == NULL)
        return NULL;
    fc_logfmt_target_t *t = fc_array_push(*logs);
    if (t == NULL)
        return NULL;
    memset(t, 0, sizeof(*t));
    if (lf_open(cf, reg, path, t) != FC_OK)
        return NULL;
    t->format = fmt;
    return t;
}

static const fc_logfmt_t *
lf_format_arg(fc_conf_t *cf, const fc_logfmt_main_t *m, const fc_str_t *name)
{
    const fc_logfmt_t *fmt = lf_find_format(m, name);
    if (fmt == NULL)
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unknown log format \"%.*s\"", (int) name->len,
                          name->data);
    return fmt;
}

char *
fc_logfmt_access_directive(fc_conf_t *cf, fc_logfmt_main_t *m, fc_var_registry_t *reg,
                           fc_logfmt_conf_t *lc, const char *default_format)
{
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    if (fc_str_eq_c(&args[1], "off")) {
        if (n == 2) {
            lc->off = 1;
            return FC_CONF_OK;
        }
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[2].len,
                          args[2].data);
        return FC_CONF_ERROR;
    }
    /* As nginx, "off" and logs may share a level: "off" wins (nothing is logged there). */
    fc_str_t dflt = {default_format ? strlen(default_format) : 0, (unsigned char *) default_format};
    if (n < 3 && default_format == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "log format is not specified");
        return FC_CONF_ERROR;
    }
    const fc_logfmt_t *fmt = lf_format_arg(cf, m, n < 3 ? &dflt : &args[2]);
    if (fmt == NULL)
        return FC_CONF_ERROR;
    lf_params_t lp = {0, 0, NULL};
    for (size_t i = 3; i < n; i++) {
        if (lf_param(cf, reg, &args[i], &lp) != FC_CONF_OK)
            return FC_CONF_ERROR;
    }
    if (lp.flush && !lp.buffer) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no buffer is defined for access_log \"%.*s\"",
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    fc_logfmt_target_t *t = lf_add_target(cf, reg, &lc->logs, &args[1], fmt);
    if (t == NULL)
        return FC_CONF_ERROR;
    t->cond = lp.cond;
    if (t->path && lp.buffer) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "buffered logs cannot have variables in name");
        return FC_CONF_ERROR;
    }
    return lp.buffer ? lf_buffer(cf, m, t->file, &lp, &args[1]) : FC_CONF_OK;
}

char *
fc_logfmt_merge(fc_conf_t *cf, fc_logfmt_main_t *m, const fc_logfmt_conf_t *prev,
                fc_logfmt_conf_t *conf, const char *default_path, const char *default_format)
{
    if (conf->logs || conf->off)
        return FC_CONF_OK;
    conf->logs = prev->logs;
    conf->off = prev->off;
    if (conf->logs || conf->off || default_path == NULL)
        return FC_CONF_OK;
    if (m->default_logs == NULL) {
        fc_str_t path = {strlen(default_path), (unsigned char *) default_path};
        fc_str_t name = {strlen(default_format), (unsigned char *) default_format};
        const fc_logfmt_t *fmt = lf_format_arg(cf, m, &name);
        if (fmt == NULL || lf_add_target(cf, NULL, &m->default_logs, &path, fmt) == NULL)
            return FC_CONF_ERROR;
    }
    conf->logs = m->default_logs;
    return FC_CONF_OK;
}

/* ---- run time ---- */

size_t
fc_logfmt_escape(unsigned escape, const unsigned char *src, size_t len, unsigned char *dst)
{
    static const char hex[] = "0123456789ABCDEF", jhex[] = "0123456789abcdef";
    static const char jshort[] = "btnvfr"; /* \b \t \n (\v) \f \r: 0x08..0x0d */
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = src[i];
        if (escape == FC_LOGFMT_ESCAPE_NONE) {
            dst[n++] = ch;
        } else if (escape == FC_LOGFMT_ESCAPE_JSON && (ch == '"' || ch == '\\')) {
            dst[n++] = '\\';
            dst[n++] = ch;
        } else if (escape == FC_LOGFMT_ESCAPE_JSON && ch < 0x20) {
            dst[n++] = '\\';
            if (ch >= 0x08 && ch <= 0x0d && ch != 0x0b) {
                dst[n++] = (unsigned char) jshort[ch - 0x08];
                continue;
            }
            memcpy(dst + n, "u00", 3);
            dst[n + 3] = (unsigned char) jhex[ch >> 4];
            dst[n + 4] = (unsigned char) jhex[ch & 0xf];
            n += 5;
        } else if (escape == FC_LOGFMT_ESCAPE_DEFAULT &&
                   (ch == '"' || ch == '\\' || ch < 0x20 || ch > 0x7e)) {
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

/* A part's value, read once: a no-cacheable variable may change between reads. */
typedef struct {
    fc_str_t s;
    unsigned raw : 1;  /* a literal: copied as is */
    unsigned dash : 1; /* a variable not found: "-" */
} lf_seg_t;

static size_t
lf_segments(const fc_logfmt_t *fmt, const fc_logfmt_ctx_t *ctx, lf_seg_t *seg)
{
    const fc_cv_t *cv = &fmt->value;
    size_t cap = 1;
    for (size_t i = 0; i < cv->nparts; i++) {
        const fc_cv_part_t *part = &cv->parts[i];
        seg[i].raw = part->type == 0;
        seg[i].dash = 0;
        if (part->type == 0) {
            seg[i].s = part->lit;
        } else if (part->type == 1) {
            fc_var_value_t *v = fc_var_get(ctx->reg, ctx->values, ctx->r, part->index);
            seg[i].s.data = (unsigned char *) v->data;
            seg[i].s.len = v->len;
            /* nginx: "-" only for a variable not found, and only with default
             * escaping (json and none write nothing); an empty value stays empty */
            seg[i].dash = v->not_found && fmt->escape == FC_LOGFMT_ESCAPE_DEFAULT;
        } else {
            seg[i].s = fc_captures_get(ctx->caps, (int) part->index);
        }
        cap += seg[i].raw ? seg[i].s.len : 6 * seg[i].s.len + 1;
    }
    return cap;
}

int
fc_logfmt_line(const fc_logfmt_t *fmt, const fc_logfmt_ctx_t *ctx, fc_str_t *line)
{
    const fc_cv_t *cv = &fmt->value;
    if (!cv->has_vars) {
        line->len = cv->text.len + 1;
        line->data = fc_pnalloc(ctx->pool, line->len);
        if (line->data == NULL)
            return FC_ERROR;
        memcpy(line->data, cv->text.data, cv->text.len);
        line->data[cv->text.len] = '\n';
        return FC_OK;
    }
    lf_seg_t local[32];
    lf_seg_t *seg =
        cv->nparts <= fc_nelems(local) ? local : fc_palloc(ctx->pool, cv->nparts * sizeof(*seg));
    if (seg == NULL)
        return FC_ERROR;
    size_t cap = lf_segments(fmt, ctx, seg);
    unsigned char *d = fc_pnalloc(ctx->pool, cap), *p = d;
    if (d == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < cv->nparts; i++) {
        if (seg[i].dash) {
            *p++ = '-';
        } else if (seg[i].raw) {
            if (seg[i].s.len)
                memcpy(p, seg[i].s.data, seg[i].s.len);
            p += seg[i].s.len;
        } else {
            p += fc_logfmt_escape(fmt->escape, seg[i].s.data, seg[i].s.len, p);
        }
    }
    *p++ = '\n';
    line->data = d;
    line->len = (size_t) (p - d);
    return FC_OK;
}

static void
lf_buf_flush(fc_logfmt_buf_t *b)
{
    if (b->timer.timer_set && b->loop)
        fc_event_del_timer(b->loop, &b->timer);
    if (b->used == 0 || b->file->fd < 0)
        return;
    ssize_t w = write(b->file->fd, b->start, b->used);
    (void) w; /* a log that cannot be written must not stop traffic */
    b->used = 0;
}

static void
lf_file_flush(fc_open_file_t *file)
{
    lf_buf_flush(file->data);
}

static void
lf_flush_timer(fc_event_t *ev)
{
    lf_buf_flush(ev->data);
}

static void
lf_write_line(fc_open_file_t *file, const fc_str_t *line)
{
    fc_logfmt_buf_t *b = file->flush == lf_file_flush ? file->data : NULL;
    if (b && b->used + line->len > b->size)
        lf_buf_flush(b);
    if (b == NULL || line->len > b->size) {
        ssize_t w = write(file->fd, line->data, line->len);
        (void) w;
        return;
    }
    memcpy(b->start + b->used, line->data, line->len);
    b->used += line->len;
    if (b->flush && b->loop && !b->timer.timer_set)
        fc_event_add_timer(b->loop, &b->timer, b->flush);
}

/* A line to a path with variables: opened, written, closed (nginx without a file cache). */
static void
lf_write_path(const fc_cv_t *cv, const fc_logfmt_ctx_t *ctx, const fc_str_t *line)
{
    fc_str_t path;
    if (fc_cv_eval(cv, ctx->reg, ctx->values, ctx->r, ctx->pool, ctx->caps, &path) != FC_OK)
        return;
    char *z = fc_str_cstr(ctx->pool, &path);
    if (z == NULL)
        return;
    int fd = open(z, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (ctx->log)
            fc_log_error(FC_LOG_CRIT, ctx->log, errno, "open() \"%s\" failed", z);
        return;
    }
    ssize_t w = write(fd, line->data, line->len);
    (void) w;
    close(fd);
}

static int
lf_skip(const fc_cv_t *cond, const fc_logfmt_ctx_t *ctx)
{
    fc_str_t v;
    if (cond == NULL)
        return 0;
    if (fc_cv_eval(cond, ctx->reg, ctx->values, ctx->r, ctx->pool, ctx->caps, &v) != FC_OK)
        return 1;
    return v.len == 0 || (v.len == 1 && v.data[0] == '0');
}

void
fc_logfmt_write(const fc_logfmt_conf_t *lc, const fc_logfmt_ctx_t *ctx)
{
    if (lc->off || lc->logs == NULL)
        return;
    const fc_logfmt_target_t *t = lc->logs->elts;
    for (size_t i = 0; i < lc->logs->nelts; i++) {
        fc_str_t line;
        if (lf_skip(t[i].cond, ctx) || fc_logfmt_line(t[i].format, ctx, &line) != FC_OK)
            continue;
        if (t[i].path)
            lf_write_path(t[i].path, ctx, &line);
        else
            lf_write_line(t[i].file, &line);
    }
}

int
fc_logfmt_init_worker(fc_logfmt_main_t *m, fc_cycle_t *cycle)
{
    fc_worker_t *w = fc_worker_self(cycle);
    for (fc_logfmt_buf_t *b = m->buffers; b; b = b->next) {
        b->used = 0;
        b->loop = w ? w->loop : NULL;
        memset(&b->timer, 0, sizeof(b->timer));
        b->timer.data = b;
        b->timer.handler = lf_flush_timer;
        b->timer.log = w ? w->log : NULL;
    }
    return FC_OK;
}

void
fc_logfmt_exit_worker(fc_logfmt_main_t *m)
{
    for (fc_logfmt_buf_t *b = m->buffers; b; b = b->next)
        lf_buf_flush(b);
}
