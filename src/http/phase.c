/*
 * phase.c: the phase engine. Modules' handlers run phase by phase; the core
 * owns FIND_CONFIG (location lookup and the checks nginx makes there) and
 * POST_REWRITE (a changed URI sends the request back to FIND_CONFIG, at most
 * FC_HTTP_MAX_URI_CHANGES times), and CONTENT starts the location's handler.
 */
#include "http/request.h"

/* FIND_CONFIG: the location, `internal`, and client_max_body_size against Content-Length. */
static int
phase_find_config(fc_http_request_t *r)
{
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    r->uri_changed = 0;
    r->valid_location = 1; /* until a rewrite ... break changes the URI under the location */
    r->loc_conf = cscf->ctx->loc_conf;
    int rc = fc_http_core_find_location(r);
    if (rc == FC_DONE)
        return r->headers_out.status ? (int) r->headers_out.status : FC_HTTP_MOVED_PERMANENTLY;
    if (rc == FC_ERROR)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (clcf->internal && !r->internal)
        return FC_HTTP_NOT_FOUND;
    /* As nginx, a body already being thrown away (this 413's error_page) is not checked again. */
    if (clcf->client_max_body_size && r->headers_in.content_length_n > 0 &&
        (uint64_t) r->headers_in.content_length_n > clcf->client_max_body_size &&
        !(r->request_body && r->request_body->discard)) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                     "client intended to send too large body: %" PRId64 " bytes",
                     r->headers_in.content_length_n);
        r->lingering_close = 1;
        r->expect_tested = 1; /* never invite a body we refuse */
        (void) fc_http_discard_request_body(r);
        return FC_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    return FC_OK;
}

static int
phase_post_rewrite(fc_http_request_t *r)
{
    if (!r->uri_changed)
        return FC_OK;
    if (--r->uri_changes == 0) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle while processing \"%.*s\"",
                     (int) r->uri.len, r->uri.data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->phase = FC_HTTP_FIND_CONFIG_PHASE;
    r->phase_handler = 0;
    return FC_DECLINED; /* the phase is set: go on from there */
}

static int
phase_content(fc_http_request_t *r)
{
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (clcf->handler) {
        int rc = clcf->handler(r);
        return rc == FC_DECLINED ? FC_OK : rc;
    }
    return FC_DECLINED; /* content-phase handlers of modules, then 404 */
}

/* Runs the module handlers of the current phase; returns like a handler would. */
static int
phase_run_handlers(fc_http_request_t *r)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    fc_array_t *a = &cmcf->phases[r->phase];
    while (r->phase_handler < a->nelts) {
        fc_http_handler_pt h = ((fc_http_handler_pt *) a->elts)[r->phase_handler];
        int rc = h(r);
        if (rc != FC_DECLINED)
            return rc;
        r->phase_handler++;
    }
    return FC_OK;
}

void
fc_http_core_run_phases(fc_http_request_t *r)
{
    while (r->phase < FC_HTTP_LOG_PHASE) {
        int rc;
        switch (r->phase) {
        case FC_HTTP_FIND_CONFIG_PHASE:
            rc = phase_find_config(r);
            break;
        case FC_HTTP_POST_REWRITE_PHASE:
            rc = phase_post_rewrite(r);
            if (rc == FC_DECLINED)
                continue;
            break;
        case FC_HTTP_CONTENT_PHASE:
            if (r->phase_handler == 0) {
                rc = phase_content(r);
                if (rc != FC_DECLINED) {
                    fc_http_finalize_request(r, rc);
                    return;
                }
            }
            rc = phase_run_handlers(r);
            if (rc == FC_OK) {
                /* Nobody serves this location (static files are not served). */
                rc = FC_HTTP_NOT_FOUND;
            }
            fc_http_finalize_request(r, rc);
            return;
        default:
            rc = phase_run_handlers(r);
            break;
        }
        if (rc == FC_OK) {
            r->phase++;
            r->phase_handler = 0;
            continue;
        }
        if (rc == FC_AGAIN || rc == FC_DONE)
            return;
        fc_http_finalize_request(r, rc == FC_ERROR ? FC_HTTP_INTERNAL_SERVER_ERROR : rc);
        return;
    }
}

/* Restarts the phases for a changed URI (error_page, try_files-like handlers). */
int
fc_http_internal_redirect(fc_http_request_t *r, const fc_str_t *uri, const fc_str_t *args)
{
    if (--r->uri_changes == 0) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle while internally redirecting to "
                     "\"%.*s\"",
                     (int) uri->len, uri->data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->uri = *uri;
    if (args)
        r->args = *args;
    else
        r->args.len = 0;
    fc_http_set_exten(r);
    memset(r->ctx, 0, fc_http_core_main(r)->nmodules * sizeof(void *));
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    r->loc_conf = cscf->ctx->loc_conf;
    r->internal = 1;
    r->phase = FC_HTTP_SERVER_REWRITE_PHASE;
    r->phase_handler = 0;
    fc_http_core_run_phases(r);
    return FC_DONE;
}

int
fc_http_named_location(fc_http_request_t *r, const fc_str_t *name)
{
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    void **loc_conf = fc_http_core_find_named(cscf, name);
    if (loc_conf == NULL) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0, "could not find named location \"%.*s\"",
                     (int) name->len, name->data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (--r->uri_changes == 0) {
        fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                     "rewrite or internal redirection cycle while redirect to named location "
                     "\"%.*s\"",
                     (int) name->len, name->data);
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    }
    memset(r->ctx, 0, fc_http_core_main(r)->nmodules * sizeof(void *));
    r->internal = 1;
    fc_http_update_location_config(r, loc_conf);
    r->phase = FC_HTTP_REWRITE_PHASE;
    r->phase_handler = 0;
    fc_http_core_run_phases(r);
    return FC_DONE;
}

void
fc_http_log_request(fc_http_request_t *r)
{
    if (r->logged)
        return;
    r->logged = 1;
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    fc_array_t *a = &cmcf->phases[FC_HTTP_LOG_PHASE];
    for (size_t i = 0; i < a->nelts; i++)
        ((fc_http_handler_pt *) a->elts)[i](r);
}
