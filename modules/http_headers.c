/*
 * http_headers.c: `add_header NAME VALUE [always]` and `expires` (nginx's
 * ngx_http_headers_module), applied by a header filter. add_header lists
 * are inherited only by levels that have none of their own; without
 * `always` the fields are added to successful and redirect responses only.
 * `add_trailer` is refused: trailers are not sent.
 */
#include "http/http.h"

/* How `expires` sets the time. */
enum {
    HDR_EXPIRES_OFF = 0,
    HDR_EXPIRES_EPOCH,
    HDR_EXPIRES_MAX,
    HDR_EXPIRES_ACCESS,
    HDR_EXPIRES_MODIFIED,
    HDR_EXPIRES_DAILY
};

/* What a field does to the fields already in the response. */
enum { HDR_ADD = 0, HDR_ETAG, HDR_LAST_MODIFIED };

typedef struct {
    fc_str_t name;
    fc_cv_t value;
    unsigned kind; /* HDR_ADD, ... */
    unsigned always : 1;
} hdr_field_t;

typedef struct {
    fc_array_t *headers;  /* hdr_field_t; NULL: inherit */
    int expires;          /* HDR_EXPIRES_*, FC_UNSET */
    int64_t expires_time; /* seconds (daily: seconds after midnight) */
} hdr_loc_conf_t;

static void *hdr_create_loc_conf(fc_conf_t *cf);
static char *hdr_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int hdr_postconfiguration(fc_conf_t *cf);
static char *hdr_add_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *hdr_add_trailer(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *hdr_expires(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

#define HDR_CONF (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF | FC_HTTP_LIF_CONF)

static const fc_command_t hdr_commands[] = {
    {"add_header", HDR_CONF | FC_CONF_TAKE23, hdr_add_header, FC_CONF_LOC_OFFSET, 0, NULL},
    {"add_trailer", HDR_CONF | FC_CONF_TAKE23, hdr_add_trailer, FC_CONF_LOC_OFFSET, 0, NULL},
    {"expires", HDR_CONF | FC_CONF_TAKE12, hdr_expires, FC_CONF_LOC_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t hdr_ctx_ops = {
    .postconfiguration = hdr_postconfiguration,
    .create_loc_conf = hdr_create_loc_conf,
    .merge_loc_conf = hdr_merge_loc_conf,
};

fc_module_t fc_http_headers_module = {
    .name = "http_headers",
    .type = FC_HTTP_MODULE,
    .commands = hdr_commands,
    .ctx = &hdr_ctx_ops,
};

static void *
hdr_create_loc_conf(fc_conf_t *cf)
{
    hdr_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(hdr_loc_conf_t));
    if (conf == NULL)
        return NULL;
    conf->expires = FC_UNSET;
    return conf;
}

static char *
hdr_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    hdr_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    if (conf->headers == NULL)
        conf->headers = prev->headers;
    if (conf->expires == FC_UNSET) {
        conf->expires = prev->expires == FC_UNSET ? HDR_EXPIRES_OFF : prev->expires;
        conf->expires_time = prev->expires_time;
    }
    return FC_CONF_OK;
}

/* ---- directives ------------------------------------------------------------------ */

static char *
hdr_add_header(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    hdr_loc_conf_t *hlcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (fc_conf_nargs(cf) == 4 && !fc_str_eq_c(&args[3], "always")) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[3].len,
                          args[3].data);
        return FC_CONF_ERROR;
    }
    if (hlcf->headers == NULL &&
        (hlcf->headers = fc_array_create(cf->pool, 4, sizeof(hdr_field_t))) == NULL)
        return FC_CONF_ERROR;
    hdr_field_t *h = fc_array_push(hlcf->headers);
    if (h == NULL)
        return FC_CONF_ERROR;
    h->name = args[1];
    h->always = fc_conf_nargs(cf) == 4;
    static const fc_str_t last_modified = fc_string("Last-Modified"), etag = fc_string("ETag");
    if (fc_str_caseeq(&h->name, &last_modified))
        h->kind = HDR_LAST_MODIFIED;
    else if (fc_str_caseeq(&h->name, &etag))
        h->kind = HDR_ETAG;
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    if (fc_cv_compile(cf, &cmcf->vars, &args[2], &h->value) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

static char *
hdr_add_trailer(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cf;
    (void) cmd;
    (void) conf;
    return "is not supported: response trailers are not implemented";
}

/* Parses the time of `expires` ("1h", "-1d", "@15h30m") into hlcf. */
static char *
hdr_expires_time(hdr_loc_conf_t *hlcf, const fc_str_t *arg)
{
    fc_str_t v = *arg;
    int minus = 0;
    if (v.len && v.data[0] == '@') {
        if (hlcf->expires == HDR_EXPIRES_MODIFIED)
            return "daily time cannot be used with \"modified\" parameter";
        hlcf->expires = HDR_EXPIRES_DAILY;
        v.data++;
        v.len--;
    } else if (v.len && (v.data[0] == '+' || v.data[0] == '-')) {
        minus = v.data[0] == '-';
        v.data++;
        v.len--;
    }
    int64_t ms = fc_parse_time(&v, 1000);
    if (ms == FC_ERROR)
        return "invalid value";
    hlcf->expires_time = ms / 1000;
    if (hlcf->expires == HDR_EXPIRES_DAILY && hlcf->expires_time > 24 * 60 * 60)
        return "daily time value must be less than 24 hours";
    if (minus)
        hlcf->expires_time = -hlcf->expires_time;
    return FC_CONF_OK;
}

static char *
hdr_expires(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    hdr_loc_conf_t *hlcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (hlcf->expires != FC_UNSET)
        return "is duplicate";
    hlcf->expires = HDR_EXPIRES_ACCESS;
    hlcf->expires_time = 0;
    fc_str_t *v = &args[1];
    if (fc_conf_nargs(cf) == 3) {
        if (!fc_str_eq_c(&args[1], "modified"))
            return "invalid value";
        hlcf->expires = HDR_EXPIRES_MODIFIED;
        v = &args[2];
    } else if (fc_str_eq_c(v, "epoch")) {
        hlcf->expires = HDR_EXPIRES_EPOCH;
        return FC_CONF_OK;
    } else if (fc_str_eq_c(v, "max")) {
        hlcf->expires = HDR_EXPIRES_MAX;
        return FC_CONF_OK;
    } else if (fc_str_eq_c(v, "off")) {
        hlcf->expires = HDR_EXPIRES_OFF;
        return FC_CONF_OK;
    }
    if (memchr(v->data, '$', v->len))
        return "with variables is not supported";
    return hdr_expires_time(hlcf, v);
}

/* ---- run time ------------------------------------------------------------------ */

/* "Thu, 01 Jan 1970 00:00:01 GMT" for t, in request memory. */
static int
hdr_http_time(fc_http_request_t *r, time_t t, fc_str_t *out)
{
    char *p = fc_pnalloc(r->pool, 64);
    size_t n = p ? fc_time_http(t, p, 64) : 0;
    if (n == 0)
        return FC_ERROR;
    out->data = (unsigned char *) p;
    out->len = n;
    return FC_OK;
}

/* The next moment (local time) that is `when` seconds after a midnight. */
static time_t
hdr_next_time(time_t now, int64_t when)
{
    struct tm tm;
    localtime_r(&now, &tm);
    tm.tm_hour = (int) (when / 3600);
    tm.tm_min = (int) (when / 60 % 60);
    tm.tm_sec = (int) (when % 60);
    tm.tm_isdst = -1;
    time_t next = mktime(&tm);
    if (next == (time_t) -1 || next > now)
        return next;
    tm.tm_mday++;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

/*
 * Removes the response's fields called `name`: all of them, or with `keep`
 * all but the first, which is returned (NULL: there was none).
 */
static fc_http_field_t *
hdr_strip(fc_http_request_t *r, const unsigned char *name, size_t len, int keep)
{
    fc_http_field_t *h = r->headers_out.headers.elts, *found = NULL;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (h[i].hash == 0 || h[i].name.len != len || fc_strncasecmp(h[i].name.data, name, len))
            continue;
        if (keep && found == NULL)
            found = &h[i];
        else
            h[i].hash = 0;
    }
    return found;
}

/* The response's field `name` to overwrite: the first one present, else a new one. */
static fc_http_field_t *
hdr_single_field(fc_http_request_t *r, const char *name, size_t len)
{
    fc_http_field_t *found = hdr_strip(r, (const unsigned char *) name, len, 1);
    return found ? found : fc_http_add_header_out(r, name, len, (const unsigned char *) "", 0);
}

/* Sets the Cache-Control value for `expires`. */
static int
hdr_cache_control(fc_http_request_t *r, fc_http_field_t *cc, int64_t conf_time, int64_t max_age)
{
    if (conf_time < 0 || max_age < 0) {
        fc_str_set(&cc->value, "no-cache");
        return FC_OK;
    }
    char *p = fc_pnalloc(r->pool, 32);
    if (p == NULL)
        return FC_ERROR;
    cc->value.len = (size_t) snprintf(p, 32, "max-age=%" PRId64, max_age);
    cc->value.data = (unsigned char *) p;
    return FC_OK;
}

/* Sets Expires and Cache-Control as the `expires` of the location says. */
static int
hdr_set_expires(fc_http_request_t *r, const hdr_loc_conf_t *hlcf)
{
    fc_http_field_t *e = hdr_single_field(r, "Expires", 7);
    fc_http_field_t *cc = e ? hdr_single_field(r, "Cache-Control", 13) : NULL;
    if (cc == NULL)
        return FC_ERROR;
    if (hlcf->expires == HDR_EXPIRES_EPOCH) {
        fc_str_set(&e->value, "Thu, 01 Jan 1970 00:00:01 GMT");
        fc_str_set(&cc->value, "no-cache");
        return FC_OK;
    }
    if (hlcf->expires == HDR_EXPIRES_MAX) {
        fc_str_set(&e->value, "Thu, 31 Dec 2037 23:55:55 GMT");
        fc_str_set(&cc->value, "max-age=315360000"); /* 10 years */
        return FC_OK;
    }
    time_t now = fc_time()->sec;
    int64_t when = hlcf->expires_time, max_age;
    if (when == 0 && hlcf->expires != HDR_EXPIRES_DAILY) {
        fc_str_set(&cc->value, "max-age=0");
        return hdr_http_time(r, now, &e->value);
    }
    if (hlcf->expires == HDR_EXPIRES_DAILY) {
        when = (int64_t) hdr_next_time(now, when);
        max_age = when - now;
    } else if (hlcf->expires == HDR_EXPIRES_ACCESS || r->headers_out.last_modified_time == -1) {
        max_age = when;
        when += now;
    } else {
        when += r->headers_out.last_modified_time;
        max_age = when - now;
    }
    if (hdr_http_time(r, (time_t) when, &e->value) != FC_OK)
        return FC_ERROR;
    return hdr_cache_control(r, cc, hlcf->expires_time, max_age);
}

static int
hdr_add_fields(fc_http_request_t *r, const fc_array_t *headers, int safe_status)
{
    const hdr_field_t *h = headers->elts;
    for (size_t i = 0; i < headers->nelts; i++) {
        if (!safe_status && !h[i].always)
            continue;
        fc_str_t value;
        if (fc_http_cv_eval(r, &h[i].value, &value) != FC_OK)
            return FC_ERROR;
        if (h[i].kind != HDR_ADD)
            hdr_strip(r, h[i].name.data, h[i].name.len, 0); /* the fields it replaces */
        if (h[i].kind == HDR_LAST_MODIFIED)
            r->headers_out.last_modified_time = -1; /* the field below replaces it */
        if (h[i].kind == HDR_ETAG)
            r->headers_out.etag = NULL;
        if (value.len == 0)
            continue;
        fc_http_field_t *f = fc_http_add_header_out(r, (const char *) h[i].name.data, h[i].name.len,
                                                    value.data, value.len);
        if (f == NULL)
            return FC_ERROR;
        /* As nginx: the response's ETag now, which gzip weakens and conditions compare. */
        if (h[i].kind == HDR_ETAG)
            r->headers_out.etag = f;
    }
    return FC_OK;
}

/* 1 for the statuses add_header without `always` applies to (nginx's list). */
static int
hdr_safe_status(unsigned status)
{
    static const unsigned safe[] = {200, 201, 204, 206, 301, 302, 303, 304, 307, 308};
    for (size_t i = 0; i < fc_nelems(safe); i++) {
        if (status == safe[i])
            return 1;
    }
    return 0;
}

static int
hdr_filter(fc_http_request_t *r)
{
    hdr_loc_conf_t *hlcf = fc_http_get_module_loc_conf(r, fc_http_headers_module);
    if (hlcf->headers == NULL && hlcf->expires == HDR_EXPIRES_OFF)
        return fc_http_next_header_filter(r, &fc_http_headers_module);
    int safe_status = hdr_safe_status(r->headers_out.status);
    if (hlcf->expires != HDR_EXPIRES_OFF && safe_status && hdr_set_expires(r, hlcf) != FC_OK)
        return FC_ERROR;
    if (hlcf->headers && hdr_add_fields(r, hlcf->headers, safe_status) != FC_OK)
        return FC_ERROR;
    return fc_http_next_header_filter(r, &fc_http_headers_module);
}

static int
hdr_postconfiguration(fc_conf_t *cf)
{
    return fc_http_add_filter(cf, &fc_http_headers_module, hdr_filter, NULL);
}
