/*
 * not_modified.c: nginx's not-modified filter (`if_modified_since`). On a
 * 200 whose entity is known (r->allow_conditional: a cached response, or
 * one the cache is storing), If-Unmodified-Since and If-Match that fail are
 * answered 412; If-Modified-Since and If-None-Match that say "not modified"
 * are answered 304, which keeps the fields (ETag, Last-Modified, Cache-
 * Control...) and drops the body, Content-Type and Content-Length. The
 * core's header writer makes a 304 header-only; the 412 page replaces the
 * body here (fc_http_status_page_*, special.c, as the range filter's 416).
 */
#include "http/range.h"

#include <inttypes.h>

typedef struct {
    int ims; /* FC_HTTP_IMS_*, FC_UNSET */
} nm_loc_conf_t;

typedef struct {
    fc_chain_t *page; /* the 412 page until it is sent */
} nm_ctx_t;

static void *nm_create_loc_conf(fc_conf_t *cf);
static char *nm_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int nm_postconfiguration(fc_conf_t *cf);

static const fc_conf_enum_t nm_ims_values[] = {{"off", FC_HTTP_IMS_OFF},
                                               {"exact", FC_HTTP_IMS_EXACT},
                                               {"before", FC_HTTP_IMS_BEFORE},
                                               {NULL, 0}};

static const fc_command_t nm_commands[] = {
    {"if_modified_since", FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF | FC_CONF_TAKE1,
     fc_conf_set_enum_slot, FC_CONF_LOC_OFFSET, offsetof(nm_loc_conf_t, ims), nm_ims_values},
    fc_null_command};

static const fc_layer_module_ctx_t nm_ctx_ops = {
    .postconfiguration = nm_postconfiguration,
    .create_loc_conf = nm_create_loc_conf,
    .merge_loc_conf = nm_merge_loc_conf,
};

fc_module_t fc_http_not_modified_module = {
    .name = "http_not_modified",
    .type = FC_HTTP_MODULE,
    .commands = nm_commands,
    .ctx = &nm_ctx_ops,
};

static void *
nm_create_loc_conf(fc_conf_t *cf)
{
    nm_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(nm_loc_conf_t));
    if (conf)
        conf->ims = FC_UNSET;
    return conf;
}

static char *
nm_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    nm_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    fc_conf_merge_value(conf->ims, prev->ims, FC_HTTP_IMS_EXACT);
    return FC_CONF_OK;
}

/* ---- the decision ------------------------------------------------------------------ */

static int
nm_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

int
fc_http_etag_match(const fc_str_t *list, const fc_str_t *etag, int weak)
{
    if (list->len == 1 && list->data[0] == '*')
        return 1;
    if (etag == NULL)
        return 0;
    fc_str_t tag = *etag;
    if (weak && tag.len > 2 && tag.data[0] == 'W' && tag.data[1] == '/') {
        tag.data += 2;
        tag.len -= 2;
    }
    const unsigned char *p = list->data, *end = list->data + list->len;
    while (p < end) {
        if (weak && end - p > 2 && p[0] == 'W' && p[1] == '/')
            p += 2;
        if (tag.len > (size_t) (end - p))
            return 0;
        if (memcmp(p, tag.data, tag.len) == 0) {
            p += tag.len;
            while (p < end && nm_blank(*p))
                p++;
            if (p == end || *p == ',')
                return 1;
        }
        /* Not this one: on to the next tag of the list. */
        while (p < end && *p != ',')
            p++;
        while (p < end && (nm_blank(*p) || *p == ','))
            p++;
    }
    return 0;
}

/* If-Unmodified-Since holds: the entity has a date no later than the field's. */
static int
nm_unmodified(const fc_http_conditions_t *c)
{
    if (c->last_modified == -1)
        return 0;
    time_t t = fc_time_parse_http(c->if_unmodified_since->data, c->if_unmodified_since->len);
    return t != -1 && t >= c->last_modified;
}

/* If-Modified-Since says "modified" (send it): nginx's exact / before rules. */
static int
nm_modified(const fc_http_conditions_t *c)
{
    if (c->last_modified == -1 || c->ims == FC_HTTP_IMS_OFF)
        return 1;
    time_t t = fc_time_parse_http(c->if_modified_since->data, c->if_modified_since->len);
    if (t == c->last_modified)
        return 0;
    return c->ims == FC_HTTP_IMS_EXACT || t < c->last_modified;
}

unsigned
fc_http_conditions_eval(const fc_http_conditions_t *c)
{
    if (c->if_unmodified_since && !nm_unmodified(c))
        return FC_HTTP_PRECONDITION_FAILED;
    if (c->if_match && !fc_http_etag_match(c->if_match, c->etag, 0))
        return FC_HTTP_PRECONDITION_FAILED;
    if (c->if_modified_since == NULL && c->if_none_match == NULL)
        return FC_HTTP_OK;
    if (c->if_modified_since && nm_modified(c))
        return FC_HTTP_OK;
    if (c->if_none_match && !fc_http_etag_match(c->if_none_match, c->etag, 1))
        return FC_HTTP_OK;
    return FC_HTTP_NOT_MODIFIED;
}

/* ---- the filter ------------------------------------------------------------------------- */

static const fc_str_t *
nm_value(const fc_http_field_t *f)
{
    return f && f->hash ? &f->value : NULL;
}

/* 304: the fields stay, the entity's description goes (nginx's list). */
static void
nm_not_modified(fc_http_request_t *r)
{
    fc_http_headers_out_t *h = &r->headers_out;
    h->status = FC_HTTP_NOT_MODIFIED;
    h->status_line.len = 0;
    h->content_type.len = 0;
    h->content_length_n = -1;
    fc_http_clear_accept_ranges(r);
    fc_http_remove_header_out(r, "Content-Encoding", 16);
}

/* 412: nothing of the response stays but its page (nginx cleans the whole header). */
static int
nm_precondition_failed(fc_http_request_t *r)
{
    nm_ctx_t *ctx = fc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL)
        return FC_ERROR;
    fc_http_clear_headers_out(r);
    ctx->page = fc_http_status_page_set(r, FC_HTTP_PRECONDITION_FAILED);
    if (ctx->page == NULL)
        return FC_ERROR;
    fc_http_set_module_ctx(r, ctx, fc_http_not_modified_module);
    return FC_OK;
}

static int
nm_header_filter(fc_http_request_t *r)
{
    if (r->headers_out.status != FC_HTTP_OK || !r->allow_conditional)
        return fc_http_next_header_filter(r, &fc_http_not_modified_module);
    nm_loc_conf_t *nlcf = fc_http_get_module_loc_conf(r, fc_http_not_modified_module);
    fc_http_headers_in_t *in = &r->headers_in;
    fc_http_conditions_t c = {
        .if_unmodified_since = nm_value(in->if_unmodified_since),
        .if_match = nm_value(in->if_match),
        .if_modified_since = nm_value(in->if_modified_since),
        .if_none_match = nm_value(in->if_none_match),
        .etag = nm_value(r->headers_out.etag),
        .last_modified = r->headers_out.last_modified_time,
        .ims = nlcf->ims,
    };
    switch (fc_http_conditions_eval(&c)) {
    case FC_HTTP_PRECONDITION_FAILED:
        if (nm_precondition_failed(r) != FC_OK)
            return FC_ERROR;
        break;
    case FC_HTTP_NOT_MODIFIED:
        nm_not_modified(r);
        break;
    default:
        break;
    }
    return fc_http_next_header_filter(r, &fc_http_not_modified_module);
}

static int
nm_body_filter(fc_http_request_t *r, fc_chain_t *in)
{
    nm_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_not_modified_module);
    if (ctx == NULL)
        return fc_http_next_body_filter(r, &fc_http_not_modified_module, in);
    return fc_http_status_page_send(r, &fc_http_not_modified_module, &ctx->page, in);
}

static int
nm_postconfiguration(fc_conf_t *cf)
{
    return fc_http_add_filter(cf, &fc_http_not_modified_module, nm_header_filter, nm_body_filter);
}
