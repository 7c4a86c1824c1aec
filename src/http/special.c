/*
 * special.c: answers that the server makes itself: error_page (a URI, a
 * named location or a redirect), else nginx's small HTML page for the status;
 * and that page as an output filter's answer (the 412 and 416 of
 * not_modified.c and range.c).
 * Errors that leave the request stream in doubt (400, 413, 414, 494, 500,
 * 501) close the connection after the answer, as nginx does.
 */
#include "http/request.h"

static int
special_keeps_alive(int status)
{
    switch (status) {
    case FC_HTTP_BAD_REQUEST:
    case FC_HTTP_REQUEST_ENTITY_TOO_LARGE:
    case FC_HTTP_REQUEST_URI_TOO_LARGE:
    case FC_HTTP_REQUEST_HEADER_TOO_LARGE:
    case FC_HTTP_TO_HTTPS:
    case FC_HTTPS_CERT_ERROR:
    case FC_HTTPS_NO_CERT:
    case FC_HTTP_INTERNAL_SERVER_ERROR:
    case FC_HTTP_NOT_IMPLEMENTED:
    case FC_HTTP_REQUEST_TIME_OUT:
        return 0;
    default:
        return 1;
    }
}

/* ---- error_page ------------------------------------------------------------- */

char *
fc_http_core_error_page(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    (void) cmd;
    if (clcf->error_pages == NULL) {
        clcf->error_pages = fc_array_create(cf->pool, 4, sizeof(fc_http_err_page_t));
        if (clcf->error_pages == NULL)
            return FC_CONF_ERROR;
    }
    size_t last = n - 1;
    int overwrite = 0;
    if (args[n - 2].len && args[n - 2].data[0] == '=') {
        last = n - 2;
        if (args[n - 2].len == 1) {
            overwrite = -1;
        } else {
            int64_t v = fc_atoi(args[n - 2].data + 1, args[n - 2].len - 1);
            if (v < 100 || v > 999)
                return "invalid value";
            overwrite = (int) v;
        }
    }
    if (last < 2)
        return "invalid number of arguments";
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_cv_t value;
    if (fc_cv_compile(cf, &cmcf->vars, &args[n - 1], &value) != FC_OK)
        return FC_CONF_ERROR;
    for (size_t i = 1; i < last; i++) {
        int64_t code = fc_atoi(args[i].data, args[i].len);
        if (code < 300 || code > 599 || code == 499) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "value \"%.*s\" must be between 300 and 599",
                              (int) args[i].len, args[i].data);
            return FC_CONF_ERROR;
        }
        fc_http_err_page_t *p = fc_array_push(clcf->error_pages);
        if (p == NULL)
            return FC_CONF_ERROR;
        p->status = (int) code;
        p->overwrite = overwrite;
        /* As nginx: nginx's own 494-497 are answered as 400 unless "=CODE" says otherwise. */
        if (overwrite == 0 && code >= FC_HTTP_REQUEST_HEADER_TOO_LARGE && code <= FC_HTTP_TO_HTTPS)
            p->overwrite = FC_HTTP_BAD_REQUEST;
        p->value = value;
    }
    return FC_CONF_OK;
}

static int
special_is_redirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Serves an error_page entry; FC_DECLINED when it cannot (the default page is sent). */
static int
special_error_page(fc_http_request_t *r, const fc_http_err_page_t *p, int status)
{
    fc_str_t uri;
    if (fc_http_cv_eval(r, &p->value, &uri) != FC_OK || uri.len == 0)
        return FC_DECLINED;
    r->error_page = 1;
    r->err_status = p->overwrite > 0 ? p->overwrite : p->overwrite == 0 ? status : 0;
    if (uri.data[0] == '@')
        return fc_http_named_location(r, &uri);
    if (uri.data[0] == '/') {
        /* As nginx: an unread body stays for the page's location (a proxy sends it on). */
        if (r->method != FC_HTTP_METHOD_HEAD) {
            r->method = FC_HTTP_METHOD_GET;
            r->method_name.data = (unsigned char *) "GET";
            r->method_name.len = 3;
        }
        fc_str_t args = {0, NULL}, path = uri;
        unsigned char *q = memchr(uri.data, '?', uri.len);
        if (q) {
            path.len = (size_t) (q - uri.data);
            args.data = q + 1;
            args.len = uri.len - path.len - 1;
        }
        fc_http_clear_headers_out(r);
        r->headers_out.content_type.len = 0;
        r->headers_out.content_length_n = -1;
        return fc_http_internal_redirect(r, &path, &args);
    }
    /* A URL: redirect the client there. */
    int code = special_is_redirect(p->overwrite) ? p->overwrite : FC_HTTP_MOVED_TEMPORARILY;
    r->err_status = 0;
    fc_http_clear_headers_out(r);
    if (fc_http_set_location(r, (unsigned) code, &uri) != code)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    return code;
}

/* nginx's 494-497: shown as 400 with their own text under the heading. */
static const char *
special_400_detail(int status)
{
    switch (status) {
    case FC_HTTP_REQUEST_HEADER_TOO_LARGE:
        return "Request Header Or Cookie Too Large";
    case FC_HTTPS_CERT_ERROR:
        return "The SSL certificate error";
    case FC_HTTPS_NO_CERT:
        return "No required SSL certificate was sent";
    case FC_HTTP_TO_HTTPS:
        return "The plain HTTP request was sent to HTTPS port";
    default:
        return NULL;
    }
}

/* The page's heading: nginx's pages name two codes unlike their status lines. */
static const char *
special_page_reason(unsigned status)
{
    switch (status) {
    case FC_HTTP_MOVED_TEMPORARILY:
        return "Found";
    case FC_HTTP_UNAUTHORIZED:
        return "Authorization Required";
    default:
        return fc_http_status_reason(status);
    }
}

unsigned
fc_http_error_page_text(fc_http_request_t *r, unsigned status, fc_str_t *body)
{
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    const char *detail = special_400_detail((int) status);
    unsigned shown = detail ? FC_HTTP_BAD_REQUEST : status;
    const char *reason = special_page_reason(shown);
    const char *title = detail ? detail : reason;
    const char *tail = clcf->server_tokens ? "fulcrum/" FC_VERSION : "fulcrum";
    size_t size = 256 + 3 * strlen(title);
    char *page = fc_pnalloc(r->pool, size);
    if (page == NULL)
        return 0;
    int n = snprintf(page, size,
                     "<html>\r\n<head><title>%u %s</title></head>\r\n<body>\r\n"
                     "<center><h1>%u %s</h1></center>\r\n%s%s%s<hr><center>%s</center>\r\n"
                     "</body>\r\n</html>\r\n",
                     shown, title, shown, reason, detail ? "<center>" : "", detail ? detail : "",
                     detail ? "</center>\r\n" : "", tail);
    body->data = (unsigned char *) page;
    body->len = (size_t) n;
    return shown;
}

fc_chain_t *
fc_http_status_page_set(fc_http_request_t *r, unsigned status)
{
    fc_str_t page;
    if (fc_http_error_page_text(r, status, &page) == 0)
        return NULL;
    fc_chain_t *cl = fc_chain_str(r->pool, page.data, page.len);
    if (cl == NULL)
        return NULL;
    cl->buf->last_buf = 1;
    fc_http_headers_out_t *h = &r->headers_out;
    h->status = status;
    h->status_line.len = 0;
    fc_str_set(&h->content_type, "text/html");
    h->content_length_n = (int64_t) page.len;
    h->last_modified_time = -1;
    if (h->etag) {
        h->etag->hash = 0;
        h->etag = NULL;
    }
    fc_http_clear_accept_ranges(r);
    return cl;
}

int
fc_http_status_page_send(fc_http_request_t *r, const fc_module_t *m, fc_chain_t **page,
                         fc_chain_t *in)
{
    for (fc_chain_t *cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last; /* the original body: consumed, never sent */
        cl->buf->file_pos = cl->buf->file_last;
    }
    fc_chain_t *out = *page;
    *page = NULL;
    return fc_http_next_body_filter(r, m, out);
}

/* The codes nginx has a built-in page for; any other is answered with an empty body. */
static int
special_has_page(int status)
{
    static const short pages[] = {301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406,
                                  408, 409, 410, 411, 412, 413, 414, 415, 416, 421, 429, 494,
                                  495, 496, 497, 500, 501, 502, 503, 504, 505, 507};
    for (size_t i = 0; i < fc_nelems(pages); i++)
        if (pages[i] == status)
            return 1;
    return 0;
}

static int
special_default_page(fc_http_request_t *r, int status)
{
    if (!special_is_redirect(status))
        fc_http_clear_headers_out(r);
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;
    if (!special_has_page(status))
        return fc_http_send_response(r, (unsigned) status, NULL, NULL);
    fc_str_t body;
    unsigned shown = fc_http_error_page_text(r, (unsigned) status, &body);
    if (shown == 0)
        return FC_ERROR;
    static const fc_str_t html = {9, (unsigned char *) "text/html"};
    r->err_status = (int) shown;
    return fc_http_send_response(r, (unsigned) status, &html, &body);
}

int
fc_http_special_response(fc_http_request_t *r, int status)
{
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (!special_keeps_alive(status)) {
        r->keepalive = 0;
        if (status != FC_HTTP_INTERNAL_SERVER_ERROR)
            r->lingering_close = 1;
    }
    if (clcf->error_pages && r->uri_changes > 1 &&
        (!r->error_page || clcf->recursive_error_pages)) {
        fc_http_err_page_t *p = clcf->error_pages->elts;
        for (size_t i = 0; i < clcf->error_pages->nelts; i++) {
            if (p[i].status != status)
                continue;
            int rc = special_error_page(r, &p[i], status);
            if (rc != FC_DECLINED)
                return rc;
            break;
        }
    }
    return special_default_page(r, status);
}
