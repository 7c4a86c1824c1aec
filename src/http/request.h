/*
 * request.h: what the core files of the http layer (request.c, head.c,
 * phase.c, body.c, write.c, special.c) share and modules do not need.
 */
#ifndef FC_HTTP_REQUEST_H
#define FC_HTTP_REQUEST_H

#include "http/http.h"
#include "event/io.h"

/* A request with the parser state of its head; r is first so the two convert. */
typedef struct {
    fc_http_request_t r;
    fc_http_parser_t parser;
    fc_http_request_line_t rl;
    fc_http_framing_t framing;
    size_t line_start; /* offset of the header line being read */
    unsigned state;    /* 0: request line, 1: header fields */
    unsigned terminated; /* end by closing the connection */
    unsigned head_timer; /* client_header_timeout runs for this head */
    int term_status;     /* the status to log then */
} fc_http_request_impl_t;

/* head.c: parses what the head buffer holds. FC_DONE, FC_AGAIN, or a status (400, 501, 505). */
int fc_http_head_parse(fc_http_request_impl_t *ri);
/* head.c: sets $request and friends from a parsed request line (the buffer must not move). */
void fc_http_head_set_line(fc_http_request_impl_t *ri);
/* head.c: a failed head: the line, $uri and the fields so far, for the log. */
void fc_http_head_partial(fc_http_request_impl_t *ri);
/* head.c: the head is complete: validate, choose the server, run the phases. */
void fc_http_process_request(fc_http_request_t *r);

/*
 * vars.c: $http_NAME-style value: the fields of `headers` named NAME ('_'
 * matches '-', any case), several joined by ", " ("; " for Cookie).
 */
int fc_http_var_fields(fc_pool_t *pool, fc_var_value_t *v, const fc_array_t *headers,
                       const fc_str_t *name);

/* request.c: an event handler that does nothing (the request waits for something else). */
void fc_http_block_reading(fc_http_request_t *r);
/* head.c: r->exten from the last segment of r->uri. */
void fc_http_set_exten(fc_http_request_t *r);

/* request.c */
fc_worker_t *fc_http_worker(fc_http_request_t *r);
void fc_http_terminate_request(fc_http_request_t *r, int status);
/* Closes the connection (its log stops naming the request first). */
void fc_http_close_connection(fc_http_connection_t *hc);
/* Waits for a request head on a new connection (after the TLS handshake, if any). */
void fc_http_wait_request(fc_http_connection_t *hc);

/* ssl_conn.c: TLS on a `listen ... ssl` address. */
void fc_http_ssl_init_connection(fc_http_connection_t *hc);
/* Before the phases: 497 for plain HTTP, 495/496 when a required client certificate fails. */
int fc_http_ssl_check_request(fc_http_request_t *r);

/* phase.c: runs the LOG phase handlers once. */
void fc_http_log_request(fc_http_request_t *r);

/* header.c: the serialized response head (decides chunked/keep-alive); NULL on error. */
fc_chain_t *fc_http_header_serialize(fc_http_request_t *r);

/* special.c: answers a status with error_page or a default page; returns a finalize code. */
int fc_http_special_response(fc_http_request_t *r, int status);

/* body.c: FC_OK if the request body was entirely read or dropped, FC_AGAIN if bytes remain. */
int fc_http_body_pending(fc_http_request_t *r);
/* body.c: drops the rest of the body, then calls `then` (or terminates on error/timeout). */
void fc_http_discard_then(fc_http_request_t *r, fc_http_event_handler_pt then);

#endif
