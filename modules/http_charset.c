/*
 * http_charset.c: `charset`, `charset_types`, `source_charset` and
 * `override_charset` (nginx's ngx_http_charset_filter_module, without
 * recoding): a header filter that names the response's charset in its
 * Content-Type ("text/html; charset=utf-8") for the types of
 * charset_types. A response that names its own charset keeps it, as in
 * nginx. Recoding (charset_map) is not implemented: a source_charset other
 * than charset is refused at load, and override_charset on a response with
 * another charset is logged as nginx logs a missing charset_map, the
 * response left as it is.
 */
#include "http/http.h"
#include "http/mime_list.h"

typedef struct {
    fc_str_t charset;          /* the name given; meaningful only when off is 0 */
    int off;                   /* 1: "charset off" or none given; FC_UNSET until merged */
    fc_str_t source_charset;   /* NULL data: unset */
    int override_charset;      /* a response's own charset is the source to convert from */
    fc_http_mime_list_t types; /* charset_types */
} charset_loc_conf_t;

/* Whether any level names a charset: without one the filter is not added. */
typedef struct {
    int used;
} charset_main_conf_t;

static void *charset_create_main_conf(fc_conf_t *cf);
static void *charset_create_loc_conf(fc_conf_t *cf);
static char *charset_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int charset_postconfiguration(fc_conf_t *cf);
static char *charset_set(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *charset_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/* nginx's default charset_types (text/html is always in). */
static const char *const charset_default_types[] = {
    "text/html",           "text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript",
    "application/rss+xml", NULL};

#define CHARSET_ANY (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)
#define CHARSET_FIELD(f) FC_CONF_LOC_OFFSET, offsetof(charset_loc_conf_t, f)

static const fc_command_t charset_commands[] = {
    {"charset", CHARSET_ANY | FC_HTTP_LIF_CONF | FC_CONF_TAKE1, charset_set, CHARSET_FIELD(charset),
     NULL},
    {"source_charset", CHARSET_ANY | FC_HTTP_LIF_CONF | FC_CONF_TAKE1, fc_conf_set_str_slot,
     CHARSET_FIELD(source_charset), NULL},
    {"override_charset", CHARSET_ANY | FC_HTTP_LIF_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot,
     CHARSET_FIELD(override_charset), NULL},
    {"charset_types", CHARSET_ANY | FC_CONF_1MORE, charset_types, CHARSET_FIELD(types), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t charset_ctx = {
    .postconfiguration = charset_postconfiguration,
    .create_main_conf = charset_create_main_conf,
    .create_loc_conf = charset_create_loc_conf,
    .merge_loc_conf = charset_merge_loc_conf,
};

fc_module_t fc_http_charset_module = {
    .name = "http_charset",
    .type = FC_HTTP_MODULE,
    .commands = charset_commands,
    .ctx = &charset_ctx,
};

static void *
charset_create_main_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(charset_main_conf_t));
}

static void *
charset_create_loc_conf(fc_conf_t *cf)
{
    charset_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(*conf));
    if (conf == NULL)
        return NULL;
    conf->off = FC_UNSET;
    conf->override_charset = FC_UNSET;
    return conf;
}

static char *
charset_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    charset_loc_conf_t *prev = parent, *conf = child;
    if (conf->off == FC_UNSET) {
        conf->off = prev->off == FC_UNSET ? 1 : prev->off;
        conf->charset = prev->charset;
    }
    fc_conf_merge_str(conf->source_charset, prev->source_charset, NULL);
    fc_conf_merge_value(conf->override_charset, prev->override_charset, 0);
    if (fc_http_mime_list_merge(cf, &conf->types, &prev->types, charset_default_types) != FC_OK)
        return FC_CONF_ERROR;
    /* As nginx: a conversion the config asks for needs a charset_map (not implemented). */
    if (!conf->off && conf->source_charset.len &&
        !fc_str_caseeq(&conf->source_charset, &conf->charset)) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "no \"charset_map\" between the charsets \"%.*s\" and \"%.*s\"",
                          (int) conf->source_charset.len, conf->source_charset.data,
                          (int) conf->charset.len, conf->charset.data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/* charset NAME | off */
static char *
charset_set(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    charset_loc_conf_t *clcf = conf;
    (void) cmd;
    if (clcf->off != FC_UNSET)
        return "is duplicate";
    fc_str_t *v = &fc_conf_args(cf)[1];
    clcf->off = fc_str_eq_c(v, "off");
    if (!clcf->off) {
        clcf->charset = *v;
        ((charset_main_conf_t *) fc_http_conf_get_main(cf, fc_http_charset_module))->used = 1;
    }
    return FC_CONF_OK;
}

static char *
charset_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_http_mime_list_add(cf, &((charset_loc_conf_t *) conf)->types, charset_default_types);
}

/* The charset parameter of a Content-Type ("" when none), without quotes. */
static fc_str_t
charset_of(const fc_str_t *ct, size_t type_len)
{
    fc_str_t cs = {0, NULL};
    if (type_len == ct->len)
        return cs;
    const unsigned char *p = ct->data + type_len, *end = ct->data + ct->len;
    while (p < end && (*p == ';' || *p == ' '))
        p++;
    p += 8; /* "charset=", found by fc_http_mime_type_len */
    const unsigned char *e = p;
    while (e < end && *e != ';' && *e != ' ')
        e++;
    if (e - p >= 2 && *p == '"' && e[-1] == '"') {
        p++;
        e--;
    }
    cs.data = (unsigned char *) p;
    cs.len = (size_t) (e - p);
    return cs;
}

/* Content-Type becomes "TYPE; charset=NAME". */
static int
charset_name_it(fc_http_request_t *r, size_t type_len, const fc_str_t *name)
{
    /* As nginx: not on a 301/302, which old browsers applied to the next page. */
    unsigned status = r->headers_out.status;
    if (status == FC_HTTP_MOVED_PERMANENTLY || status == FC_HTTP_MOVED_TEMPORARILY)
        return FC_OK;
    fc_str_t *ct = &r->headers_out.content_type;
    size_t len = type_len + sizeof("; charset=") - 1 + name->len;
    unsigned char *p = fc_pnalloc(r->pool, len);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, ct->data, type_len);
    memcpy(p + type_len, "; charset=", sizeof("; charset=") - 1);
    memcpy(p + len - name->len, name->data, name->len);
    ct->data = p;
    ct->len = len;
    return FC_OK;
}

static void
charset_no_map(fc_http_request_t *r, const fc_str_t *from, const fc_str_t *to)
{
    fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                 "no \"charset_map\" between the charsets \"%.*s\" and \"%.*s\"", (int) from->len,
                 from->data, (int) to->len, to->data);
}

static int
charset_header_filter(fc_http_request_t *r)
{
    charset_loc_conf_t *conf = fc_http_get_module_loc_conf(r, fc_http_charset_module);
    fc_str_t *ct = &r->headers_out.content_type;
    if (conf->off || ct->len == 0 || !fc_http_mime_list_has(&conf->types, ct))
        return fc_http_next_header_filter(r, &fc_http_charset_module);
    size_t type_len = fc_http_mime_type_len(ct);
    fc_str_t named = charset_of(ct, type_len);
    const fc_str_t *source = named.len ? &named : &conf->source_charset;
    if (named.len && !conf->override_charset) {
        /* as nginx: a response that names its charset keeps it, as written */
    } else if (source->len == 0 || fc_str_caseeq(source, &conf->charset)) {
        if (charset_name_it(r, type_len, &conf->charset) != FC_OK)
            return FC_ERROR;
    } else {
        charset_no_map(r, source, &conf->charset);
    }
    return fc_http_next_header_filter(r, &fc_http_charset_module);
}

static int
charset_postconfiguration(fc_conf_t *cf)
{
    charset_main_conf_t *mcf = fc_http_conf_get_main(cf, fc_http_charset_module);
    if (!mcf->used)
        return FC_OK; /* no charset named anywhere: responses pass untouched */
    return fc_http_add_filter(cf, &fc_http_charset_module, charset_header_filter, NULL);
}
