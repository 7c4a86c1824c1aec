/*
 * conf_parse.c: dispatches directives to module command tables, as nginx
 * does: a directive is looked up in every module of the current block's
 * type, its context and argument count are checked, then its setter runs on
 * the conf the command names. Errors are counted and parsing goes on, so one
 * `-t` run reports every error it safely can; only syntax errors stop it.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/conf_lex.h"

#include <glob.h>
#include <sys/stat.h>

enum { PARSE_FILE, PARSE_BLOCK, PARSE_PARAM };

/* Argument counts by number of arguments, as bits. */
static const unsigned conf_argc_bits[] = {FC_CONF_NOARGS, FC_CONF_TAKE1, FC_CONF_TAKE2,
                                          FC_CONF_TAKE3,  FC_CONF_TAKE4, FC_CONF_TAKE5,
                                          FC_CONF_TAKE6,  FC_CONF_TAKE7};

void
fc_conf_log_error(int level, fc_conf_t *cf, int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err) {
        size_t n = strlen(msg);
        snprintf(msg + n, sizeof(msg) - n, " (%d: %s)", err, strerror(err));
    }
    if (level <= FC_LOG_ERR)
        cf->errors++;
    if (cf->dir_file && strcmp(cf->dir_file, "command line") == 0)
        fc_log_error(level, cf->log, 0, "%s in command line", msg); /* -g: nginx gives no line */
    else if (cf->dir_file)
        fc_log_error(level, cf->log, 0, "%s in %s:%u", msg, cf->dir_file, cf->dir_line);
    else
        fc_log_error(level, cf->log, 0, "%s", msg);
}

int
fc_conf_full_name(fc_pool_t *pool, const fc_str_t *base, fc_str_t *name)
{
    if (name->len > 0 && name->data[0] == '/')
        return fc_str_dup(pool, name, name);
    size_t n = base->len + name->len;
    unsigned char *p = fc_pnalloc(pool, n + 1);
    if (p == NULL)
        return FC_ERROR;
    if (base->len)
        memcpy(p, base->data, base->len);
    memcpy(p + base->len, name->data, name->len);
    p[n] = '\0';
    name->data = p;
    name->len = n;
    return FC_OK;
}

static int
conf_args_ok(const fc_command_t *cmd, size_t nargs)
{
    if (cmd->type & FC_CONF_ANY)
        return 1;
    if (cmd->type & FC_CONF_FLAG)
        return nargs == 1;
    if (cmd->type & FC_CONF_1MORE)
        return nargs >= 1;
    if (cmd->type & FC_CONF_2MORE)
        return nargs >= 2;
    if (nargs >= fc_nelems(conf_argc_bits))
        return 0;
    return (cmd->type & conf_argc_bits[nargs]) != 0;
}

static void *
conf_command_conf(fc_conf_t *cf, const fc_module_t *m, const fc_command_t *cmd)
{
    if (m->type == FC_CORE_MODULE || m->type == FC_CONF_MODULE)
        return ((void **) cf->ctx)[m->index];
    void **confs = *(void ***) ((char *) cf->ctx + cmd->conf);
    return confs ? confs[m->ctx_index] : NULL;
}

static int
conf_run_command(fc_conf_t *cf, const fc_module_t *m, const fc_command_t *cmd, int token)
{
    const char *name = cmd->name;
    if (!(cmd->type & FC_CONF_BLOCK) && token != FC_CONF_TOKEN_DIRECTIVE) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "directive \"%s\" is not terminated by \";\"",
                          name);
        return FC_ERROR;
    }
    if ((cmd->type & FC_CONF_BLOCK) && token != FC_CONF_TOKEN_BLOCK_START) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "directive \"%s\" has no opening \"{\"", name);
        return FC_ERROR;
    }
    if (!conf_args_ok(cmd, cf->args->nelts - 1)) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid number of arguments in \"%s\" directive",
                          name);
        return FC_ERROR;
    }
    unsigned errors_before = cf->errors;
    char *rv = cmd->set(cf, cmd, conf_command_conf(cf, m, cmd));
    if (rv == FC_CONF_OK)
        return cf->errors == errors_before || (cmd->type & FC_CONF_BLOCK) ? FC_OK : FC_ERROR;
    if (rv != FC_CONF_ERROR)
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%s\" directive %s", name, rv);
    else if (cf->errors == errors_before)
        cf->errors++; /* the handler logged nothing itself: still an error */
    return FC_ERROR;
}

static int conf_include(fc_conf_t *cf);

/* Finds and runs the directive in cf->args; FC_ERROR if it failed (already logged). */
static int
conf_handle(fc_conf_t *cf, int token)
{
    fc_str_t *name = fc_conf_args(cf);
    if (fc_str_eq_c(name, "include")) {
        if (token != FC_CONF_TOKEN_DIRECTIVE || cf->args->nelts != 2) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "invalid number of arguments in \"include\" directive");
            return FC_ERROR;
        }
        return conf_include(cf);
    }
    int found = 0;
    for (size_t i = 0; fc_modules[i]; i++) {
        const fc_module_t *m = fc_modules[i];
        for (const fc_command_t *cmd = m->commands; cmd && cmd->name; cmd++) {
            if (!fc_str_eq_c(name, cmd->name))
                continue;
            found = 1;
            if (m->type != FC_CONF_MODULE && m->type != cf->module_type)
                continue;
            if (!(cmd->type & cf->cmd_type))
                continue;
            return conf_run_command(cf, m, cmd, token);
        }
    }
    if (found)
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%.*s\" directive is not allowed here",
                          (int) name->len, name->data);
    else
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unknown directive \"%.*s\"", (int) name->len,
                          name->data);
    return FC_ERROR;
}

/* After a failed block directive, consumes the block's tokens up to its "}". */
static int
conf_skip_block(fc_conf_t *cf)
{
    unsigned depth = 1;
    while (depth > 0) {
        int t = fc_conf_read_token(cf);
        if (t == FC_CONF_TOKEN_ERROR)
            return FC_ERROR;
        if (t == FC_CONF_TOKEN_FILE_DONE) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unexpected end of file, expecting \"}\"");
            return FC_ERROR;
        }
        if (t == FC_CONF_TOKEN_BLOCK_START)
            depth++;
        else if (t == FC_CONF_TOKEN_BLOCK_DONE)
            depth--;
    }
    return FC_OK;
}

static int
conf_read_file(fc_conf_t *cf, const fc_str_t *filename, fc_conf_file_t *f)
{
    int fd = open((const char *) filename->data, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "open() \"%s\" failed", filename->data);
        if (fd >= 0)
            close(fd);
        return FC_ERROR;
    }
    f->start = fc_pnalloc(cf->pool, (size_t) st.st_size + 1);
    size_t got = 0;
    while (f->start && got < (size_t) st.st_size) {
        ssize_t n = read(fd, f->start + got, (size_t) st.st_size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t) n;
    }
    close(fd);
    if (f->start == NULL || got != (size_t) st.st_size) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "read() \"%s\" failed", filename->data);
        return FC_ERROR;
    }
    f->pos = f->start;
    f->end = f->start + got;
    f->line = 1;
    f->name = *filename;
    return FC_OK;
}

static void
conf_remember_file(fc_conf_t *cf, fc_conf_file_t *f)
{
    fc_conf_file_t **pp = &cf->cycle->conf_files;
    while (*pp)
        pp = &(*pp)->next;
    *pp = f;
}

static int
conf_parse_loop(fc_conf_t *cf, int type)
{
    for (;;) {
        int t = fc_conf_read_token(cf);
        if (t == FC_CONF_TOKEN_ERROR || cf->fatal) {
            cf->fatal = 1;
            return FC_ERROR;
        }
        if (t == FC_CONF_TOKEN_BLOCK_DONE) {
            if (type == PARSE_BLOCK)
                return FC_OK;
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unexpected \"}\"");
            cf->fatal = 1;
            return FC_ERROR;
        }
        if (t == FC_CONF_TOKEN_FILE_DONE) {
            if (type != PARSE_BLOCK)
                return FC_OK;
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unexpected end of file, expecting \"}\"");
            cf->fatal = 1;
            return FC_ERROR;
        }
        if (cf->handler && !fc_str_eq_c(fc_conf_args(cf), "include")) {
            /* Blocks like map hold key/value lines, not directives. */
            if (t == FC_CONF_TOKEN_BLOCK_START) {
                fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unexpected \"{\"");
                if (conf_skip_block(cf) != FC_OK) {
                    cf->fatal = 1;
                    return FC_ERROR;
                }
                continue;
            }
            char *rv = cf->handler(cf, NULL, cf->handler_conf);
            if (rv != FC_CONF_OK && rv != FC_CONF_ERROR)
                fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", rv);
            continue;
        }
        fc_conf_file_t *file = cf->file;
        unsigned line = file->line;
        unsigned char *pos = file->pos;
        if (conf_handle(cf, t) == FC_ERROR && t == FC_CONF_TOKEN_BLOCK_START &&
            file->pos == pos && file->line == line) {
            /* The handler did not enter its block: skip it to keep going. */
            if (conf_skip_block(cf) != FC_OK)
                cf->fatal = 1;
        }
        if (cf->fatal)
            return FC_ERROR; /* a syntax error: nothing after it can be trusted */
    }
}

int
fc_conf_parse(fc_conf_t *cf, const fc_str_t *filename)
{
    if (filename == NULL)
        return conf_parse_loop(cf, PARSE_BLOCK);

    fc_conf_file_t *f = fc_pcalloc(cf->pool, sizeof(*f));
    if (f == NULL || conf_read_file(cf, filename, f) != FC_OK)
        return FC_ERROR;
    conf_remember_file(cf, f);
    fc_conf_file_t *prev = cf->file;
    cf->file = f;
    int rc = conf_parse_loop(cf, PARSE_FILE);
    cf->file = prev;
    if (prev)
        cf->dir_file = (const char *) prev->name.data;
    return rc;
}

int
fc_conf_parse_string(fc_conf_t *cf, const fc_str_t *text, const char *name)
{
    fc_conf_file_t *f = fc_pcalloc(cf->pool, sizeof(*f));
    if (f == NULL)
        return FC_ERROR;
    f->name.data = (unsigned char *) name;
    f->name.len = strlen(name);
    f->start = f->pos = text->data;
    f->end = text->data + text->len;
    f->line = 1;
    fc_conf_file_t *prev = cf->file;
    cf->file = f;
    int rc = conf_parse_loop(cf, PARSE_PARAM);
    cf->file = prev;
    return rc;
}

static int
conf_include(fc_conf_t *cf)
{
    fc_str_t pattern = fc_conf_args(cf)[1];
    if (fc_conf_full_name(cf->pool, &cf->cycle->conf_prefix, &pattern) != FC_OK)
        return FC_ERROR;
    if (cf->depth >= 32) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "include nesting is too deep for \"%s\"",
                          pattern.data);
        cf->fatal = 1; /* going on would retry every include at every level: 2^depth files */
        return FC_ERROR;
    }
    int has_glob = strpbrk((const char *) pattern.data, "*?[") != NULL;
    glob_t g;
    int grc = glob((const char *) pattern.data, has_glob ? 0 : GLOB_NOCHECK, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        return FC_OK; /* nginx: a wildcard that matches nothing is not an error */
    }
    if (grc != 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "glob() \"%s\" failed", pattern.data);
        return FC_ERROR;
    }
    int rc = FC_OK;
    const char *dir_file = cf->dir_file;
    unsigned dir_line = cf->dir_line;
    for (size_t i = 0; i < g.gl_pathc && rc == FC_OK; i++) {
        fc_str_t one = {strlen(g.gl_pathv[i]), (unsigned char *) g.gl_pathv[i]};
        if (fc_str_dup(cf->pool, &one, &one) != FC_OK) {
            rc = FC_ERROR;
            break;
        }
        cf->depth++;
        cf->dir_file = dir_file;
        cf->dir_line = dir_line;
        rc = fc_conf_parse(cf, &one);
        cf->depth--;
    }
    globfree(&g);
    return rc;
}
