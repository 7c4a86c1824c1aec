/*
 * http_rewrite.c: nginx's rewrite module: `rewrite`, `return`, `break`,
 * `if`, `set`, `rewrite_log` and `uninitialized_variable_warn`.
 *
 * The directives of one level are compiled at load into an ordered list of
 * operations. The server{} level's list runs in the SERVER_REWRITE phase,
 * a location's in the REWRITE phase; as in nginx a location never inherits
 * a list from the server or from an enclosing location. `rewrite ... last`
 * only sets r->uri_changed: the phase engine finds the location again.
 *
 * An `if` is one operation of its level's list, followed in the same list by
 * the operations of its block; when the condition is false the list goes on
 * after them, when it is true it runs them and then the rest of the level.
 * As nginx's, the block of an `if` in a location is also an anonymous
 * location (merged from the enclosing one, never matched by URI): a true
 * condition makes it the request's configuration, so proxy_pass, add_header,
 * access_log ... written inside take effect in place of the location's.
 */
#include "http/http.h"
#include "http/http_conf.h"
#include "http/request.h"
#include "core/layer.h"

#include <sys/stat.h>

enum { RW_OP_REWRITE = 0, RW_OP_RETURN, RW_OP_BREAK, RW_OP_SET, RW_OP_SET_ARGS, RW_OP_IF };

/* What an `if` tests: a variable, $var = value, $var ~ regex, or a file (-f -d -e -x). */
enum { RW_IF_VAR = 0, RW_IF_EQUAL, RW_IF_REGEX, RW_IF_FILE };

/* What running one operation asks of the list (RW_SKIP: a false `if`, go past its block). */
enum { RW_NEXT = 0, RW_STOP, RW_SKIP };

typedef struct {
    unsigned type;            /* RW_OP_* */
    unsigned status;          /* rewrite: 301/302 for a redirect, 0 for a URI; return: the code */
    fc_regex_t *regex;        /* rewrite, if ~ */
    fc_str_t pattern;         /* rewrite, if ~: the regex as written (rewrite_log) */
    fc_array_t *names;        /* rewrite, if ~: named groups (for r->named_captures), or NULL */
    fc_cv_t value;            /* rewrite: the URI part (redirect: all of it); return text; set
                                 value; if: the value compared with, or the file's path */
    fc_cv_t args;             /* rewrite: the part after '?' */
    size_t index;             /* set, if: the variable's index */
    void **loc_conf;          /* if in a location: the confs of its block (NULL at server level) */
    size_t next;              /* if: the operation after its block */
    unsigned cond;            /* if: RW_IF_* */
    unsigned char file_op;    /* if -f -d -e -x: 'f', 'd', 'e' or 'x' */
    unsigned negative : 1;    /* if: !=, !~, !~*, !-f ... */
    unsigned has_text : 1;    /* return: a text or URL was given */
    unsigned has_args : 1;    /* rewrite: the replacement has a '?' */
    unsigned add_args : 1;    /* rewrite: append the request's args (no trailing '?') */
    unsigned stop : 1;        /* rewrite: last, break or a redirect */
    unsigned break_cycle : 1; /* rewrite: break */
} rw_op_t;

typedef struct {
    fc_array_t *ops; /* rw_op_t in the order written; NULL: none (never inherited) */
    int log;         /* rewrite_log, off */
    int uninit_warn; /* uninitialized_variable_warn, on */
} rw_loc_conf_t;

static void *rw_create_loc_conf(fc_conf_t *cf);
static char *rw_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int rw_postconfiguration(fc_conf_t *cf);
static char *rw_rewrite(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *rw_return(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *rw_break(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *rw_set(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *rw_if(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/* Contexts as nginx: server, location and the block of an `if` in either; `if` not nested. */
#define RW_SL (FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)
#define RW_SLIF (RW_SL | FC_HTTP_SIF_CONF | FC_HTTP_LIF_CONF)
#define RW_ALL (FC_HTTP_MAIN_CONF | RW_SLIF)

static const fc_command_t rw_commands[] = {
    {"rewrite", RW_SLIF | FC_CONF_TAKE23, rw_rewrite, FC_CONF_LOC_OFFSET, 0, NULL},
    {"return", RW_SLIF | FC_CONF_TAKE12, rw_return, FC_CONF_LOC_OFFSET, 0, NULL},
    {"break", RW_SLIF | FC_CONF_NOARGS, rw_break, FC_CONF_LOC_OFFSET, 0, NULL},
    {"set", RW_SLIF | FC_CONF_TAKE2, rw_set, FC_CONF_LOC_OFFSET, 0, NULL},
    {"if", RW_SL | FC_CONF_BLOCK | FC_CONF_1MORE, rw_if, FC_CONF_LOC_OFFSET, 0, NULL},
    {"rewrite_log", RW_ALL | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_LOC_OFFSET,
     offsetof(rw_loc_conf_t, log), NULL},
    {"uninitialized_variable_warn", RW_ALL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     FC_CONF_LOC_OFFSET, offsetof(rw_loc_conf_t, uninit_warn), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t rw_ctx_ops = {
    .postconfiguration = rw_postconfiguration,
    .create_loc_conf = rw_create_loc_conf,
    .merge_loc_conf = rw_merge_loc_conf,
};

fc_module_t fc_http_rewrite_module = {
    .name = "http_rewrite",
    .type = FC_HTTP_MODULE,
    .commands = rw_commands,
    .ctx = &rw_ctx_ops,
};

static void *
rw_create_loc_conf(fc_conf_t *cf)
{
    rw_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(rw_loc_conf_t));
    if (conf == NULL)
        return NULL;
    conf->log = FC_UNSET;
    conf->uninit_warn = FC_UNSET;
    return conf;
}

static char *
rw_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    rw_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    fc_conf_merge_value(conf->log, prev->log, 0);
    fc_conf_merge_value(conf->uninit_warn, prev->uninit_warn, 1);
    /* conf->ops is not merged: each level runs only the directives written in it. */
    return FC_CONF_OK;
}

/* ---- directives ------------------------------------------------------------------- */

static rw_op_t *
rw_push(fc_conf_t *cf, rw_loc_conf_t *conf, unsigned type)
{
    if (conf->ops == NULL && (conf->ops = fc_array_create(cf->pool, 4, sizeof(rw_op_t))) == NULL)
        return NULL;
    rw_op_t *op = fc_array_push(conf->ops);
    if (op)
        op->type = type;
    return op;
}

/* 1 if a replacement or return value is an absolute redirect URL. */
static int
rw_is_url(const fc_str_t *s)
{
    static const char *const prefixes[] = {"http://", "https://", "$scheme"};
    for (size_t i = 0; i < fc_nelems(prefixes); i++) {
        size_t n = strlen(prefixes[i]);
        if (s->len >= n && memcmp(s->data, prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

static fc_var_registry_t *
rw_vars(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return &cmcf->vars;
}

/* Compiles a directive's value (with variables) into cv. */
static char *
rw_compile(fc_conf_t *cf, const fc_str_t *text, fc_cv_t *cv)
{
    return fc_cv_compile(cf, rw_vars(cf), text, cv) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* The optional flag of `rewrite`. */
static char *
rw_rewrite_flag(fc_conf_t *cf, rw_op_t *op, const fc_str_t *flag)
{
    if (fc_str_eq_c(flag, "last")) {
        op->stop = 1;
    } else if (fc_str_eq_c(flag, "break")) {
        op->stop = 1;
        op->break_cycle = 1;
    } else if (fc_str_eq_c(flag, "redirect")) {
        op->status = FC_HTTP_MOVED_TEMPORARILY;
        op->stop = 1;
    } else if (fc_str_eq_c(flag, "permanent")) {
        op->status = FC_HTTP_MOVED_PERMANENTLY;
        op->stop = 1;
    } else {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) flag->len,
                          flag->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/* Compiles a replacement: URI and args parts (a redirect keeps it whole). */
static char *
rw_replacement(fc_conf_t *cf, rw_op_t *op, const fc_str_t *text)
{
    fc_str_t repl = *text;
    op->add_args = 1;
    if (repl.len > 0 && repl.data[repl.len - 1] == '?') {
        repl.len--; /* a trailing '?' drops the request's args */
        op->add_args = 0;
    }
    const unsigned char *q = repl.len ? memchr(repl.data, '?', repl.len) : NULL;
    op->has_args = q != NULL;
    if (op->status || q == NULL)
        return rw_compile(cf, &repl, &op->value);
    fc_str_t uri = {(size_t) (q - repl.data), repl.data};
    fc_str_t args = {repl.len - uri.len - 1, (unsigned char *) q + 1};
    if (rw_compile(cf, &uri, &op->value) != FC_CONF_OK)
        return FC_CONF_ERROR;
    return rw_compile(cf, &args, &op->args);
}

static char *
rw_rewrite(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    rw_op_t *op = rw_push(cf, conf, RW_OP_REWRITE);
    if (op == NULL)
        return FC_CONF_ERROR;
    op->pattern = args[1];
    op->regex = fc_http_regex_compile(cf, &args[1], 0, &op->names);
    if (op->regex == NULL)
        return FC_CONF_ERROR;
    if (rw_is_url(&args[2])) {
        op->status = FC_HTTP_MOVED_TEMPORARILY;
        op->stop = 1;
    }
    if (fc_conf_nargs(cf) == 4 && rw_rewrite_flag(cf, op, &args[3]) != FC_CONF_OK)
        return FC_CONF_ERROR;
    return rw_replacement(cf, op, &args[2]);
}

static char *
rw_return(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    rw_op_t *op = rw_push(cf, conf, RW_OP_RETURN);
    if (op == NULL)
        return FC_CONF_ERROR;
    int64_t n = fc_atoi(args[1].data, args[1].len);
    const fc_str_t *text = NULL;
    if (n == FC_ERROR && fc_conf_nargs(cf) == 2 && rw_is_url(&args[1])) {
        op->status = FC_HTTP_MOVED_TEMPORARILY;
        text = &args[1];
    } else if (n == FC_ERROR || n > 999) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid return code \"%.*s\"", (int) args[1].len,
                          args[1].data);
        return FC_CONF_ERROR;
    } else {
        op->status = (unsigned) n;
        if (fc_conf_nargs(cf) == 3)
            text = &args[2];
    }
    if (text == NULL)
        return FC_CONF_OK;
    op->has_text = 1;
    return rw_compile(cf, text, &op->value);
}

static char *
rw_break(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return rw_push(cf, conf, RW_OP_BREAK) ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- if ------------------------------------------------------------------------------ */

static char *
rw_cond_invalid(fc_conf_t *cf, const fc_str_t *what)
{
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid condition \"%.*s\"", (int) what->len,
                      what->data);
    return FC_CONF_ERROR;
}

/* "$var", "$var = value" (!=), "$var ~ regex" (~*, !~, !~*): a[cur..last]. */
static char *
rw_cond_var(fc_conf_t *cf, rw_op_t *op, const fc_str_t *a, size_t cur, size_t last)
{
    if (cur != last && cur + 2 != last)
        return rw_cond_invalid(cf, &a[cur]);
    fc_str_t name = {a[cur].len - 1, a[cur].data + 1};
    int64_t index = fc_var_index(rw_vars(cf), cf, &name);
    if (index < 0)
        return FC_CONF_ERROR;
    op->index = (size_t) index;
    op->cond = RW_IF_VAR;
    if (cur == last)
        return FC_CONF_OK;
    const fc_str_t *o = &a[cur + 1], *arg = &a[last];
    op->negative = o->data[0] == '!';
    if (fc_str_eq_c(o, "=") || fc_str_eq_c(o, "!=")) {
        op->cond = RW_IF_EQUAL;
        return rw_compile(cf, arg, &op->value);
    }
    if (fc_str_eq_c(o, "~") || fc_str_eq_c(o, "~*") || fc_str_eq_c(o, "!~") ||
        fc_str_eq_c(o, "!~*")) {
        op->cond = RW_IF_REGEX;
        op->pattern = *arg;
        op->regex = fc_http_regex_compile(cf, arg, o->data[o->len - 1] == '*', &op->names);
        return op->regex ? FC_CONF_OK : FC_CONF_ERROR;
    }
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "unexpected \"%.*s\" in condition", (int) o->len,
                      o->data);
    return FC_CONF_ERROR;
}

/* "-f path" and "!-f path" (-d, -e, -x): a[cur..last]. */
static char *
rw_cond_file(fc_conf_t *cf, rw_op_t *op, const fc_str_t *a, size_t cur, size_t last)
{
    const fc_str_t *o = &a[cur];
    unsigned char c = o->data[o->len - 1];
    if (cur + 1 != last || memchr("fdex", c, 4) == NULL)
        return rw_cond_invalid(cf, o);
    op->cond = RW_IF_FILE;
    op->file_op = c;
    op->negative = o->data[0] == '!';
    return rw_compile(cf, &a[last], &op->value);
}

/*
 * The condition of `if`, split into words as nginx does: the "(" may stand
 * alone or open the first word, the ")" stand alone or end the last one;
 * what is between is "$var", "$var OP value" or "-X path" ("!-X path").
 */
static char *
rw_if_condition(fc_conf_t *cf, rw_op_t *op)
{
    fc_str_t *a = fc_conf_args(cf);
    size_t cur = 1, last = fc_conf_nargs(cf) - 1;
    if (a[1].len < 1 || a[1].data[0] != '(')
        return rw_cond_invalid(cf, &a[1]);
    if (a[1].len == 1) {
        cur = 2;
    } else {
        a[1].len--;
        a[1].data++;
    }
    if (a[last].len < 1 || a[last].data[a[last].len - 1] != ')')
        return rw_cond_invalid(cf, &a[last]);
    if (a[last].len == 1) {
        last--;
    } else {
        a[last].len--;
        a[last].data[a[last].len] = '\0';
    }
    /* cur > last only when a[cur] is the lone ")": invalid below. */
    const fc_str_t *w = &a[cur];
    if (w->len > 1 && w->data[0] == '$')
        return rw_cond_var(cf, op, a, cur, last);
    if ((w->len == 2 && w->data[0] == '-') ||
        (w->len == 3 && w->data[0] == '!' && w->data[1] == '-'))
        return rw_cond_file(cf, op, a, cur, last);
    return rw_cond_invalid(cf, w);
}

/*
 * The block of an `if` is an anonymous location of the enclosing level (as
 * nginx's "noname" ones): merged from it like a nested location, never
 * matched by URI. Returns its context, NULL on failure.
 */
static fc_conf_ctx_t *
rw_if_location(fc_conf_t *cf)
{
    fc_conf_ctx_t *pctx = cf->ctx;
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;
    if (fc_http_create_loc_confs(cf, ctx) != FC_OK)
        return NULL;
    fc_http_core_loc_conf_t *pclcf = pctx->loc_conf[fc_http_core_module.ctx_index];
    fc_http_core_loc_conf_t *clcf = ctx->loc_conf[fc_http_core_module.ctx_index];
    clcf->loc_conf = ctx->loc_conf;
    clcf->name = pclcf->name;
    clcf->noname = 1;
    if (pclcf->locations == NULL &&
        (pclcf->locations = fc_array_create(cf->pool, 4, sizeof(void *))) == NULL)
        return NULL;
    fc_http_core_loc_conf_t **slot = fc_array_push(pclcf->locations);
    if (slot == NULL)
        return NULL;
    *slot = clcf;
    return ctx;
}

static char *
rw_if(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    rw_loc_conf_t *lcf = conf;
    (void) cmd;
    rw_op_t cond = {.type = RW_OP_IF};
    if (rw_if_condition(cf, &cond) != FC_CONF_OK)
        return FC_CONF_ERROR;
    fc_conf_ctx_t *ctx = rw_if_location(cf);
    rw_op_t *op = ctx ? rw_push(cf, lcf, RW_OP_IF) : NULL;
    if (op == NULL)
        return FC_CONF_ERROR;
    *op = cond;
    size_t at = lcf->ops->nelts - 1;
    /* As nginx, only a location's if makes its block the request's configuration. */
    unsigned level = FC_HTTP_SIF_CONF;
    if (cf->cmd_type != FC_HTTP_SRV_CONF) {
        level = FC_HTTP_LIF_CONF;
        op->loc_conf = ctx->loc_conf;
    }
    /* The block's directives go to this level's list, right after the if. */
    rw_loc_conf_t *nlcf = ctx->loc_conf[fc_http_rewrite_module.ctx_index];
    nlcf->ops = lcf->ops;
    int rc = fc_layer_parse(cf, ctx, level);
    nlcf->ops = NULL;
    fc_array_at(lcf->ops, rw_op_t, at)->next = lcf->ops->nelts;
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/*
 * The getter of a variable defined by `set`: reached only while this
 * request has not set it (a set stores its value in r->variables).
 */
static int
rw_var_get(void *data, fc_var_value_t *v, uintptr_t index)
{
    fc_http_request_t *r = data;
    fc_var_set_str(v, (const unsigned char *) "", 0); /* as nginx: empty (logged ""), not "-" */
    if (r->loc_conf == NULL)
        return FC_OK;
    rw_loc_conf_t *conf = fc_http_get_module_loc_conf(r, fc_http_rewrite_module);
    fc_array_t *refs = &fc_http_core_main(r)->vars.refs;
    if (conf->uninit_warn == 1 && index < refs->nelts) {
        fc_var_ref_t *ref = fc_array_at(refs, fc_var_ref_t, index);
        fc_log_error(FC_LOG_WARN, r->connection->log, 0, "using uninitialized \"%.*s\" variable",
                     (int) ref->name.len, ref->name.data);
    }
    return FC_OK;
}

/*
 * nginx's set gives these names no getter of their own: until a set runs,
 * $arg_page still reads the query (so `if ($arg_page = "") { set $arg_page 1; }`
 * only fills in a default).
 */
static int
rw_prefix_name(const fc_str_t *name)
{
    static const char *const prefixes[] = {"http_", "sent_http_", "sent_trailer_", "cookie_",
                                           "arg_"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (name->len >= n &&
            fc_strncasecmp(name->data, (const unsigned char *) prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

static char *
rw_set(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (args[1].len < 2 || args[1].data[0] != '$') {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid variable name \"%.*s\"", (int) args[1].len,
                          args[1].data);
        return FC_CONF_ERROR;
    }
    fc_str_t name = {args[1].len - 1, args[1].data + 1};
    fc_var_registry_t *vars = rw_vars(cf);
    static const fc_str_t args_name = fc_string("args");
    unsigned type = fc_str_caseeq(&name, &args_name) ? RW_OP_SET_ARGS : RW_OP_SET;
    fc_var_t *v = NULL;
    if (type == RW_OP_SET && (v = fc_var_define(vars, &name, FC_VAR_CHANGEABLE)) == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the duplicate \"%.*s\" variable", (int) name.len,
                          name.data);
        return FC_CONF_ERROR;
    }
    int64_t index = fc_var_index(vars, cf, &name);
    rw_op_t *op = index < 0 ? NULL : rw_push(cf, conf, type);
    if (op == NULL)
        return FC_CONF_ERROR;
    if (v && v->get == NULL && !rw_prefix_name(&name)) {
        v->get = rw_var_get; /* a variable of its own (a builtin or map keeps its getter) */
        v->data = (uintptr_t) index;
    }
    op->index = (size_t) index;
    return rw_compile(cf, &args[2], &op->value);
}

/* ---- run time: evaluation ------------------------------------------------------------ */

/* 1 for bytes nginx escapes in query arguments: " #%&+;?", controls and non-ASCII. */
static int
rw_arg_escaped(unsigned char c)
{
    /* nginx's NGX_ESCAPE_ARGS: the URI set and the argument separators */
    return fc_http_uri_escapes(c) || c == '&' || c == '+' || c == ';';
}

/*
 * Evaluates a replacement part. With `escape`, regex captures are escaped
 * as query arguments (nginx does so when the request URI had "%" or "+").
 */
static int
rw_eval(fc_http_request_t *r, const fc_cv_t *cv, int escape, fc_str_t *out)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    return fc_cv_eval_escape(cv, &cmcf->vars, r->variables, r, r->pool, &r->captures,
                             escape ? rw_arg_escaped : NULL, out);
}

/* 1 when the request's URI path had "%" or "+" (nginx's quoted_uri / plus_in_uri). */
static int
rw_uri_quoted(const fc_http_request_t *r)
{
    const fc_str_t *u = &r->unparsed_uri;
    for (size_t i = 0; i < u->len && u->data[i] != '?'; i++) {
        if (u->data[i] == '%' || u->data[i] == '+')
            return 1;
    }
    return 0;
}

static int
rw_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = fc_tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Copies a redirect URL, decoding "%XX" before the first '?' when it gives
 * a printable byte above '%' (as nginx does), then appends the request's
 * args when asked. Returns the length written to dst.
 */
static size_t
rw_redirect_copy(unsigned char *dst, const fc_str_t *url, const fc_str_t *args, int add_args,
                 int has_args)
{
    unsigned char *d = dst;
    size_t i = 0;
    for (; i < url->len && url->data[i] != '?'; i++) {
        unsigned char c = url->data[i];
        int hi = c == '%' && i + 2 < url->len ? rw_hex(url->data[i + 1]) : -1;
        int lo = hi >= 0 ? rw_hex(url->data[i + 2]) : -1;
        int ch = hi >= 0 && lo >= 0 ? hi * 16 + lo : -1;
        if (ch > '%' && ch < 0x7f) {
            *d++ = (unsigned char) ch;
            i += 2;
        } else {
            *d++ = c;
        }
    }
    memcpy(d, url->data + i, url->len - i);
    d += url->len - i;
    if (add_args && args->len) {
        *d++ = has_args ? '&' : '?';
        memcpy(d, args->data, args->len);
        d += args->len;
    }
    return (size_t) (d - dst);
}

/* ---- run time: operations ------------------------------------------------------------ */

/* A rewrite whose replacement is a redirect: Location, then the 301/302. */
static int
rw_do_redirect(fc_http_request_t *r, const rw_loc_conf_t *conf, const rw_op_t *op)
{
    fc_str_t url;
    if (rw_eval(r, &op->value, rw_uri_quoted(r), &url) != FC_OK)
        return FC_ERROR;
    fc_str_t loc;
    loc.data = fc_pnalloc(r->pool, url.len + r->args.len + 2);
    if (loc.data == NULL)
        return FC_ERROR;
    loc.len = rw_redirect_copy(loc.data, &url, &r->args, op->add_args, op->has_args);
    loc.data[loc.len] = '\0';
    if (conf->log == 1)
        fc_log_error(FC_LOG_NOTICE, r->connection->log, 0, "rewritten redirect: \"%.*s\"",
                     (int) loc.len, loc.data);
    return fc_http_set_location(r, op->status, &loc);
}

/* The new args of a URI rewrite (returns 0 when they stay as they are). */
static int
rw_new_args(fc_http_request_t *r, const rw_op_t *op, fc_str_t *out)
{
    if (!op->has_args) {
        if (op->add_args)
            return 0;
        out->len = 0;
        out->data = (unsigned char *) "";
        return 1;
    }
    fc_str_t a;
    if (rw_eval(r, &op->args, rw_uri_quoted(r), &a) != FC_OK)
        return FC_ERROR;
    if (!op->add_args || r->args.len == 0) {
        *out = a;
        return 1;
    }
    out->data = fc_pnalloc(r->pool, a.len + 1 + r->args.len + 1);
    if (out->data == NULL)
        return FC_ERROR;
    memcpy(out->data, a.data, a.len);
    out->data[a.len] = '&';
    memcpy(out->data + a.len + 1, r->args.data, r->args.len);
    out->len = a.len + 1 + r->args.len;
    out->data[out->len] = '\0';
    return 1;
}

/* A matching rewrite of the URI: RW_NEXT, RW_STOP, or a status. */
static int
rw_do_uri(fc_http_request_t *r, const rw_loc_conf_t *conf, const rw_op_t *op)
{
    fc_str_t uri, args;
    if (fc_http_cv_eval(r, &op->value, &uri) != FC_OK)
        return FC_ERROR;
    int rc = rw_new_args(r, op, &args);
    if (rc == FC_ERROR)
        return FC_ERROR;
    if (rc == 1)
        r->args = args;
    if (conf->log == 1)
        fc_log_error(FC_LOG_NOTICE, r->connection->log, 0,
                     "rewritten data: \"%.*s\", args: \"%.*s\"", (int) uri.len, uri.data,
                     (int) r->args.len, r->args.data);
    if (uri.len == 0) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0, "the rewritten URI has a zero length");
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->uri = uri;
    fc_http_set_exten(r);
    r->internal = 1;
    if (op->break_cycle) {
        r->valid_location = 0;
        r->uri_changed = 0;
    } else {
        r->uri_changed = 1;
    }
    return op->stop ? RW_STOP : RW_NEXT;
}

/*
 * Matches the regex of a rewrite or an `if` against s, as rewrite_log asks
 * logging it. A match replaces the request's captures, unless the regex has
 * no groups. A failure or a match without groups leaves them: nginx empties
 * $1..$9 then, but keeps its named captures, which here are read from those
 * same captures. FC_OK, FC_DECLINED, or 500.
 */
static int
rw_match(fc_http_request_t *r, const rw_loc_conf_t *conf, const rw_op_t *op, const fc_str_t *s)
{
    fc_captures_t *caps = fc_regex_captures(op->regex) > 0 ? &r->captures : NULL;
    int rc = fc_regex_exec(op->regex, s, caps);
    if (rc == FC_ERROR) {
        fc_log_error(FC_LOG_ALERT, r->connection->log, 0, "regex \"%.*s\" failed on \"%.*s\"",
                     (int) op->pattern.len, op->pattern.data, (int) s->len, s->data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (conf->log == 1)
        fc_log_error(FC_LOG_NOTICE, r->connection->log, 0, "\"%.*s\" %s \"%.*s\"",
                     (int) op->pattern.len, op->pattern.data,
                     rc == FC_OK ? "matches" : "does not match", (int) s->len, s->data);
    if (rc == FC_OK && caps)
        r->named_captures = op->names;
    return rc;
}

static int
rw_run_rewrite(fc_http_request_t *r, const rw_loc_conf_t *conf, const rw_op_t *op)
{
    int rc = rw_match(r, conf, op, &r->uri);
    if (rc != FC_OK)
        return rc == FC_DECLINED ? RW_NEXT : rc;
    if (op->status)
        return rw_do_redirect(r, conf, op);
    return rw_do_uri(r, conf, op);
}

/* `return`: a status, a redirect, or a response with a text; ends the list. */
static int
rw_run_return(fc_http_request_t *r, const rw_op_t *op)
{
    unsigned status = op->status;
    if (!op->has_text && status >= FC_HTTP_BAD_REQUEST && status <= 599)
        return (int) status;
    fc_str_t text = fc_string("");
    r->headers_out.status = status; /* as nginx: the text may print $status */
    if (op->has_text && fc_http_cv_eval(r, &op->value, &text) != FC_OK)
        return FC_ERROR;
    switch (status) {
    case FC_HTTP_MOVED_PERMANENTLY:
    case FC_HTTP_MOVED_TEMPORARILY:
    case FC_HTTP_SEE_OTHER:
    case FC_HTTP_TEMPORARY_REDIRECT:
    case FC_HTTP_PERMANENT_REDIRECT:
        return fc_http_set_location(r, status, &text);
    default:
        break;
    }
    fc_http_finalize_request(r, fc_http_send_response(r, status, NULL, &text));
    return FC_DONE;
}

/* `set`: stores the value where the variable's readers find it. */
static int
rw_run_set(fc_http_request_t *r, const rw_op_t *op)
{
    fc_str_t value;
    if (fc_http_cv_eval(r, &op->value, &value) != FC_OK)
        return FC_ERROR;
    fc_var_value_t *v = &r->variables[op->index];
    if (op->type == RW_OP_SET_ARGS) {
        r->args = value;
        v->valid = 0; /* $args is read again from r->args */
        return RW_NEXT;
    }
    fc_var_set_str(v, value.data, value.len);
    return RW_NEXT;
}

/*
 * `if -f path` and the others: stat() as nginx does (without
 * open_file_cache); a path that cannot be examined does not exist.
 */
static int
rw_if_file(fc_http_request_t *r, const rw_op_t *op)
{
    fc_str_t path;
    if (fc_http_cv_eval(r, &op->value, &path) != FC_OK)
        return FC_ERROR;
    char *name = fc_str_cstr(r->pool, &path);
    if (name == NULL)
        return FC_ERROR;
    struct stat st;
    int yes = 0;
    if (stat(name, &st) != 0) {
        int err = errno;
        if (err != ENOENT && err != ENOTDIR && err != ENAMETOOLONG)
            fc_log_error(FC_LOG_CRIT, r->connection->log, err, "stat() \"%s\" failed", name);
    } else if (op->file_op == 'f') {
        yes = S_ISREG(st.st_mode);
    } else if (op->file_op == 'd') {
        yes = S_ISDIR(st.st_mode);
    } else if (op->file_op == 'e') {
        /* nginx's "exists" is a file, a folder or a link: not a socket or a device. */
        yes = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode);
    } else {
        yes = (st.st_mode & S_IXUSR) == S_IXUSR;
    }
    return yes != op->negative ? RW_NEXT : RW_SKIP;
}

/* The condition of an `if`: RW_NEXT (true), RW_SKIP (false), or a status / FC_ERROR. */
static int
rw_if_test(fc_http_request_t *r, const rw_loc_conf_t *conf, const rw_op_t *op)
{
    if (op->cond == RW_IF_FILE)
        return rw_if_file(r, op);
    const fc_var_value_t *v = fc_http_get_indexed_variable(r, op->index);
    fc_str_t s = {v->len, v->data ? (unsigned char *) v->data : (unsigned char *) ""};
    int yes;
    if (op->cond == RW_IF_VAR) {
        yes = s.len > 0 && (s.len != 1 || s.data[0] != '0'); /* "" and "0" are false */
    } else if (op->cond == RW_IF_EQUAL) {
        fc_str_t value;
        if (fc_http_cv_eval(r, &op->value, &value) != FC_OK)
            return FC_ERROR;
        yes = fc_str_eq(&s, &value) != op->negative;
    } else {
        int rc = rw_match(r, conf, op, &s);
        if (rc != FC_OK && rc != FC_DECLINED)
            return rc;
        yes = (rc == FC_OK) != op->negative;
    }
    return yes ? RW_NEXT : RW_SKIP;
}

/*
 * Runs a level's operations in order. Returns FC_DECLINED to go on with
 * the request, or what the phase engine finalizes it with.
 */
static int
rw_run(fc_http_request_t *r, const rw_loc_conf_t *conf)
{
    if (conf == NULL || conf->ops == NULL)
        return FC_DECLINED;
    const rw_op_t *ops = conf->ops->elts;
    size_t i = 0;
    while (i < conf->ops->nelts) {
        const rw_op_t *op = &ops[i++];
        int rc;
        switch (op->type) {
        case RW_OP_REWRITE:
            rc = rw_run_rewrite(r, conf, op);
            break;
        case RW_OP_RETURN:
            return rw_run_return(r, op);
        case RW_OP_BREAK:
            r->uri_changed = 0;
            return FC_DECLINED;
        case RW_OP_IF:
            rc = rw_if_test(r, conf, op);
            if (rc == RW_SKIP) {
                i = op->next;
                rc = RW_NEXT;
            } else if (rc == RW_NEXT && op->loc_conf) {
                fc_http_update_location_config(r, op->loc_conf); /* "if is evil" */
            }
            break;
        default:
            rc = rw_run_set(r, op);
            break;
        }
        if (rc == RW_STOP)
            return FC_DECLINED;
        if (rc != RW_NEXT)
            return rc;
    }
    return FC_DECLINED;
}

/* SERVER_REWRITE: the directives written at the server{} level. */
static int
rw_server_handler(fc_http_request_t *r)
{
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    return rw_run(r, cscf->ctx->loc_conf[fc_http_rewrite_module.ctx_index]);
}

/* REWRITE: the location's directives (none when no location matched). */
static int
rw_location_handler(fc_http_request_t *r)
{
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    if (r->loc_conf == cscf->ctx->loc_conf || fc_http_core_loc(r)->server_level)
        return FC_DECLINED; /* the server level ran in SERVER_REWRITE */
    return rw_run(r, fc_http_get_module_loc_conf(r, fc_http_rewrite_module));
}

static int
rw_postconfiguration(fc_conf_t *cf)
{
    if (fc_http_add_phase_handler(cf, FC_HTTP_SERVER_REWRITE_PHASE, rw_server_handler) != FC_OK)
        return FC_ERROR;
    return fc_http_add_phase_handler(cf, FC_HTTP_REWRITE_PHASE, rw_location_handler);
}
