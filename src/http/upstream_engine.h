/*
 * upstream_engine.h: what the files of the generic upstream engine
 * (src/http/upstream*.c) share. Nothing else includes it.
 *
 *   upstream.c           the trip: body, pick, connect, send, retry, finalize
 *   upstream_response.c  the response: head, headers_out, upgrade, body relay
 *   upstream_vars.c      $upstream_* variables
 */
#ifndef FC_HTTP_UPSTREAM_ENGINE_H
#define FC_HTTP_UPSTREAM_ENGINE_H

#include "http/upstream.h"
#include "event/io.h"

/* u->state_machine */
enum {
    FC_UP_INIT = 0, /* reading the client body */
    FC_UP_CONNECT,  /* connecting to the peer */
    FC_UP_HEADER,   /* sending the request, waiting for the response head */
    FC_UP_BODY,     /* relaying the response body */
    FC_UP_DONE      /* finished, or handed over to the tunnel */
};

/* The cache's hooks when the cache is involved in this trip (u->cache), else NULL. */
static inline const fc_http_upstream_cache_ops_t *
fc_http_upstream_cache(const fc_http_upstream_t *u)
{
    return u->cache ? fc_http_core_main(u->r)->upstream_cache : NULL;
}

/* upstream.c */

/*
 * 1 if proxy_next_upstream lets reason `ft` (FC_HTTP_UPSTREAM_FT_*) start
 * another try: the condition is on, a non-idempotent request that was sent
 * has non_idempotent, no streamed body byte went out and
 * proxy_next_upstream_timeout has not passed. Tries left are the pick's.
 */
int fc_http_upstream_may_retry(const fc_http_upstream_t *u, unsigned ft);
/* Gives up on the current try for reason `ft` (FC_HTTP_UPSTREAM_FT_*): next peer or an error. */
void fc_http_upstream_next(fc_http_upstream_t *u, unsigned ft);

/* upstream_response.c */

/* Reads and parses the response head, then acts on it. */
void fc_http_upstream_read_header(fc_http_upstream_t *u);
/* The upstream failed mid-body: flush what came to the client, then close it. */
void fc_http_upstream_body_fail(fc_http_upstream_t *u);
/* Moves response body bytes: upstream -> buffers -> client, as far as both sides allow. */
void fc_http_upstream_body_event(fc_http_upstream_t *u);

#endif
