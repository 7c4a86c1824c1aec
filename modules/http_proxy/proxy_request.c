/*
 * proxy_request.c: the proxy's content handler and the request it sends.
 *
 * The handler settles the target (the static group, or proxy_pass with
 * variables evaluated now: an upstream{} name or a literal address, never a
 * DNS lookup), then hands the trip to the engine. create_request writes
 * "METHOD URI HTTP/1.x", the proxy_set_header lines (defaults: Host
 * $proxy_host, Connection close; an empty value drops the line), the
 * client's fields (unless overridden or hop-by-hop) and the body framing:
 * Content-Length for a buffered body (a chunked one is de-chunked), or, with
 * proxy_request_buffering off, the client's Content-Length or chunked
 * re-framing (HTTP/1.1 only). Client framing fields are never forwarded.
 */
#include "proxy.h"

static int proxy_create_request(fc_http_upstream_t *u);
static int proxy_body_output(fc_http_upstream_t *u, fc_chain_t *in, int last, fc_chain_t **out);

static const fc_http_upstream_ops_t proxy_ops = {
    .create_request = proxy_create_request,
    .reinit_request = proxy_reinit_request,
    .process_header = proxy_process_header,
    .input_filter_init = proxy_input_filter_init,
    .input_filter = proxy_input_filter,
    .body_output = proxy_body_output,
    .rewrite_redirect = proxy_rewrite_redirect,
    .rewrite_cookie = proxy_rewrite_cookie,
};

/* proxy_pass with variables: the URL now, then its group (upstream{} name or an address). */
static int
proxy_eval_target(fc_http_request_t *r, proxy_ctx_t *ctx, fc_http_upstream_t *u)
{
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    fc_log_t *log = r->connection->log;
    const char *err = NULL;
    if (fc_http_cv_eval(r, plcf->url_cv, &ctx->url) != FC_OK)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    int rc = proxy_url_parse(&ctx->url, &ctx->target, &err);
    if (rc != FC_OK) {
        fc_log_error(FC_LOG_ERR, log, 0, "%s in \"%.*s\"", err, (int) ctx->url.len, ctx->url.data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    fc_http_upstream_srv_t *us = fc_http_upstream_find(r, &ctx->target.authority);
    if (us && us->group && us->group->initialized) {
        u->upstream = us;
        u->group = us->group;
        return FC_OK;
    }
    fc_url_t url;
    if (fc_url_parse(r->pool, &url, &ctx->target.authority, ctx->target.ssl ? 443 : 80,
                     FC_URL_NO_RESOLVE, &err) != FC_OK) {
        fc_log_error(FC_LOG_ERR, log, 0, "no resolver defined to resolve %.*s",
                     (int) ctx->target.authority.len, ctx->target.authority.data);
        return FC_HTTP_BAD_GATEWAY;
    }
    u->group = fc_upstream_group_implicit(r->pool, &url);
    return u->group ? FC_OK : FC_HTTP_INTERNAL_SERVER_ERROR;
}

/*
 * https://: the name for SNI and certificate checks is proxy_ssl_name, by
 * default the proxy_pass host; as nginx, a port after it is cut off.
 */
static int
proxy_ssl_target(fc_http_request_t *r, proxy_loc_conf_t *plcf, proxy_ctx_t *ctx,
                 fc_http_upstream_t *u)
{
    if (!ctx->target.ssl)
        return FC_OK;
    if (plcf->ssl.ctx == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR; /* cannot happen: the merge built it */
    u->ssl = 1;
    fc_str_set(&u->schema, "https://");
    fc_str_t name = ctx->target.host_header;
    if (plcf->ssl_name && fc_http_cv_eval(r, plcf->ssl_name, &name) != FC_OK)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    fc_tls_client_name_trim(&name);
    u->ssl_name = name;
    return FC_OK;
}

/* Whether the client body streams (proxy_request_buffering off) or is read first. */
static void
proxy_body_mode(fc_http_request_t *r, proxy_loc_conf_t *plcf, proxy_ctx_t *ctx,
                fc_http_upstream_t *u)
{
    int has_body = r->headers_in.chunked || r->headers_in.content_length_n > 0;
    ctx->internal_body_length = -1;
    if (plcf->body || !plcf->pass_request_body) {
        u->discard_request_body = 1;
        return;
    }
    if (!has_body) {
        if (r->headers_in.content_length_n == 0)
            ctx->internal_body_length = 0;
        return;
    }
    /* nginx: a chunked body is buffered anyway unless HTTP/1.1 can carry it chunked. */
    if (!plcf->upstream.request_buffering &&
        (!r->headers_in.chunked || plcf->http_version >= 1001)) {
        r->request_body_no_buffering = 1;
        ctx->body_chunked = r->headers_in.chunked;
    }
}

int
proxy_handler(fc_http_request_t *r)
{
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    if (plcf->us == NULL && plcf->url_cv == NULL)
        return FC_DECLINED;
    proxy_ctx_t *ctx = fc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    fc_http_upstream_t *u = fc_http_upstream_create(r, &plcf->upstream, &proxy_ops, ctx);
    if (u == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    ctx->u = u;
    fc_http_parser_init(&ctx->parser, 0);
    fc_http_set_module_ctx(r, ctx, fc_http_proxy_module);
    if (plcf->url_cv) {
        int rc = proxy_eval_target(r, ctx, u);
        if (rc != FC_OK)
            return rc;
    } else {
        ctx->target = plcf->target;
        ctx->url = plcf->url;
        u->upstream = plcf->us;
        u->group = plcf->us->group;
    }
    int rc = proxy_ssl_target(r, plcf, ctx, u);
    if (rc != FC_OK)
        return rc;
    u->upgrade_allowed = r->headers_in.upgrade != NULL;
    u->no_body_expected = r->method == FC_HTTP_METHOD_HEAD;
    proxy_body_mode(r, plcf, ctx, u);
    return fc_http_upstream_start(u);
}

/* ---- the request ------------------------------------------------------------------------ */

/* The URI for the request line (nginx's replacement rule). */
static int
proxy_request_uri(fc_http_request_t *r, proxy_ctx_t *ctx, fc_str_t *out)
{
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    proxy_uri_in_t in = {
        .uri = r->uri,
        .args = r->args,
        .unparsed = r->unparsed_uri,
        .location = plcf->location,
        .replacement = ctx->target.uri,
        .has_uri = ctx->target.has_uri,
        .vars = plcf->url_cv != NULL,
        /* "rewrite ... break" clears valid_location; a request never redirected matches. */
        .valid_location = (r->valid_location || !r->internal) && plcf->uri_allowed,
    };
    if (!in.has_uri) {
        /* Only a path that differs from $uri is normalized into scratch: rarely a pool's. */
        unsigned char stack[512];
        unsigned char *scratch =
            r->unparsed_uri.len <= sizeof(stack) ? stack : fc_pnalloc(r->pool, r->unparsed_uri.len);
        if (scratch == NULL)
            return FC_ERROR;
        /* as nginx's valid_unparsed_uri: any rewrite or internal redirect, even to the same URI */
        in.unchanged =
            !r->internal && proxy_uri_unchanged(&r->unparsed_uri, &r->uri, &r->args,
                                                fc_http_core_srv(r)->merge_slashes, scratch) != 0;
    }
    return proxy_uri_build(r->pool, &in, out);
}

static int
proxy_name_is(const fc_http_field_t *f, const char *name)
{
    return fc_strn_caseeq(f->name.data, (const unsigned char *) name, f->name.len);
}

/*
 * With a cache, the client's Range and conditional fields stay here (nginx's
 * cache headers): the cache stores the whole entity and answers them itself.
 */
static int
proxy_cache_field_skipped(const fc_http_field_t *f)
{
    switch (f->name.len) {
    case 5:
        return proxy_name_is(f, "range");
    case 8:
        return proxy_name_is(f, "if-match") || proxy_name_is(f, "if-range");
    case 13:
        return proxy_name_is(f, "if-none-match");
    case 17:
        return proxy_name_is(f, "if-modified-since");
    case 19:
        return proxy_name_is(f, "if-unmodified-since");
    default:
        return 0;
    }
}

/*
 * The client's fields nginx's default proxy_set_header list replaces or
 * clears never go upstream as they came (by length: one compare): Connection,
 * Keep-Alive, TE, Expect, Upgrade and the framing. Others pass, as in nginx
 * (Trailer, Proxy-Connection).
 */
static int
proxy_client_field_skipped(const fc_http_field_t *f)
{
    switch (f->name.len) {
    case 2:
        return proxy_name_is(f, "te");
    case 6:
        return proxy_name_is(f, "expect");
    case 7:
        return proxy_name_is(f, "upgrade");
    case 10:
        return proxy_name_is(f, "connection") || proxy_name_is(f, "keep-alive");
    case 14:
        return proxy_name_is(f, "content-length");
    case 17:
        return proxy_name_is(f, "transfer-encoding");
    default:
        return 0;
    }
}

static int
proxy_field_overridden(const fc_array_t *headers, const fc_http_field_t *f)
{
    const proxy_header_t *h = headers->elts;
    for (size_t i = 0; i < headers->nelts; i++)
        if (h[i].hash == f->hash && fc_str_caseeq(&h[i].name, &f->name))
            return 1;
    return 0;
}

/* The framing line for the body: "Content-Length: N" or "Transfer-Encoding: chunked". */
static int
proxy_framing_line(fc_http_request_t *r, proxy_ctx_t *ctx, const fc_str_t *set_body, char *buf,
                   size_t size)
{
    int64_t len = -1;
    if (set_body) {
        len = (int64_t) set_body->len;
    } else if (r->request_body_no_buffering) {
        if (ctx->body_chunked) {
            static const char te[] = "Transfer-Encoding: chunked\r\n";
            memcpy(buf, te, sizeof(te) - 1);
            return (int) sizeof(te) - 1;
        }
        len = r->headers_in.content_length_n;
    } else if (r->request_body && !r->request_body->discard &&
               (r->headers_in.chunked || r->headers_in.content_length_n >= 0)) {
        len = r->request_body->received;
    } else if (r->request_body && r->request_body->discard && r->upstream &&
               !((fc_http_upstream_t *) r->upstream)->discard_request_body) {
        len = 0; /* discarded before this location (a 413's error_page): none, as nginx */
    } else {
        len = ctx->internal_body_length;
    }
    ctx->internal_body_length = len;
    if (len < 0)
        return 0;
    return snprintf(buf, size, "Content-Length: %" PRId64 "\r\n", len);
}

/* "Name: value\r\n" at p; the end. */
static unsigned char *
proxy_put_field(unsigned char *p, const fc_str_t *name, const fc_str_t *value)
{
    p = (unsigned char *) memcpy(p, name->data, name->len) + name->len;
    *p++ = ':';
    *p++ = ' ';
    p = (unsigned char *) memcpy(p, value->data, value->len) + value->len;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* The cache's revalidation field, unless proxy_set_header says it (nginx's order). */
static unsigned char *
proxy_put_cache_field(unsigned char *p, const fc_array_t *headers, const fc_http_field_t *f)
{
    return f->value.len && !proxy_field_overridden(headers, f)
               ? proxy_put_field(p, &f->name, &f->value)
               : p;
}

/* Writes "Name: value\r\n" fields: the evaluated proxy_set_header lines, then the client's. */
static unsigned char *
proxy_put_fields(fc_http_request_t *r, unsigned char *p, const fc_array_t *headers,
                 const fc_str_t *values)
{
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    const proxy_header_t *h = headers->elts;
    for (size_t i = 0; i < headers->nelts; i++) {
        if (values[i].len == 0)
            continue;
        p = proxy_put_field(p, &h[i].name, &values[i]);
    }
    fc_http_upstream_t *u = r->upstream;
    if (u->cache_if_modified_since.len || u->cache_if_none_match.len) {
        const fc_http_field_t ims = {
            fc_string("If-Modified-Since"), u->cache_if_modified_since,
            fc_http_header_hash((const unsigned char *) "if-modified-since", 17)};
        const fc_http_field_t inm = {
            fc_string("If-None-Match"), u->cache_if_none_match,
            fc_http_header_hash((const unsigned char *) "if-none-match", 13)};
        p = proxy_put_cache_field(p, headers, &ims);
        p = proxy_put_cache_field(p, headers, &inm);
    }
    if (!plcf->pass_request_headers)
        return p;
    const fc_http_field_t *f = r->headers_in.headers.elts;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        if (f[i].hash == 0 || proxy_client_field_skipped(&f[i]) ||
            (u->cache_request && proxy_cache_field_skipped(&f[i])) ||
            proxy_field_overridden(headers, &f[i]))
            continue;
        p = proxy_put_field(p, &f[i].name, &f[i].value);
    }
    return p;
}

/*
 * Room for the fields proxy_put_fields() writes; evaluates the set lines into
 * values. The client's fields are counted all: which ones go is decided once,
 * while writing.
 */
static int
proxy_fields_len(fc_http_request_t *r, const fc_array_t *headers, fc_str_t *values, size_t *len)
{
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    const proxy_header_t *h = headers->elts;
    for (size_t i = 0; i < headers->nelts; i++) {
        if (fc_http_cv_eval(r, &h[i].value, &values[i]) != FC_OK)
            return FC_ERROR;
        if (values[i].len)
            *len += h[i].name.len + 2 + values[i].len + 2;
    }
    const fc_http_upstream_t *u = r->upstream;
    *len += sizeof("If-Modified-Since: \r\n") + u->cache_if_modified_since.len +
            sizeof("If-None-Match: \r\n") + u->cache_if_none_match.len;
    if (!plcf->pass_request_headers)
        return FC_OK;
    const fc_http_field_t *f = r->headers_in.headers.elts;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++)
        *len += f[i].name.len + 2 + f[i].value.len + 2;
    return FC_OK;
}

/* Links the buffered client body (or proxy_set_body) after the head. */
static int
proxy_link_body(fc_http_request_t *r, fc_chain_t *head, const fc_str_t *set_body)
{
    fc_chain_t **ll = &head->next;
    if (set_body) {
        if (set_body->len && (*ll = fc_chain_str(r->pool, set_body->data, set_body->len)) == NULL)
            return FC_ERROR;
        return FC_OK;
    }
    if (r->request_body_no_buffering || r->request_body == NULL || r->request_body->discard)
        return FC_OK;
    for (fc_chain_t *cl = r->request_body->bufs; cl; cl = cl->next) {
        fc_chain_t *l = fc_chain_alloc(r->pool);
        if (l == NULL)
            return FC_ERROR;
        l->buf = cl->buf; /* not copied; the engine never moves its pos */
        *ll = l;
        ll = &l->next;
    }
    return FC_OK;
}

static int
proxy_create_request(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    proxy_ctx_t *ctx = u->data;
    fc_str_t method = r->method_name, uri, body, *set_body = NULL;
    if (u->cache_head_as_get)
        fc_str_set(&method, "GET");
    if ((plcf->method && fc_http_cv_eval(r, plcf->method, &method) != FC_OK) ||
        proxy_request_uri(r, ctx, &uri) != FC_OK)
        return FC_ERROR;
    if (plcf->body) {
        if (fc_http_cv_eval(r, plcf->body, &body) != FC_OK)
            return FC_ERROR;
        set_body = &body;
    }
    u->uri = uri;
    char framing[64];
    int flen = proxy_framing_line(r, ctx, set_body, framing, sizeof(framing));
    fc_str_t *values = fc_pcalloc(r->pool, (plcf->headers->nelts + 1) * sizeof(fc_str_t));
    size_t len = method.len + 1 + uri.len + sizeof(" HTTP/1.x\r\n") - 1 + (size_t) flen + 2;
    if (values == NULL || proxy_fields_len(r, plcf->headers, values, &len) != FC_OK)
        return FC_ERROR;
    fc_chain_t *head = fc_chain_alloc(r->pool);
    fc_buf_t *b = head ? fc_pcalloc(r->pool, sizeof(*b)) : NULL;
    unsigned char *p = b ? fc_pnalloc(r->pool, len) : NULL;
    if (p == NULL)
        return FC_ERROR;
    b->start = b->pos = p;
    b->end = p + len;
    head->buf = b;
    p = (unsigned char *) memcpy(p, method.data, method.len) + method.len;
    *p++ = ' ';
    p = (unsigned char *) memcpy(p, uri.data, uri.len) + uri.len;
    memcpy(p, plcf->http_version >= 1001 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);
    p = proxy_put_fields(r, p + 11, plcf->headers, values);
    memcpy(p, framing, (size_t) flen);
    p += flen;
    *p++ = '\r';
    *p++ = '\n';
    b->last = p;
    if (proxy_link_body(r, head, set_body) != FC_OK)
        return FC_ERROR;
    u->request_bufs = head;
    return FC_OK;
}

/* ---- proxy_request_buffering off: the body as it arrives ------------------------------------ */

static int
proxy_body_output(fc_http_upstream_t *u, fc_chain_t *in, int last, fc_chain_t **out)
{
    proxy_ctx_t *ctx = u->data;
    fc_http_request_t *r = u->r;
    *out = in;
    if (!ctx->body_chunked)
        return FC_OK;
    int64_t size = fc_chain_size(in);
    fc_chain_t *first = NULL, **ll = &first;
    if (size > 0) {
        unsigned char *line = fc_pnalloc(r->pool, 20);
        int n = line ? snprintf((char *) line, 20, "%" PRIx64 "\r\n", size) : -1;
        fc_chain_t *h = n > 0 ? fc_chain_str(r->pool, line, (size_t) n) : NULL;
        if (h == NULL)
            return FC_ERROR;
        *ll = h;
        h->next = in;
        for (ll = &h->next; *ll; ll = &(*ll)->next)
            ;
    }
    if (size > 0 || (last && !ctx->chunked_done)) {
        static const unsigned char crlf[] = "\r\n", end[] = "0\r\n\r\n",
                                   crlf_end[] = "\r\n0\r\n\r\n";
        const unsigned char *t = last ? (size > 0 ? crlf_end : end) : crlf;
        size_t tl = last ? (size > 0 ? sizeof(crlf_end) : sizeof(end)) - 1 : 2;
        if ((*ll = fc_chain_str(r->pool, t, tl)) == NULL)
            return FC_ERROR;
        ctx->chunked_done |= (unsigned) last;
    }
    *out = first;
    return FC_OK;
}
