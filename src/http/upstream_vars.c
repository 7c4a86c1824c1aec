/*
 * upstream_vars.c: the engine's variables. Each try of a trip adds one entry
 * to $upstream_addr, $upstream_status, $upstream_*_time and
 * $upstream_bytes_*, separated by ", "; tries of a later trip of the same
 * request (after an internal redirect) follow a " : ", as in nginx. Times
 * are seconds with milliseconds, "-" for what did not happen.
 * $upstream_http_NAME is a field of the last response head.
 */
#include "http/upstream_engine.h"
#include "http/request.h"

#include "core/var_common.h"

enum {
    UPV_ADDR = 0,
    UPV_STATUS,
    UPV_RESPONSE_TIME,
    UPV_CONNECT_TIME,
    UPV_HEADER_TIME,
    UPV_BYTES_RECEIVED,
    UPV_BYTES_SENT,
    UPV_RESPONSE_LENGTH
};

static int
upv_time(char *buf, size_t size, fc_msec_t t)
{
    if (t < 0)
        return snprintf(buf, size, "-");
    return snprintf(buf, size, "%" PRId64 ".%03d", t / 1000, (int) (t % 1000));
}

/* One try's entry (not the address). */
static int
upv_entry(char *buf, size_t size, const fc_http_upstream_state_t *st, uintptr_t which)
{
    switch (which) {
    case UPV_STATUS:
        return st->status ? snprintf(buf, size, "%u", st->status) : snprintf(buf, size, "-");
    case UPV_RESPONSE_TIME:
        return upv_time(buf, size, st->response_time);
    case UPV_CONNECT_TIME:
        return upv_time(buf, size, st->connect_time);
    case UPV_HEADER_TIME:
        return upv_time(buf, size, st->header_time);
    case UPV_BYTES_RECEIVED:
        return snprintf(buf, size, "%" PRIu64, st->bytes_received);
    case UPV_RESPONSE_LENGTH: /* the body's bytes as read (0 for a try without a head) */
        return snprintf(buf, size, "%" PRIu64,
                        st->header_time >= 0 ? st->bytes_received - st->head_length : 0);
    default:
        return snprintf(buf, size, "%" PRIu64, st->bytes_sent);
    }
}

static int
upv_list(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    fc_http_upstream_t *u = r->upstream;
    if (u == NULL || u->states == NULL || u->states->nelts == 0) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    const fc_http_upstream_state_t *st = u->states->elts;
    size_t n = u->states->nelts, size = 0;
    for (size_t i = 0; i < n; i++)
        size += 3 + (which == UPV_ADDR ? st[i].peer.len : 24);
    char *buf = fc_pnalloc(r->pool, size + 1), *p = buf;
    if (buf == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(p, st[i].boundary ? " : " : ", ", st[i].boundary ? 3 : 2);
            p += st[i].boundary ? 3 : 2;
        }
        if (which == UPV_ADDR) {
            memcpy(p, st[i].peer.data, st[i].peer.len);
            p += st[i].peer.len;
            continue;
        }
        int w = upv_entry(p, (size_t) (buf + size + 1 - p), &st[i], which);
        p += w > 0 ? w : 0;
    }
    fc_var_set_str(v, (const unsigned char *) buf, (size_t) (p - buf));
    return FC_OK;
}

/* $upstream_cookie_NAME: the cookie NAME the last response set (Set-Cookie), as nginx. */
static int
upv_cookie(void *data, fc_var_value_t *v, uintptr_t name_ptr)
{
    fc_http_request_t *r = data;
    const fc_str_t *name = (const fc_str_t *) name_ptr;
    fc_http_upstream_t *u = r->upstream;
    fc_var_set_not_found(v);
    if (u == NULL || u->headers_in.headers.elts == NULL)
        return FC_OK;
    fc_http_field_t *f = u->headers_in.headers.elts;
    for (size_t i = 0; i < u->headers_in.headers.nelts; i++) {
        if (f[i].hash == 0 || f[i].name.len != 10 ||
            !fc_strn_caseeq(f[i].name.data, (const unsigned char *) "set-cookie", 10))
            continue;
        /* "NAME=VALUE; attributes": only the first pair names the cookie */
        const unsigned char *p = f[i].value.data, *end = p + f[i].value.len;
        const unsigned char *semi = memchr(p, ';', f[i].value.len);
        if (semi)
            end = semi;
        if ((size_t) (end - p) > name->len && p[name->len] == '=' &&
            fc_strn_caseeq(p, name->data, name->len)) {
            fc_var_set_str(v, p + name->len + 1, (size_t) (end - p) - name->len - 1);
            return FC_OK;
        }
    }
    return FC_OK;
}

/* $upstream_http_NAME: '_' in NAME matches '-', in any case. */
static int
upv_http(void *data, fc_var_value_t *v, uintptr_t name_ptr)
{
    fc_http_request_t *r = data;
    const fc_str_t *name = (const fc_str_t *) name_ptr;
    fc_http_upstream_t *u = r->upstream;
    if (u == NULL || u->headers_in.headers.elts == NULL) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    return fc_http_var_fields(r->pool, v, &u->headers_in.headers, name);
}

static const fc_var_def_t upv_defs[] = {
    {"upstream_addr", upv_list, UPV_ADDR, FC_VAR_NOCACHEABLE},
    {"upstream_status", upv_list, UPV_STATUS, FC_VAR_NOCACHEABLE},
    {"upstream_response_time", upv_list, UPV_RESPONSE_TIME, FC_VAR_NOCACHEABLE},
    {"upstream_connect_time", upv_list, UPV_CONNECT_TIME, FC_VAR_NOCACHEABLE},
    {"upstream_header_time", upv_list, UPV_HEADER_TIME, FC_VAR_NOCACHEABLE},
    {"upstream_bytes_received", upv_list, UPV_BYTES_RECEIVED, FC_VAR_NOCACHEABLE},
    {"upstream_bytes_sent", upv_list, UPV_BYTES_SENT, FC_VAR_NOCACHEABLE},
    {"upstream_response_length", upv_list, UPV_RESPONSE_LENGTH, FC_VAR_NOCACHEABLE},
    {"upstream_cookie_", upv_cookie, 0, FC_VAR_NOCACHEABLE | FC_VAR_PREFIX},
    /* trailers are neither kept nor passed: never found */
    {"upstream_trailer_", fc_var_get_never, 0, FC_VAR_NOCACHEABLE | FC_VAR_PREFIX},
    {"upstream_http_", upv_http, 0, FC_VAR_NOCACHEABLE | FC_VAR_PREFIX},
    {NULL, NULL, 0, 0}};

int
fc_http_upstream_variables_add(fc_var_registry_t *reg)
{
    return fc_var_define_table(reg, upv_defs);
}
