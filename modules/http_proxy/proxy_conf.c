/*
 * proxy_conf.c: the proxy module's directives (nginx's names, arguments,
 * defaults and inheritance), its create/merge and the module itself.
 *
 * The proxy_cache* directives and proxy_temp_path (where cache entries are
 * written) belong to the cache module (modules/http_cache/).
 * Not implemented, and rejected rather than ignored:
 * proxy_store, proxy_bind, and spooling responses to disk
 * (proxy_temp_path; proxy_max_temp_file_size accepts only 0, which is what
 * fulcrum always does: a slow client holds the upstream in proxy_buffers).
 */
#include "proxy.h"

static int proxy_preconfiguration(fc_conf_t *cf);
static void *proxy_create_loc_conf(fc_conf_t *cf);
static char *proxy_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static char *proxy_pass(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_set_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_redirect(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_cv_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_temp_file_size(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_not_implemented(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_bind(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *proxy_cookie_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_conf_enum_t proxy_http_versions[] = {{"1.0", 1000}, {"1.1", 1001}, {NULL, 0}};
static const fc_conf_bounds_t proxy_tries_bounds = {0, 1 << 20};
static const fc_conf_enum_t proxy_ignore_masks[] = {
    {"X-Accel-Redirect", FC_HTTP_UPSTREAM_IGN_X_ACCEL_REDIRECT},
    {"X-Accel-Expires", FC_HTTP_UPSTREAM_IGN_X_ACCEL_EXPIRES},
    {"X-Accel-Limit-Rate", FC_HTTP_UPSTREAM_IGN_OTHER},
    {"X-Accel-Buffering", FC_HTTP_UPSTREAM_IGN_X_ACCEL_BUFFERING},
    {"X-Accel-Charset", FC_HTTP_UPSTREAM_IGN_OTHER},
    {"Expires", FC_HTTP_UPSTREAM_IGN_EXPIRES},
    {"Cache-Control", FC_HTTP_UPSTREAM_IGN_CACHE_CONTROL},
    {"Set-Cookie", FC_HTTP_UPSTREAM_IGN_SET_COOKIE},
    {"Vary", FC_HTTP_UPSTREAM_IGN_VARY},
    {NULL, 0}};

#define PROXY_ANY (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)
#define PROXY_SLOT(args, setter, field)                                                            \
    PROXY_ANY | (args), setter, FC_CONF_LOC_OFFSET, offsetof(proxy_loc_conf_t, field)
#define PROXY_UP(args, setter, field)                                                              \
    PROXY_ANY | (args), setter, FC_CONF_LOC_OFFSET,                                                \
        offsetof(proxy_loc_conf_t, upstream) + offsetof(fc_http_upstream_conf_t, field)
#define PROXY_REJECT(name)                                                                         \
    {                                                                                              \
        name, PROXY_ANY | FC_CONF_ANY, proxy_not_implemented, FC_CONF_LOC_OFFSET, 0, NULL          \
    }

static const fc_command_t proxy_commands[] = {
    {"proxy_pass", FC_HTTP_LOC_CONF | FC_HTTP_LIF_CONF | FC_CONF_TAKE1, proxy_pass,
     FC_CONF_LOC_OFFSET, 0, NULL},
    {"proxy_redirect", PROXY_SLOT(FC_CONF_TAKE12, proxy_redirect, redirects), NULL},
    {"proxy_cookie_domain", PROXY_SLOT(FC_CONF_TAKE12, proxy_cookie_rule, cookie_domains), NULL},
    {"proxy_cookie_path", PROXY_SLOT(FC_CONF_TAKE12, proxy_cookie_rule, cookie_paths), NULL},
    {"proxy_http_version", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_enum_slot, http_version),
     proxy_http_versions},
    {"proxy_set_header", PROXY_SLOT(FC_CONF_TAKE2, proxy_set_header, set_headers), NULL},
    {"proxy_pass_request_headers",
     PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, pass_request_headers), NULL},
    {"proxy_pass_request_body", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, pass_request_body),
     NULL},
    {"proxy_set_body", PROXY_SLOT(FC_CONF_TAKE1, proxy_cv_slot, body), NULL},
    {"proxy_method", PROXY_SLOT(FC_CONF_TAKE1, proxy_cv_slot, method), NULL},
    {"proxy_hide_header", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_str_array_slot, hide), NULL},
    {"proxy_pass_header", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_str_array_slot, pass), NULL},
    {"proxy_connect_timeout", PROXY_UP(FC_CONF_TAKE1, fc_conf_set_msec_slot, connect_timeout),
     NULL},
    {"proxy_send_timeout", PROXY_UP(FC_CONF_TAKE1, fc_conf_set_msec_slot, send_timeout), NULL},
    {"proxy_read_timeout", PROXY_UP(FC_CONF_TAKE1, fc_conf_set_msec_slot, read_timeout), NULL},
    {"proxy_buffering", PROXY_UP(FC_CONF_FLAG, fc_conf_set_flag_slot, buffering), NULL},
    {"proxy_buffer_size", PROXY_UP(FC_CONF_TAKE1, fc_conf_set_size_slot, buffer_size), NULL},
    {"proxy_buffers", PROXY_UP(FC_CONF_TAKE2, proxy_buffers, bufs_num), NULL},
    {"proxy_busy_buffers_size",
     PROXY_UP(FC_CONF_TAKE1, fc_conf_set_size_slot, busy_buffers_size_conf), NULL},
    {"proxy_request_buffering", PROXY_UP(FC_CONF_FLAG, fc_conf_set_flag_slot, request_buffering),
     NULL},
    {"proxy_next_upstream", PROXY_UP(FC_CONF_1MORE, fc_conf_set_bitmask_slot, next_upstream),
     fc_http_upstream_next_masks},
    {"proxy_next_upstream_tries",
     PROXY_UP(FC_CONF_TAKE1, fc_conf_set_num_slot, next_upstream_tries), &proxy_tries_bounds},
    {"proxy_next_upstream_timeout",
     PROXY_UP(FC_CONF_TAKE1, fc_conf_set_msec_slot, next_upstream_timeout), NULL},
    {"proxy_intercept_errors", PROXY_UP(FC_CONF_FLAG, fc_conf_set_flag_slot, intercept_errors),
     NULL},
    {"proxy_ignore_client_abort",
     PROXY_UP(FC_CONF_FLAG, fc_conf_set_flag_slot, ignore_client_abort), NULL},
    {"proxy_ignore_headers", PROXY_UP(FC_CONF_1MORE, fc_conf_set_bitmask_slot, ignore_headers),
     proxy_ignore_masks},
    {"proxy_bind", PROXY_ANY | FC_CONF_TAKE12, proxy_bind, FC_CONF_LOC_OFFSET, 0, NULL},
    {"proxy_socket_keepalive", PROXY_UP(FC_CONF_FLAG, fc_conf_set_flag_slot, socket_keepalive),
     NULL},
    {"proxy_headers_hash_max_size",
     PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_num_slot, headers_hash_max_size), NULL},
    {"proxy_headers_hash_bucket_size",
     PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_num_slot, headers_hash_bucket_size), NULL},
    {"proxy_max_temp_file_size",
     PROXY_SLOT(FC_CONF_TAKE1, proxy_temp_file_size, max_temp_file_size), NULL},
    FC_TLS_CLIENT_COMMANDS(PROXY_ANY, FC_CONF_LOC_OFFSET, offsetof(proxy_loc_conf_t, ssl)),
    {"proxy_ssl_name", PROXY_SLOT(FC_CONF_TAKE1, proxy_cv_slot, ssl_name), NULL},
    PROXY_REJECT("proxy_temp_file_write_size"),
    PROXY_REJECT("proxy_store"),
    PROXY_REJECT("proxy_cookie_flags"),
    PROXY_REJECT("proxy_store_access"),
    PROXY_REJECT("proxy_limit_rate"),
    fc_null_command};

static const fc_layer_module_ctx_t proxy_ctx = {
    .preconfiguration = proxy_preconfiguration,
    .create_loc_conf = proxy_create_loc_conf,
    .merge_loc_conf = proxy_merge_loc_conf,
};

fc_module_t fc_http_proxy_module = {
    .name = "http_proxy",
    .type = FC_HTTP_MODULE,
    .commands = proxy_commands,
    .ctx = &proxy_ctx,
};

static int
proxy_preconfiguration(fc_conf_t *cf)
{
    return proxy_variables_add(cf);
}

static fc_var_registry_t *
proxy_vars_reg(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return &cmcf->vars;
}

static void *
proxy_create_loc_conf(fc_conf_t *cf)
{
    proxy_loc_conf_t *p = fc_pcalloc(cf->pool, sizeof(*p));
    if (p == NULL)
        return NULL;
    fc_http_upstream_conf_t *u = &p->upstream;
    u->connect_timeout = FC_UNSET_MSEC;
    u->send_timeout = FC_UNSET_MSEC;
    u->read_timeout = FC_UNSET_MSEC;
    u->next_upstream_timeout = FC_UNSET_MSEC;
    u->buffer_size = FC_UNSET_SIZE;
    u->bufs_num = 0;
    u->busy_buffers_size_conf = FC_UNSET_SIZE;
    u->next_upstream = 0;
    u->next_upstream_tries = FC_UNSET;
    u->buffering = FC_UNSET;
    u->request_buffering = FC_UNSET;
    u->ignore_client_abort = FC_UNSET;
    u->intercept_errors = FC_UNSET;
    u->socket_keepalive = FC_UNSET;
    u->hide_headers = FC_UNSET_PTR;
    p->http_version = FC_UNSET;
    p->set_headers = FC_UNSET_PTR;
    p->pass_request_headers = FC_UNSET;
    p->pass_request_body = FC_UNSET;
    p->body = FC_UNSET_PTR;
    p->method = FC_UNSET_PTR;
    p->hide = FC_UNSET_PTR;
    p->pass = FC_UNSET_PTR;
    p->redirects = FC_UNSET_PTR;
    p->cookie_domains = FC_UNSET_PTR;
    p->cookie_paths = FC_UNSET_PTR;
    p->headers_hash_max_size = FC_UNSET;
    p->headers_hash_bucket_size = FC_UNSET;
    p->max_temp_file_size = FC_UNSET_SIZE;
    fc_tls_client_conf_init(&p->ssl);
    p->ssl_name = FC_UNSET_PTR;
    return p;
}

/* ---- proxy_pass ------------------------------------------------------------------------- */

/* The static target's group: an upstream{} name (maybe defined later) or an address. */
static fc_http_upstream_srv_t *
proxy_target_group(fc_conf_t *cf, const proxy_url_t *pu)
{
    fc_str_t a = pu->authority;
    if (!pu->has_port && !pu->is_unix && !(a.len && a.data[0] == '[') &&
        !(a.len && a.data[0] >= '0' && a.data[0] <= '9'))
        return fc_http_upstream_add(cf, &a, 0); /* resolved at the end if no upstream{} */
    fc_url_t u;
    const char *err;
    if (fc_url_parse(cf->pool, &u, &a, pu->ssl ? 443 : 80, 0, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in upstream \"%.*s\"", err, (int) a.len, a.data);
        return NULL;
    }
    return fc_http_upstream_implicit(cf, &u);
}

/* "proxy_redirect default": the URL as written (with "/" when it has no URI) -> the location. */
static int
proxy_set_redirect_default(fc_conf_t *cf, proxy_loc_conf_t *plcf)
{
    if (plcf->target.has_uri) {
        plcf->redirect_from = plcf->url;
        plcf->redirect_to = plcf->location;
        return FC_OK;
    }
    unsigned char *p = fc_pnalloc(cf->pool, plcf->url.len + 1);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, plcf->url.data, plcf->url.len);
    p[plcf->url.len] = '/';
    plcf->redirect_from.data = p;
    plcf->redirect_from.len = plcf->url.len + 1;
    fc_str_set(&plcf->redirect_to, "/");
    return FC_OK;
}

static char *
proxy_pass(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    fc_str_t *v = &fc_conf_args(cf)[1];
    fc_http_core_loc_conf_t *clcf = fc_http_conf_get_loc(cf, fc_http_core_module);
    (void) cmd;
    if (plcf->us || plcf->url_cv)
        return "is duplicate";
    clcf->handler = proxy_handler;
    if (clcf->name.len && clcf->name.data[clcf->name.len - 1] == '/' && !clcf->regex &&
        !clcf->named && !clcf->exact_match)
        clcf->auto_redirect = 1;
    plcf->url = *v;
    plcf->location = clcf->name;
    plcf->uri_allowed = !clcf->regex && !clcf->named && cf->cmd_type != FC_HTTP_LIF_CONF;
    if (memchr(v->data, '$', v->len)) {
        plcf->url_cv = fc_palloc(cf->pool, sizeof(fc_cv_t));
        if (plcf->url_cv == NULL || fc_cv_compile(cf, proxy_vars_reg(cf), v, plcf->url_cv) != FC_OK)
            return FC_CONF_ERROR;
        return FC_CONF_OK;
    }
    const char *err = NULL;
    int rc = proxy_url_parse(v, &plcf->target, &err);
    if (rc != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in \"%.*s\"", err, (int) v->len, v->data);
        return FC_CONF_ERROR;
    }
    if (plcf->target.has_uri && !plcf->uri_allowed) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"proxy_pass\" cannot have URI part in location given by regular "
                          "expression, or inside named location, or inside \"if\" statement, or "
                          "inside \"limit_except\" block");
        return FC_CONF_ERROR;
    }
    plcf->us = proxy_target_group(cf, &plcf->target);
    if (plcf->us == NULL || proxy_set_redirect_default(cf, plcf) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

/* ---- header lists -------------------------------------------------------------------------- */

/* Content-Length and Transfer-Encoding are the engine's: only nginx's own values may be set. */
static int
proxy_framing_header_ok(const fc_str_t *name, const fc_str_t *value)
{
    static const fc_str_t cl = fc_string("Content-Length"), te = fc_string("Transfer-Encoding");
    if (fc_str_caseeq(name, &cl))
        return value->len == 0 || fc_str_eq_c(value, "$proxy_internal_body_length");
    if (fc_str_caseeq(name, &te))
        return value->len == 0 || fc_str_eq_c(value, "$proxy_internal_chunked");
    return 1;
}

static int
proxy_header_add(fc_conf_t *cf, fc_array_t *a, const fc_str_t *name, const fc_str_t *value)
{
    proxy_header_t *h = fc_array_push(a);
    if (h == NULL)
        return FC_ERROR;
    h->name = *name;
    h->hash = fc_http_header_hash(name->data, name->len);
    return fc_cv_compile(cf, proxy_vars_reg(cf), value, &h->value);
}

static char *
proxy_set_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (plcf->set_headers == FC_UNSET_PTR) {
        plcf->set_headers = fc_array_create(cf->pool, 4, sizeof(proxy_header_t));
        if (plcf->set_headers == NULL)
            return FC_CONF_ERROR;
    }
    if (!proxy_framing_header_ok(&args[1], &args[2])) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "setting \"%.*s\" is not supported: fulcrum frames the request body "
                          "itself",
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    if (proxy_header_add(cf, plcf->set_headers, &args[1], &args[2]) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

/* The effective list: this level's (or the inherited) lines, then nginx's defaults not set. */
static int
proxy_headers_merge(fc_conf_t *cf, proxy_loc_conf_t *conf, proxy_loc_conf_t *prev)
{
    static const struct {
        fc_str_t name;
        fc_str_t value;
    } defaults[] = {
        {fc_string("Host"), fc_string("$proxy_host")},
        {fc_string("Connection"), fc_string("close")},
    };
    if (conf->set_headers == FC_UNSET_PTR) {
        conf->set_headers = prev->set_headers;
        if (prev->headers) {
            conf->headers = prev->headers; /* nothing of its own: share the parent's list */
            return FC_OK;
        }
    }
    size_t n = conf->set_headers != FC_UNSET_PTR ? conf->set_headers->nelts : 0;
    conf->headers = fc_array_create(cf->pool, n + fc_nelems(defaults), sizeof(proxy_header_t));
    if (conf->headers == NULL)
        return FC_ERROR;
    proxy_header_t *set = n ? conf->set_headers->elts : NULL;
    for (size_t i = 0; i < n; i++) {
        proxy_header_t *h = fc_array_push(conf->headers);
        if (h == NULL)
            return FC_ERROR;
        *h = set[i];
    }
    for (size_t d = 0; d < fc_nelems(defaults); d++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= fc_str_caseeq(&set[i].name, &defaults[d].name);
        if (!found &&
            proxy_header_add(cf, conf->headers, &defaults[d].name, &defaults[d].value) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

/* Appends a name to a hide list unless proxy_pass_header names it. */
static int
proxy_hide_add(fc_array_t *a, const fc_str_t *name, const fc_array_t *pass)
{
    const fc_str_t *p = pass != FC_UNSET_PTR ? pass->elts : NULL;
    size_t npass = pass != FC_UNSET_PTR ? pass->nelts : 0;
    for (size_t j = 0; j < npass; j++)
        if (fc_str_caseeq(&p[j], name))
            return FC_OK;
    fc_http_upstream_hide_t *h = fc_array_push(a);
    if (h == NULL)
        return FC_ERROR;
    h->name = *name;
    h->hash = fc_http_header_hash(name->data, name->len);
    return FC_OK;
}

/* Response fields dropped: nginx's defaults and proxy_hide_header, less proxy_pass_header. */
static int
proxy_hide_merge(fc_conf_t *cf, proxy_loc_conf_t *conf, proxy_loc_conf_t *prev)
{
    static const fc_str_t defaults[] = {
        fc_string("Date"),
        fc_string("Server"),
        fc_string("X-Pad"),
        fc_string("X-Accel-Expires"),
        fc_string("X-Accel-Redirect"),
        fc_string("X-Accel-Limit-Rate"),
        fc_string("X-Accel-Buffering"),
        fc_string("X-Accel-Charset"),
    };
    int own = conf->hide != FC_UNSET_PTR || conf->pass != FC_UNSET_PTR;
    if (conf->hide == FC_UNSET_PTR)
        conf->hide = prev->hide;
    if (conf->pass == FC_UNSET_PTR)
        conf->pass = prev->pass;
    if (!own && prev->upstream.hide_headers != FC_UNSET_PTR) {
        conf->upstream.hide_headers = prev->upstream.hide_headers;
        return FC_OK;
    }
    fc_array_t *a = fc_array_create(cf->pool, 16, sizeof(fc_http_upstream_hide_t));
    if (a == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < fc_nelems(defaults); i++)
        if (proxy_hide_add(a, &defaults[i], conf->pass) != FC_OK)
            return FC_ERROR;
    if (conf->hide != FC_UNSET_PTR) {
        fc_str_t *hide = conf->hide->elts;
        for (size_t i = 0; i < conf->hide->nelts; i++)
            if (proxy_hide_add(a, &hide[i], conf->pass) != FC_OK)
                return FC_ERROR;
    }
    conf->upstream.hide_headers = a;
    return FC_OK;
}

/* ---- proxy_redirect ---------------------------------------------------------------------------
 */

/*
 * One FROM TO rule of proxy_redirect or proxy_cookie_*: "~REGEX" ("~*":
 * caseless; always caseless with `caseless`) whose TO may use its captures,
 * else a FROM with variables; TO may have variables too.
 */
static char *
proxy_rule_add(fc_conf_t *cf, fc_array_t *rules, const fc_str_t *from, const fc_str_t *to,
               int caseless)
{
    proxy_redirect_t *pr = fc_array_push(rules);
    if (pr == NULL)
        return FC_CONF_ERROR;
    memset(pr, 0, sizeof(*pr));
    pr->type = PROXY_REDIRECT_PREFIX;
    if (from->len > 1 && from->data[0] == '~') {
        int star = from->data[1] == '*';
        fc_str_t pattern = {from->len - 1 - (size_t) star, from->data + 1 + star};
        char err[128];
        pr->type = PROXY_REDIRECT_REGEX;
        pr->regex = fc_regex_compile(cf->pool, &pattern, caseless || star, err, sizeof(err));
        if (pr->regex == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
            return FC_CONF_ERROR;
        }
    } else if (fc_cv_compile(cf, proxy_vars_reg(cf), from, &pr->from) != FC_OK) {
        return FC_CONF_ERROR;
    }
    return fc_cv_compile(cf, proxy_vars_reg(cf), to, &pr->to) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

static char *
proxy_redirect(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (plcf->redirects == FC_UNSET_PTR) {
        plcf->redirects = fc_array_create(cf->pool, 2, sizeof(proxy_redirect_t));
        if (plcf->redirects == NULL)
            return FC_CONF_ERROR;
    }
    if (fc_conf_nargs(cf) == 2) {
        if (fc_str_eq_c(&args[1], "off") || fc_str_eq_c(&args[1], "false")) {
            if (fc_str_eq_c(&args[1], "false"))
                fc_conf_log_error(FC_LOG_WARN, cf, 0,
                                  "invalid parameter \"false\", use \"off\" instead");
            plcf->redirects->nelts = 0;
            return FC_CONF_OK;
        }
        if (!fc_str_eq_c(&args[1], "default")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[1].len,
                              args[1].data);
            return FC_CONF_ERROR;
        }
        if (plcf->url_cv) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "\"proxy_redirect default\" cannot be used with \"proxy_pass\" "
                              "directive with variables");
            return FC_CONF_ERROR;
        }
        if (plcf->url.len == 0) {
            /* as nginx: "default" is derived from a proxy_pass of this level, written before */
            fc_conf_log_error(
                FC_LOG_EMERG, cf, 0,
                "\"proxy_redirect default\" should be placed after the \"proxy_pass\" "
                "directive");
            return FC_CONF_ERROR;
        }
        proxy_redirect_t *pr = fc_array_push(plcf->redirects);
        if (pr == NULL)
            return FC_CONF_ERROR;
        pr->type = PROXY_REDIRECT_DEFAULT;
        pr->explicit_default = 1;
        return FC_CONF_OK;
    }
    return proxy_rule_add(cf, plcf->redirects, &args[1], &args[2], 0);
}

/*
 * proxy_cookie_domain / proxy_cookie_path FROM TO | off: rules tried in
 * order. A domain rule is "~REGEX" (always caseless, as nginx) or a name (a
 * leading "." dropped); a path rule is "~REGEX", "~*REGEX" or a prefix.
 */
static char *
proxy_cookie_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_array_t **rules = (fc_array_t **) ((char *) conf + cmd->offset);
    fc_str_t *args = fc_conf_args(cf);
    int domain = strcmp(cmd->name, "proxy_cookie_domain") == 0;
    if (*rules == FC_UNSET_PTR &&
        (*rules = fc_array_create(cf->pool, 2, sizeof(proxy_redirect_t))) == NULL)
        return FC_CONF_ERROR;
    if (fc_conf_nargs(cf) == 2) {
        if (!fc_str_eq_c(&args[1], "off")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[1].len,
                              args[1].data);
            return FC_CONF_ERROR;
        }
        (*rules)->nelts = 0;
        return FC_CONF_OK;
    }
    fc_str_t from = args[1];
    if (domain && from.len > 1 && from.data[0] == '.') {
        from.data++;
        from.len--;
    }
    return proxy_rule_add(cf, *rules, &from, &args[2], domain);
}

/* Cookie rules: a level that wrote none takes the outer level's; none anywhere is off. */
static void
proxy_cookie_merge(fc_array_t **conf, fc_array_t *prev)
{
    if (*conf == FC_UNSET_PTR)
        *conf = prev == FC_UNSET_PTR ? NULL : prev;
}

/* Inherited only when a level has none; unset everywhere means "default". */
static int
proxy_redirect_merge(fc_conf_t *cf, proxy_loc_conf_t *conf, proxy_loc_conf_t *prev)
{
    if (conf->redirects != FC_UNSET_PTR) {
        proxy_redirect_t *pr = conf->redirects->elts;
        for (size_t i = 0; i < conf->redirects->nelts; i++) {
            if (pr[i].explicit_default && conf->url_cv) {
                fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                                  "\"proxy_redirect default\" cannot be used with \"proxy_pass\" "
                                  "directive with variables");
                return FC_ERROR;
            }
        }
        return FC_OK;
    }
    if (prev->redirects != FC_UNSET_PTR) {
        conf->redirects = prev->redirects;
        return FC_OK;
    }
    conf->redirects = fc_array_create(cf->pool, 1, sizeof(proxy_redirect_t));
    proxy_redirect_t *pr = conf->redirects ? fc_array_push(conf->redirects) : NULL;
    if (pr == NULL)
        return FC_ERROR;
    pr->type = PROXY_REDIRECT_DEFAULT;
    return FC_OK;
}

/* ---- other directives ----------------------------------------------------------------------- */

static char *
proxy_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    if (plcf->upstream.bufs_num)
        return "is duplicate";
    int64_t num = fc_atoi(args[1].data, args[1].len);
    int64_t size = fc_parse_size(&args[2]);
    if (num <= 0 || size <= 0) {
        fc_str_t *bad = num <= 0 ? &args[1] : &args[2];
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\" in \"%s\" directive",
                          (int) bad->len, bad->data, cmd->name);
        return FC_CONF_ERROR;
    }
    plcf->upstream.bufs_num = (size_t) num;
    plcf->upstream.bufs_size = (size_t) size;
    return FC_CONF_OK;
}

/* A complex value (proxy_set_body, proxy_method). */
static char *
proxy_cv_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_cv_t **slot = (fc_cv_t **) ((char *) conf + cmd->offset);
    if (*slot != FC_UNSET_PTR)
        return "is duplicate";
    *slot = fc_pcalloc(cf->pool, sizeof(fc_cv_t));
    if (*slot == NULL ||
        fc_cv_compile(cf, proxy_vars_reg(cf), &fc_conf_args(cf)[1], *slot) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

static char *
proxy_temp_file_size(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    char *rv = fc_conf_set_size_slot(cf, cmd, conf);
    if (rv != FC_CONF_OK)
        return rv;
    if (((proxy_loc_conf_t *) conf)->max_temp_file_size != 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"%s\" other than 0 is not implemented: responses are never "
                          "buffered to disk",
                          cmd->name);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static char *
proxy_bind(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_loc_conf_t *plcf = conf;
    (void) cmd;
    return fc_upstream_bind_directive(cf, proxy_vars_reg(cf), &plcf->upstream.bind);
}

static char *
proxy_not_implemented(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) conf;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%s\" is not implemented", cmd->name);
    return FC_CONF_ERROR;
}

/* ---- merge -------------------------------------------------------------------------------------
 */

/*
 * proxy_buffers and friends, checked as nginx does. The defaults are one
 * memory page (4k on x86-64), and the busy size is worked out again at each
 * level from that level's sizes unless it was written.
 */
static int
proxy_buffers_merge(fc_conf_t *cf, fc_http_upstream_conf_t *conf, fc_http_upstream_conf_t *prev)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t page_size = page > 0 ? (size_t) page : 4096;
    fc_conf_merge_size(conf->buffer_size, prev->buffer_size, page_size);
    if (conf->bufs_num == 0) {
        conf->bufs_num = prev->bufs_num ? prev->bufs_num : 8;
        conf->bufs_size = prev->bufs_num ? prev->bufs_size : page_size;
    }
    if (conf->bufs_num < 2) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "there must be at least 2 \"proxy_buffers\"");
        return FC_ERROR;
    }
    size_t size = fc_max(conf->buffer_size, conf->bufs_size);
    fc_conf_merge_size(conf->busy_buffers_size_conf, prev->busy_buffers_size_conf, FC_UNSET_SIZE);
    conf->busy_buffers_size =
        conf->busy_buffers_size_conf == FC_UNSET_SIZE ? 2 * size : conf->busy_buffers_size_conf;
    if (conf->busy_buffers_size < size) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"proxy_busy_buffers_size\" must be equal to or greater than the "
                          "maximum of the value of \"proxy_buffer_size\" and one of the "
                          "\"proxy_buffers\"");
        return FC_ERROR;
    }
    if (conf->busy_buffers_size > (conf->bufs_num - 1) * conf->bufs_size) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"proxy_busy_buffers_size\" must be less than the size of all "
                          "\"proxy_buffers\" minus one buffer");
        return FC_ERROR;
    }
    return FC_OK;
}

static int
proxy_upstream_merge(fc_conf_t *cf, fc_http_upstream_conf_t *conf, fc_http_upstream_conf_t *prev)
{
    fc_conf_merge_msec(conf->connect_timeout, prev->connect_timeout, 60000);
    fc_conf_merge_msec(conf->send_timeout, prev->send_timeout, 60000);
    fc_conf_merge_msec(conf->read_timeout, prev->read_timeout, 60000);
    fc_conf_merge_msec(conf->next_upstream_timeout, prev->next_upstream_timeout, 0);
    fc_conf_merge_value(conf->next_upstream_tries, prev->next_upstream_tries, 0);
    fc_conf_merge_value(conf->buffering, prev->buffering, 1);
    fc_conf_merge_value(conf->request_buffering, prev->request_buffering, 1);
    fc_conf_merge_value(conf->ignore_client_abort, prev->ignore_client_abort, 0);
    if (conf->ignore_headers == 0)
        conf->ignore_headers = prev->ignore_headers;
    fc_upstream_bind_merge(&conf->bind, &prev->bind);
    fc_conf_merge_value(conf->intercept_errors, prev->intercept_errors, 0);
    fc_conf_merge_value(conf->socket_keepalive, prev->socket_keepalive, 0);
    if (conf->next_upstream == 0)
        conf->next_upstream = prev->next_upstream
                                  ? prev->next_upstream
                                  : (FC_HTTP_UPSTREAM_FT_ERROR | FC_HTTP_UPSTREAM_FT_TIMEOUT);
    if (conf->next_upstream & FC_HTTP_UPSTREAM_FT_OFF)
        conf->next_upstream = FC_HTTP_UPSTREAM_FT_OFF; /* "off" wins, as nginx */
    return proxy_buffers_merge(cf, conf, prev);
}

static char *
proxy_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    proxy_loc_conf_t *prev = parent, *conf = child;
    if (proxy_upstream_merge(cf, &conf->upstream, &prev->upstream) != FC_OK)
        return FC_CONF_ERROR;
    if (conf->us == NULL && conf->url_cv == NULL && (prev->us || prev->url_cv)) {
        /* Nested blocks (`if`, limit_except) proxy to their location's target. */
        conf->us = prev->us;
        conf->url_cv = prev->url_cv;
        conf->url = prev->url;
        conf->target = prev->target;
        conf->location = prev->location;
        conf->redirect_from = prev->redirect_from;
        conf->redirect_to = prev->redirect_to;
        conf->uri_allowed = prev->uri_allowed;
    }
    fc_conf_merge_value(conf->http_version, prev->http_version, 1000);
    fc_conf_merge_value(conf->pass_request_headers, prev->pass_request_headers, 1);
    fc_conf_merge_value(conf->pass_request_body, prev->pass_request_body, 1);
    fc_conf_merge_ptr(conf->body, prev->body, NULL);
    fc_conf_merge_ptr(conf->method, prev->method, NULL);
    fc_conf_merge_value(conf->headers_hash_max_size, prev->headers_hash_max_size, 512);
    fc_conf_merge_value(conf->headers_hash_bucket_size, prev->headers_hash_bucket_size, 64);
    fc_conf_merge_size(conf->max_temp_file_size, prev->max_temp_file_size, 0);
    if (proxy_headers_merge(cf, conf, prev) != FC_OK || proxy_hide_merge(cf, conf, prev) != FC_OK ||
        proxy_redirect_merge(cf, conf, prev) != FC_OK)
        return FC_CONF_ERROR;
    proxy_cookie_merge(&conf->cookie_domains, prev->cookie_domains);
    proxy_cookie_merge(&conf->cookie_paths, prev->cookie_paths);
    /* As nginx: a proxy_pass with variables may turn out https at run time. */
    fc_conf_merge_ptr(conf->ssl_name, prev->ssl_name, NULL);
    char *rv = fc_tls_client_conf_merge(cf, &conf->ssl, &prev->ssl,
                                        conf->target.ssl || conf->url_cv != NULL);
    conf->upstream.ssl = &conf->ssl;
    return rv;
}
