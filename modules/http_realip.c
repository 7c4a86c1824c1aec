/*
 * http_realip.c: `set_real_ip_from`, `real_ip_header` and
 * `real_ip_recursive` (nginx's ngx_http_realip_module): behind a trusted
 * proxy the client's address is taken from X-Real-IP, X-Forwarded-For or
 * another field, for the request's whole life ($remote_addr, allow/deny,
 * logs, $proxy_add_x_forwarded_for). It runs in the POST_READ phase with the
 * server's settings and, when those trust nobody, in PREACCESS with the
 * location's, as nginx. The connection's own address comes back when the
 * request ends; $realip_remote_addr and $realip_remote_port keep it.
 */
#include "http/http.h"
#include "http/request.h"

#include "core/access.h"

#include "core/var_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>

typedef struct {
    fc_array_t *from; /* fc_cidr_t: set_real_ip_from; NULL: inherit */
    fc_str_t field;   /* real_ip_header, as $http_ names it ("x_forwarded_for"); NULL: inherit */
    int recursive;    /* real_ip_recursive */
} realip_loc_conf_t;

/* Whether any level trusts a proxy: without one the phase handlers are not added. */
typedef struct {
    int used;
} realip_main_conf_t;

/* The request's: the connection's own address while the request holds another. */
typedef struct {
    fc_connection_t *c;
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    fc_str_t addr_text;
} realip_ctx_t;

static void *realip_create_main_conf(fc_conf_t *cf);
static void *realip_create_loc_conf(fc_conf_t *cf);
static char *realip_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int realip_preconfiguration(fc_conf_t *cf);
static int realip_postconfiguration(fc_conf_t *cf);
static char *realip_from(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *realip_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

#define REALIP_CONF (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)

static const fc_command_t realip_commands[] = {
    {"set_real_ip_from", REALIP_CONF | FC_CONF_TAKE1, realip_from, FC_CONF_LOC_OFFSET, 0, NULL},
    {"real_ip_header", REALIP_CONF | FC_CONF_TAKE1, realip_header, FC_CONF_LOC_OFFSET, 0, NULL},
    {"real_ip_recursive", REALIP_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_LOC_OFFSET,
     offsetof(realip_loc_conf_t, recursive), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t realip_ctx_ops = {
    .preconfiguration = realip_preconfiguration,
    .postconfiguration = realip_postconfiguration,
    .create_main_conf = realip_create_main_conf,
    .create_loc_conf = realip_create_loc_conf,
    .merge_loc_conf = realip_merge_loc_conf,
};

fc_module_t fc_http_realip_module = {
    .name = "http_realip",
    .type = FC_HTTP_MODULE,
    .commands = realip_commands,
    .ctx = &realip_ctx_ops,
};

static void *
realip_create_main_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(realip_main_conf_t));
}

static void *
realip_create_loc_conf(fc_conf_t *cf)
{
    realip_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(*conf));
    if (conf == NULL)
        return NULL;
    conf->recursive = FC_UNSET;
    return conf;
}

static char *
realip_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    realip_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    if (conf->from == NULL)
        conf->from = prev->from;
    fc_conf_merge_str(conf->field, prev->field, "x_real_ip");
    fc_conf_merge_value(conf->recursive, prev->recursive, 0);
    return FC_CONF_OK;
}

/* set_real_ip_from ADDRESS | CIDR | unix: */
static char *
realip_from(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    realip_loc_conf_t *rlcf = conf;
    const fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (rlcf->from == NULL &&
        (rlcf->from = fc_array_create(cf->pool, 4, sizeof(fc_cidr_t))) == NULL)
        return FC_CONF_ERROR;
    fc_cidr_t *cidr = fc_array_push(rlcf->from);
    if (cidr == NULL)
        return FC_CONF_ERROR;
    if (fc_str_eq_c(v, "all")) { /* nginx would look "all" up as a host name */
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) v->len, v->data);
        return FC_CONF_ERROR;
    }
    if (fc_cidr_conf_parse(cf, v, cidr) != FC_OK)
        return FC_CONF_ERROR;
    ((realip_main_conf_t *) fc_http_conf_get_main(cf, fc_http_realip_module))->used = 1;
    return FC_CONF_OK;
}

/* real_ip_header X-Real-IP | X-Forwarded-For | proxy_protocol | FIELD */
static char *
realip_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    realip_loc_conf_t *rlcf = conf;
    const fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (rlcf->field.data)
        return "is duplicate";
    if (fc_str_eq_c(v, "proxy_protocol")) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"real_ip_header proxy_protocol\" is not supported: the PROXY protocol "
                          "is not implemented");
        return FC_CONF_ERROR;
    }
    /* the name fc_http_var_fields() looks for: lowercase, '-' as '_' */
    unsigned char *name = fc_pnalloc(cf->pool, v->len);
    if (name == NULL)
        return FC_CONF_ERROR;
    for (size_t i = 0; i < v->len; i++)
        name[i] = v->data[i] == '-' ? '_' : fc_tolower(v->data[i]);
    rlcf->field = (fc_str_t){v->len, name};
    return FC_CONF_OK;
}

static int
realip_trusted(const fc_array_t *from, const struct sockaddr *sa)
{
    const fc_cidr_t *c = from->elts;
    for (size_t i = 0; i < from->nelts; i++)
        if (fc_cidr_match(&c[i], sa))
            return 1;
    return 0;
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or "V6" into ss; FC_ERROR if it is none of them. */
static int
realip_parse(const unsigned char *p, size_t len, struct sockaddr_storage *ss, socklen_t *sl)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return FC_ERROR;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *host = buf, *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return FC_ERROR;
        *close = '\0';
        host = buf + 1;
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
        port = strchr(buf, ':'); /* one colon: IPv4 with a port */
        *port++ = '\0';
    }
    int64_t n = 0;
    if (port && ((n = fc_atoi((const unsigned char *) port, strlen(port))) < 1 || n > 65535))
        return FC_ERROR;
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) n);
        *sl = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) n);
        *sl = sizeof(*s6);
    } else {
        return FC_ERROR;
    }
    return FC_OK;
}

/*
 * nginx's ngx_http_get_forwarded_addr: while the address at hand is a
 * trusted proxy, the last entry of the list (before `end`) is the one that
 * proxy saw; without recursion only one step is taken. FC_OK with the new
 * address in ss, FC_DECLINED when nothing changes.
 */
static int
realip_walk(const realip_loc_conf_t *conf, const fc_str_t *list, struct sockaddr_storage *ss,
            socklen_t *sl)
{
    const unsigned char *start = list->data, *end = list->data + list->len;
    int rc = FC_DECLINED;
    while (realip_trusted(conf->from, (const struct sockaddr *) ss)) {
        while (end > start && (end[-1] == ' ' || end[-1] == ','))
            end--;
        const unsigned char *p = end;
        while (p > start && p[-1] != ' ' && p[-1] != ',')
            p--;
        struct sockaddr_storage next;
        socklen_t nl;
        if (p == end || realip_parse(p, (size_t) (end - p), &next, &nl) != FC_OK)
            break;
        *ss = next;
        *sl = nl;
        rc = FC_OK;
        end = p;
        if (!conf->recursive || end == start)
            break;
    }
    return rc;
}

static void
realip_restore(void *data)
{
    realip_ctx_t *ctx = data;
    ctx->c->sockaddr = ctx->sockaddr;
    ctx->c->socklen = ctx->socklen;
    ctx->c->addr_text = ctx->addr_text;
}

/* The request's address becomes ss until it ends. */
static int
realip_set(fc_http_request_t *r, const struct sockaddr_storage *ss, socklen_t sl)
{
    fc_connection_t *c = r->connection;
    fc_pool_cleanup_t *cln = fc_pool_cleanup_add(r->pool, sizeof(realip_ctx_t));
    unsigned char *text = fc_pnalloc(r->pool, FC_SOCKADDR_STRLEN);
    if (cln == NULL || text == NULL)
        return FC_ERROR;
    realip_ctx_t *ctx = cln->data;
    ctx->c = c;
    ctx->sockaddr = c->sockaddr;
    ctx->socklen = c->socklen;
    ctx->addr_text = c->addr_text;
    cln->handler = realip_restore;
    fc_http_set_module_ctx(r, ctx, fc_http_realip_module);
    size_t n =
        fc_sockaddr_ntop((const struct sockaddr *) ss, sl, (char *) text, FC_SOCKADDR_STRLEN, 0);
    c->sockaddr = *ss;
    c->socklen = sl;
    c->addr_text.data = text;
    c->addr_text.len = n;
    return FC_OK;
}

static int
realip_handler(fc_http_request_t *r)
{
    realip_loc_conf_t *conf = fc_http_get_module_loc_conf(r, fc_http_realip_module);
    if (conf->from == NULL || fc_http_get_module_ctx(r, fc_http_realip_module))
        return FC_DECLINED;
    /* every line of the field, joined, as $http_NAME reads it */
    fc_var_value_t v = {0};
    if (fc_http_var_fields(r->pool, &v, &r->headers_in.headers, &conf->field) != FC_OK)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    if (v.not_found)
        return FC_DECLINED;
    fc_str_t list = {v.len, (unsigned char *) v.data};
    fc_connection_t *c = r->connection;
    struct sockaddr_storage ss = c->sockaddr;
    socklen_t sl = c->socklen;
    if (realip_walk(conf, &list, &ss, &sl) != FC_OK)
        return FC_DECLINED;
    return realip_set(r, &ss, sl) == FC_OK ? FC_DECLINED : FC_HTTP_INTERNAL_SERVER_ERROR;
}

/* $realip_remote_addr, $realip_remote_port: the connection's own, whatever realip set. */
static int
realip_variable(void *data, fc_var_value_t *v, uintptr_t port)
{
    fc_http_request_t *r = data;
    realip_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_realip_module);
    const fc_connection_t *c = r->connection;
    const struct sockaddr *sa = (const struct sockaddr *) (ctx ? &ctx->sockaddr : &c->sockaddr);
    if (!port) {
        const fc_str_t *t = ctx ? &ctx->addr_text : &c->addr_text;
        fc_var_set_str(v, t->data, t->len);
        return FC_OK;
    }
    in_port_t p = fc_sockaddr_port(sa);
    if (p == 0) {
        fc_var_set_str(v, (const unsigned char *) "", 0);
        return FC_OK;
    }
    return fc_var_printf(r->pool, v, "%u", (unsigned) p);
}

static const fc_var_def_t realip_vars[] = {{"realip_remote_addr", realip_variable, 0, 0},
                                           {"realip_remote_port", realip_variable, 1, 0},
                                           {NULL, NULL, 0, 0}};

static int
realip_preconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_var_define_table(&cmcf->vars, realip_vars);
}

static int
realip_postconfiguration(fc_conf_t *cf)
{
    realip_main_conf_t *mcf = fc_http_conf_get_main(cf, fc_http_realip_module);
    if (!mcf->used)
        return FC_OK; /* no proxy trusted anywhere: nothing to do per request */
    if (fc_http_add_phase_handler(cf, FC_HTTP_POST_READ_PHASE, realip_handler) != FC_OK)
        return FC_ERROR;
    return fc_http_add_phase_handler(cf, FC_HTTP_PREACCESS_PHASE, realip_handler);
}
