/*
 * server_name.c: virtual servers. `listen` records addresses per server;
 * once the http block is read, listens are grouped by address into addr
 * confs (one listening socket each) holding the address's default server
 * and its name tables, which choose a server by Host in nginx's order:
 * exact name, longest leading wildcard ("*.example.com"), longest trailing
 * wildcard ("www.example.*"), first matching regex in config order, else
 * the default server. Exact and wildcard names live in arrays sorted by
 * key, so a lookup is a few binary searches whatever the number of servers.
 *
 * Limit: a wildcard address and a specific one on the same port (`listen
 * 80` and `listen 127.0.0.1:80`) stay two sockets; nginx would open one
 * wildcard socket and dispatch by getsockname() unless `bind` is given.
 * Linux delivers to the most specific bound socket, so the servers chosen
 * are the same; what differs is that the specific address always holds its
 * own socket, as with nginx's `bind`.
 */
#include "http/http_conf.h"
#include "event/tls_conf.h"

#include <netinet/tcp.h>

/* How a server name is matched. */
enum { SN_EXACT, SN_HEAD, SN_TAIL, SN_DOT, SN_INVALID };

/* A name key before sorting: `seq` keeps config order among equal keys. */
typedef struct {
    fc_str_t key;
    const fc_str_t *name; /* as written, for the conflict warning */
    fc_http_core_srv_conf_t *server;
    size_t seq;
} sn_key_t;

/* What the listens of one address say while they are grouped. */
typedef struct {
    fc_http_addr_conf_t *ac;
    fc_http_listen_t *first;
    fc_http_listen_t *dflt; /* the one with default_server */
    fc_http_listen_t *opts; /* the one with socket options */
} sn_group_t;

/* ---- listen -------------------------------------------------------------------------- */

static char *
sn_not_implemented(fc_conf_t *cf, const fc_str_t *p, const char *why)
{
    size_t n = 0;
    while (n < p->len && p->data[n] != '=')
        n++;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the \"%.*s\" parameter of \"listen\" is not %s",
                      (int) n, p->data, why);
    return FC_CONF_ERROR;
}

/* so_keepalive=on|off|[keepidle]:[keepintvl]:[keepcnt] */
static int
sn_so_keepalive(fc_http_listen_t *l, const fc_str_t *v)
{
    if (fc_str_eq_c(v, "on") || fc_str_eq_c(v, "off")) {
        l->so_keepalive = v->data[1] == 'n';
        return FC_OK;
    }
    if (memchr(v->data, ':', v->len) == NULL)
        return FC_ERROR;
    int *fields[3] = {&l->keepidle, &l->keepintvl, &l->keepcnt};
    const unsigned char *p = v->data, *end = v->data + v->len;
    for (size_t i = 0; i < 3; i++) {
        const unsigned char *q = memchr(p, ':', (size_t) (end - p));
        if (q == NULL)
            q = end;
        if (q > p) {
            fc_str_t part = {(size_t) (q - p), (unsigned char *) p};
            /* idle and interval are times (seconds by default), the count a number */
            int64_t n = i < 2 ? fc_parse_time(&part, 1000) : fc_atoi(part.data, part.len);
            if (i < 2 && n > 0)
                n /= 1000;
            if (n <= 0 || n > INT_MAX)
                return FC_ERROR;
            *fields[i] = (int) n;
        }
        if (q == end)
            break;
        if (i == 2)
            return FC_ERROR; /* a fourth field */
        p = q + 1;
    }
    if (l->keepidle == 0 && l->keepintvl == 0 && l->keepcnt == 0)
        return FC_ERROR;
    l->so_keepalive = 1;
    return FC_OK;
}

/* One value parameter ("name=value"); "" if p is not one we know. */
static char *
sn_listen_value(fc_conf_t *cf, fc_http_listen_t *l, const fc_str_t *p)
{
    const unsigned char *eq = memchr(p->data, '=', p->len);
    if (eq == NULL)
        return "";
    fc_str_t name = {(size_t) (eq - p->data), p->data};
    fc_str_t v = {p->len - name.len - 1, (unsigned char *) eq + 1};
    const char *bad = NULL;
    if (fc_str_eq_c(&name, "backlog")) {
        int64_t n = fc_atoi(v.data, v.len);
        bad = n < 1 || n > INT_MAX ? "invalid backlog \"%.*s\"" : NULL;
        l->backlog = (int) n;
    } else if (fc_str_eq_c(&name, "rcvbuf") || fc_str_eq_c(&name, "sndbuf")) {
        int64_t n = fc_parse_size(&v);
        bad = n < 1 || n > INT_MAX
                  ? (name.data[0] == 'r' ? "invalid rcvbuf \"%.*s\"" : "invalid sndbuf \"%.*s\"")
                  : NULL;
        *(name.data[0] == 'r' ? &l->rcvbuf : &l->sndbuf) = (int) n;
    } else if (fc_str_eq_c(&name, "ipv6only")) {
        if (fc_str_eq_c(&v, "off")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "\"ipv6only=off\" is not supported: IPv6 listening sockets are "
                              "always IPv6-only, listen on the IPv4 address as well");
            return FC_CONF_ERROR;
        }
        bad = fc_str_eq_c(&v, "on") ? NULL : "invalid ipv6only flags \"%.*s\"";
        l->bind = 1;
    } else if (fc_str_eq_c(&name, "so_keepalive")) {
        bad = sn_so_keepalive(l, &v) == FC_OK ? NULL : "invalid so_keepalive value: \"%.*s\"";
    } else if (fc_str_eq_c(&name, "setfib") || fc_str_eq_c(&name, "fastopen") ||
               fc_str_eq_c(&name, "accept_filter")) {
        return sn_not_implemented(cf, p, "supported");
    } else {
        return "";
    }
    if (bad) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, bad, (int) v.len, v.data);
        return FC_CONF_ERROR;
    }
    l->set = 1;
    return FC_CONF_OK;
}

static char *
sn_listen_param(fc_conf_t *cf, fc_http_listen_t *l, const fc_str_t *p)
{
    if (fc_str_eq_c(p, "default_server") || fc_str_eq_c(p, "default")) {
        l->default_server = 1;
    } else if (fc_str_eq_c(p, "bind")) {
        l->bind = 1; /* every address has its own socket anyway */
        l->set = 1;
    } else if (fc_str_eq_c(p, "reuseport")) {
        l->reuseport = 1; /* every socket is per-worker SO_REUSEPORT already */
        l->bind = 1;
        l->set = 1;
    } else if (fc_str_eq_c(p, "deferred")) {
        l->deferred = 1;
        l->set = 1;
    } else if (fc_str_eq_c(p, "ssl")) {
        l->ssl = 1;
    } else if (fc_str_eq_c(p, "http2")) {
        /*
         * `listen 443 ssl http2` is how nginx 1.22 configs are written. HTTP/2
         * is not implemented; ALPN offers only http/1.1, which every h2 client
         * falls back to, so the line is accepted with a warning.
         */
        fc_conf_log_error(FC_LOG_WARN, cf, 0,
                          "the \"http2\" parameter is ignored: HTTP/2 is not implemented, "
                          "clients are served HTTP/1.1");
    } else if (fc_str_eq_c(p, "quic") || fc_str_eq_c(p, "proxy_protocol")) {
        return sn_not_implemented(cf, p, "implemented");
    } else {
        char *rv = sn_listen_value(cf, l, p);
        if (rv == NULL || rv == FC_CONF_ERROR)
            return rv;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) p->len, p->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static int
sn_push_listen(fc_conf_t *cf, const fc_http_listen_t *proto, const fc_addr_t *addr,
               fc_http_core_srv_conf_t *cscf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_http_listen_t *l = fc_array_push(&cmcf->listens);
    if (l == NULL)
        return FC_ERROR;
    *l = *proto;
    l->addr = *addr;
    l->server = cscf;
    l->file = cf->dir_file;
    l->line = cf->dir_line;
    return FC_OK;
}

static const fc_http_listen_t sn_listen_defaults = {
    .backlog = 511, .rcvbuf = -1, .sndbuf = -1, .so_keepalive = FC_UNSET};

char *
fc_http_core_listen(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_srv_conf_t *cscf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    fc_url_t u;
    const char *err;
    if (fc_url_parse(cf->pool, &u, &args[1], 80, FC_URL_LISTEN, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in \"%.*s\" of the \"listen\" directive", err,
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    fc_http_listen_t proto = sn_listen_defaults;
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        char *rv = sn_listen_param(cf, &proto, &args[i]);
        if (rv != FC_CONF_OK)
            return rv;
    }
    /* A name may resolve to several addresses: one listen each. */
    for (size_t i = 0; i < u.naddrs; i++) {
        if (sn_push_listen(cf, &proto, &u.addrs[i], cscf) != FC_OK)
            return FC_CONF_ERROR;
    }
    cscf->listen = 1;
    return FC_CONF_OK;
}

int
fc_http_add_default_listen(fc_conf_t *cf, fc_http_core_srv_conf_t *cscf)
{
    fc_addr_t addr;
    memset(&addr, 0, sizeof(addr));
    struct sockaddr_in *sin = (struct sockaddr_in *) &addr.sa;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_ANY);
    /* nginx: port 80 when started as root, 8000 otherwise. */
    sin->sin_port = htons(geteuid() == 0 ? 80 : 8000);
    addr.socklen = sizeof(*sin);
    if (fc_addr_set_name(cf->pool, &addr) != FC_OK)
        return FC_ERROR;
    const char *file = cf->dir_file;
    unsigned line = cf->dir_line;
    cf->dir_file = cscf->file;
    cf->dir_line = cscf->line;
    int rc = sn_push_listen(cf, &sn_listen_defaults, &addr, cscf);
    cf->dir_file = file;
    cf->dir_line = line;
    return rc;
}

/* ---- server_name ------------------------------------------------------------------- */

/* Classifies a (lowercased) name; *key is what the tables hold. As nginx's wildcard rules. */
static int
sn_kind(const fc_str_t *name, fc_str_t *key)
{
    size_t stars = 0;
    for (size_t i = 0; i < name->len; i++) {
        unsigned char c = name->data[i];
        if (c == '\0' || (c == '.' && i + 1 < name->len && name->data[i + 1] == '.'))
            return SN_INVALID;
        stars += c == '*';
    }
    *key = *name;
    int kind = SN_EXACT;
    if (name->len > 1 && name->data[0] == '.') {
        kind = SN_DOT;
        key->data++;
        key->len--;
    } else if (name->len > 2 && name->data[0] == '*' && name->data[1] == '.') {
        kind = SN_HEAD;
        key->data += 2;
        key->len -= 2;
    } else if (name->len > 2 && name->data[name->len - 2] == '.' &&
               name->data[name->len - 1] == '*') {
        kind = SN_TAIL;
        key->len -= 2;
    }
    if (stars > (kind == SN_HEAD || kind == SN_TAIL ? 1u : 0u))
        return SN_INVALID;
    return kind;
}

static int
sn_hostname(fc_conf_t *cf, fc_str_t *name)
{
    char host[256];
    if (gethostname(host, sizeof(host) - 1) != 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "gethostname() failed");
        return FC_ERROR;
    }
    host[sizeof(host) - 1] = '\0';
    fc_str_t h = {strlen(host), (unsigned char *) host};
    return fc_str_dup(cf->pool, name, &h);
}

/* One argument of server_name: a name (lowercased copy) or "~regex" (caseless). */
static char *
sn_add_name(fc_conf_t *cf, fc_http_core_srv_conf_t *cscf, const fc_str_t *v)
{
    unsigned char ch = v->len ? v->data[0] : '\0';
    if ((ch == '*' && (v->len < 3 || v->data[1] != '.')) || (ch == '.' && v->len < 2)) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "server name \"%.*s\" is invalid", (int) v->len,
                          v->data);
        return FC_CONF_ERROR;
    }
    if (memchr(v->data, '/', v->len))
        fc_conf_log_error(FC_LOG_WARN, cf, 0, "server name \"%.*s\" has suspicious symbols",
                          (int) v->len, v->data);
    fc_http_server_name_t *sn = fc_array_push(&cscf->server_names);
    fc_array_t **names = fc_array_push(&fc_http_srv_ext(cscf)->sn_names);
    if (sn == NULL || names == NULL)
        return FC_CONF_ERROR;
    sn->server = cscf;
    if (ch == '~') {
        if (v->len == 1) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "empty regex in server name \"%.*s\"",
                              (int) v->len, v->data);
            return FC_CONF_ERROR;
        }
        sn->name = (fc_str_t){v->len - 1, v->data + 1};
        sn->regex = fc_http_regex_compile(cf, &sn->name, 1, names);
        return sn->regex ? FC_CONF_OK : FC_CONF_ERROR;
    }
    int rc = fc_str_eq_c(v, "$hostname") ? sn_hostname(cf, &sn->name)
                                         : fc_str_dup(cf->pool, &sn->name, v);
    if (rc != FC_OK)
        return FC_CONF_ERROR;
    for (size_t i = 0; i < sn->name.len; i++)
        sn->name.data[i] = fc_tolower(sn->name.data[i]);
    fc_str_t key;
    if (sn_kind(&sn->name, &key) == SN_INVALID) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid server name or wildcard \"%.*s\"",
                          (int) v->len, v->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

char *
fc_http_core_server_name(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        char *rv = sn_add_name(cf, conf, &fc_conf_args(cf)[i]);
        if (rv != FC_CONF_OK)
            return rv;
    }
    return FC_CONF_OK;
}

/* ---- name tables -------------------------------------------------------------------- */

static int
sn_key_cmp(const fc_str_t *a, const unsigned char *b, size_t blen)
{
    size_t n = fc_min(a->len, blen);
    int rc = n ? memcmp(a->data, b, n) : 0; /* "" may come with a NULL pointer */
    if (rc != 0)
        return rc;
    return a->len < blen ? -1 : a->len > blen;
}

static int
sn_sort_cmp(const void *x, const void *y)
{
    const sn_key_t *a = x, *b = y;
    int rc = sn_key_cmp(&a->key, b->key.data, b->key.len);
    if (rc == 0)
        rc = a->seq < b->seq ? -1 : a->seq > b->seq;
    return rc;
}

/* Sorts one kind of key into the addr conf's table; later duplicates are warned about. */
static int
sn_table(fc_conf_t *cf, fc_http_addr_conf_t *ac, fc_array_t *keys, fc_http_name_key_t **out,
         size_t *nout)
{
    sn_key_t *k = keys->elts;
    *nout = 0;
    *out = NULL;
    if (keys->nelts == 0)
        return FC_OK;
    qsort(k, keys->nelts, sizeof(sn_key_t), sn_sort_cmp);
    if ((*out = fc_palloc(cf->pool, keys->nelts * sizeof(fc_http_name_key_t))) == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < keys->nelts; i++) {
        if (*nout > 0 && fc_str_eq(&(*out)[*nout - 1].key, &k[i].key)) {
            fc_log_error(FC_LOG_WARN, cf->log, 0, "conflicting server name \"%.*s\" on %s, ignored",
                         (int) k[i].name->len, k[i].name->data, ac->addr.name.data);
            continue;
        }
        (*out)[*nout].key = k[i].key;
        (*out)[*nout].server = k[i].server;
        (*nout)++;
    }
    return FC_OK;
}

static int
sn_push_key(fc_array_t *keys, const fc_str_t *key, const fc_http_server_name_t *sn, size_t seq)
{
    sn_key_t *k = fc_array_push(keys);
    if (k == NULL)
        return FC_ERROR;
    k->key = *key;
    k->name = &sn->name;
    k->server = sn->server;
    k->seq = seq;
    return FC_OK;
}

/* Sorts one server name into its table(s). */
static int
sn_collect_name(fc_array_t *keys, fc_array_t *regex, const fc_http_server_name_t *sn,
                fc_array_t *names, size_t seq)
{
    if (sn->regex) {
        fc_http_name_regex_t *re = fc_array_push(regex);
        if (re == NULL)
            return FC_ERROR;
        re->regex = sn->regex;
        re->names = names;
        re->server = sn->server;
        return FC_OK;
    }
    fc_str_t key;
    int kind = sn_kind(&sn->name, &key);
    if (kind == SN_EXACT || kind == SN_DOT) {
        /* ".example.com" is also the exact name "example.com" */
        if (sn_push_key(&keys[0], &key, sn, seq) != FC_OK)
            return FC_ERROR;
    }
    if ((kind == SN_HEAD || kind == SN_DOT) && sn_push_key(&keys[1], &key, sn, seq) != FC_OK)
        return FC_ERROR;
    if (kind == SN_TAIL && sn_push_key(&keys[2], &key, sn, seq) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

/* The name tables of one address, from its servers in listen order. */
static int
sn_build_names(fc_conf_t *cf, fc_http_addr_conf_t *ac)
{
    fc_array_t keys[3], regex;
    for (size_t i = 0; i < 3; i++) {
        if (fc_array_init(&keys[i], cf->temp_pool, 8, sizeof(sn_key_t)) != FC_OK)
            return FC_ERROR;
    }
    if (fc_array_init(&regex, cf->pool, 2, sizeof(fc_http_name_regex_t)) != FC_OK)
        return FC_ERROR;
    fc_http_core_srv_conf_t **servers = ac->servers.elts;
    size_t seq = 0;
    for (size_t s = 0; s < ac->servers.nelts; s++) {
        fc_http_server_name_t *sn = servers[s]->server_names.elts;
        fc_array_t **names = fc_http_srv_ext(servers[s])->sn_names.elts;
        for (size_t i = 0; i < servers[s]->server_names.nelts; i++) {
            if (sn_collect_name(keys, &regex, &sn[i], names[i], seq++) != FC_OK)
                return FC_ERROR;
        }
    }
    ac->regex = regex.elts;
    ac->nregex = regex.nelts;
    if (sn_table(cf, ac, &keys[0], &ac->exact, &ac->nexact) != FC_OK ||
        sn_table(cf, ac, &keys[1], &ac->head, &ac->nhead) != FC_OK ||
        sn_table(cf, ac, &keys[2], &ac->tail, &ac->ntail) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

/* ---- addresses -------------------------------------------------------------------- */

static sn_group_t *
sn_group(fc_conf_t *cf, fc_array_t *groups, fc_http_listen_t *l)
{
    sn_group_t *g = groups->elts;
    for (size_t i = 0; i < groups->nelts; i++) {
        if (fc_sockaddr_eq((struct sockaddr *) &g[i].ac->addr.sa, g[i].ac->addr.socklen,
                           (struct sockaddr *) &l->addr.sa, l->addr.socklen, 1))
            return &g[i];
    }
    sn_group_t *ng = fc_array_push(groups);
    if (ng == NULL || (ng->ac = fc_pcalloc(cf->pool, sizeof(fc_http_addr_conf_t))) == NULL ||
        fc_array_init(&ng->ac->servers, cf->pool, 2, sizeof(void *)) != FC_OK)
        return NULL;
    ng->ac->addr = l->addr;
    ng->first = l;
    return ng;
}

/* Adds one listen to its address: nginx's duplicate checks. FC_DECLINED: logged error. */
static int
sn_group_add(fc_conf_t *cf, sn_group_t *g, fc_http_listen_t *l)
{
    const char *addr = (const char *) g->ac->addr.name.data;
    fc_http_core_srv_conf_t **servers = g->ac->servers.elts;
    cf->dir_file = l->file;
    cf->dir_line = l->line;
    for (size_t i = 0; i < g->ac->servers.nelts; i++) {
        if (servers[i] == l->server) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "a duplicate listen %s", addr);
            return FC_DECLINED;
        }
    }
    fc_http_core_srv_conf_t **slot = fc_array_push(&g->ac->servers);
    if (slot == NULL)
        return FC_ERROR;
    *slot = l->server;
    if (l->default_server) {
        if (g->dflt) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "a duplicate default server for %s", addr);
            return FC_DECLINED;
        }
        g->dflt = l;
    }
    g->ac->ssl |= l->ssl;
    if (l->set) {
        if (g->opts) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate listen options for %s", addr);
            return FC_DECLINED;
        }
        g->opts = l;
    }
    return FC_OK;
}

/*
 * nginx checks the default server of a TLS address: it needs a certificate
 * (or ssl_reject_handshake); other servers without one use its context.
 */
static int
sn_check_ssl(fc_conf_t *cf, sn_group_t *g)
{
    const fc_http_listen_t *l = g->dflt ? g->dflt : g->first;
    const struct fc_tls_srv_conf_s *ssl = g->ac->default_server->ssl;
    if (ssl && fc_tls_srv_has_ctx(ssl))
        return FC_OK;
    cf->dir_file = l->file;
    cf->dir_line = l->line;
    if (ssl == NULL)
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "the \"ssl\" parameter requires the http_ssl module");
    else
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive");
    return FC_DECLINED;
}

/* The listening socket of one address. */
static int
sn_add_listening(fc_conf_t *cf, sn_group_t *g)
{
    fc_http_addr_conf_t *ac = g->ac;
    const fc_http_listen_t *o = g->opts ? g->opts : g->first;
    ac->default_server = (g->dflt ? g->dflt : g->first)->server;
    ac->so_keepalive = o->so_keepalive;
    ac->keepidle = o->keepidle;
    ac->keepintvl = o->keepintvl;
    ac->keepcnt = o->keepcnt;
    ac->deferred = o->deferred;
    if (ac->ssl && sn_check_ssl(cf, g) != FC_OK)
        return FC_DECLINED;
    int existed;
    fc_listening_t *ls = fc_listening_add(cf->cycle, &ac->addr, SOCK_STREAM, &existed);
    if (ls == NULL)
        return FC_ERROR;
    if (existed) {
        /* A stream{} server listens there already. */
        cf->dir_file = g->first->file;
        cf->dir_line = g->first->line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate \"%s\" address and port pair",
                          ac->addr.name.data);
        return FC_DECLINED;
    }
    ls->backlog = o->backlog;
    ls->rcvbuf = o->rcvbuf;
    ls->sndbuf = o->sndbuf;
    ls->reuseport = o->reuseport;
    ls->handler = fc_http_init_connection;
    ls->servers = ac;
    ls->conf_file = o->file;
    ls->conf_line = o->line;
    return FC_OK;
}

int
fc_http_optimize_servers(fc_conf_t *cf, fc_http_core_main_conf_t *cmcf)
{
    fc_array_t groups;
    if (fc_array_init(&groups, cf->temp_pool, 4, sizeof(sn_group_t)) != FC_OK)
        return FC_ERROR;
    fc_http_listen_t *l = cmcf->listens.elts;
    int rc = FC_OK;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        sn_group_t *g = sn_group(cf, &groups, &l[i]);
        if (g == NULL)
            return FC_ERROR;
        int grc = sn_group_add(cf, g, &l[i]);
        if (grc == FC_ERROR)
            return FC_ERROR;
        if (grc != FC_OK)
            rc = FC_DECLINED; /* go on: report every address's problems */
    }
    sn_group_t *g = groups.elts;
    for (size_t i = 0; rc == FC_OK && i < groups.nelts; i++) {
        if (sn_build_names(cf, g[i].ac) != FC_OK)
            return FC_ERROR;
        int lrc = sn_add_listening(cf, &g[i]);
        if (lrc == FC_ERROR)
            return FC_ERROR;
        if (lrc != FC_OK)
            rc = FC_DECLINED;
    }
    return rc == FC_OK ? FC_OK : FC_ERROR;
}

/* ---- socket options on the opened fds ---------------------------------------------- */

static void
sn_sockopt(fc_cycle_t *cycle, fc_listening_t *ls, int fd, int level, int name, int value,
           const char *what)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) != 0)
        fc_log_error(FC_LOG_ALERT, cycle->log, errno, "setsockopt(%s, %d) for %s failed, ignored",
                     what, value, ls->addr.name.data);
}

int
fc_http_listening_init(fc_cycle_t *cycle)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].handler != fc_http_init_connection || ls[i].addr.sa.ss_family == AF_UNIX)
            continue;
        const fc_http_addr_conf_t *ac = ls[i].servers;
        /* nginx defers accept until data comes, at most client_header_timeout. */
        int defer = ac->deferred ? (int) (ac->default_server->client_header_timeout / 1000) : 0;
        if (ac->deferred && defer < 1)
            defer = 1;
        for (size_t s = 0; ls[i].fds && s < ls[i].nfds; s++) {
            int fd = ls[i].fds[s];
            if (fd < 0)
                continue;
            /* Set both ways: a reload may take over a socket configured otherwise. */
            sn_sockopt(cycle, &ls[i], fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer, "TCP_DEFER_ACCEPT");
            sn_sockopt(cycle, &ls[i], fd, SOL_SOCKET, SO_KEEPALIVE, ac->so_keepalive == 1,
                       "SO_KEEPALIVE");
            if (ac->so_keepalive != 1)
                continue;
            if (ac->keepidle)
                sn_sockopt(cycle, &ls[i], fd, IPPROTO_TCP, TCP_KEEPIDLE, ac->keepidle,
                           "TCP_KEEPIDLE");
            if (ac->keepintvl)
                sn_sockopt(cycle, &ls[i], fd, IPPROTO_TCP, TCP_KEEPINTVL, ac->keepintvl,
                           "TCP_KEEPINTVL");
            if (ac->keepcnt)
                sn_sockopt(cycle, &ls[i], fd, IPPROTO_TCP, TCP_KEEPCNT, ac->keepcnt, "TCP_KEEPCNT");
        }
    }
    return FC_OK;
}

/* ---- run time ------------------------------------------------------------------------ */

static fc_http_core_srv_conf_t *
sn_find(const fc_http_name_key_t *a, size_t n, const unsigned char *p, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int rc = sn_key_cmp(&a[mid].key, p, len);
        if (rc == 0)
            return a[mid].server;
        if (rc < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

fc_http_core_srv_conf_t *
fc_http_find_virtual_server(fc_http_connection_t *hc, fc_http_request_t *r, const fc_str_t *host)
{
    fc_http_core_srv_conf_t *s = fc_http_find_named_server(hc, r, host);
    return s ? s : hc->addr_conf->default_server;
}

fc_http_core_srv_conf_t *
fc_http_find_named_server(fc_http_connection_t *hc, fc_http_request_t *r, const fc_str_t *host)
{
    fc_http_addr_conf_t *ac = hc->addr_conf;
    const unsigned char *h = host->data;
    fc_http_core_srv_conf_t *s = sn_find(ac->exact, ac->nexact, h, host->len);
    if (s)
        return s;
    /* Leading wildcards: the longest suffix after a dot first. */
    for (size_t i = 0; ac->nhead && i < host->len; i++) {
        if (h[i] == '.' && (s = sn_find(ac->head, ac->nhead, h + i + 1, host->len - i - 1)))
            return s;
    }
    /* Trailing wildcards: the longest prefix before a dot first. */
    for (size_t i = host->len; ac->ntail && i-- > 0;) {
        if (h[i] == '.' && (s = sn_find(ac->tail, ac->ntail, h, i)))
            return s;
    }
    for (size_t i = 0; i < ac->nregex; i++) {
        int rc = fc_regex_exec(ac->regex[i].regex, host, r ? &r->captures : NULL);
        if (rc == FC_DECLINED)
            continue;
        if (rc != FC_OK) {
            fc_log_error(FC_LOG_ALERT, hc->connection->log, 0,
                         "regex match of server name failed on \"%.*s\"", (int) host->len,
                         host->data);
            break;
        }
        if (r)
            r->named_captures = ac->regex[i].names;
        return ac->regex[i].server;
    }
    return NULL;
}

fc_http_core_srv_conf_t *
fc_http_addr_default_server(fc_http_addr_conf_t *ac)
{
    return ac->default_server;
}

int
fc_http_addr_ssl(const fc_http_addr_conf_t *ac)
{
    return ac->ssl;
}
