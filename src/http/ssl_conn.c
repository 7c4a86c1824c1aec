/*
 * ssl_conn.c: the TLS side of an http connection on a `listen ... ssl`
 * address. The first byte decides, as nginx does: a TLS handshake record
 * starts the handshake (bounded by ssl_handshake_timeout), anything else is
 * plain HTTP that gets nginx's 497 page ("The plain HTTP request was sent to
 * HTTPS port") once its head is read. Client certificates are checked per
 * request, against the settings of the server the request is for.
 */
#include "http/request.h"
#include "http/http_conf.h"
#include "event/tls_conf.h"


static void http_ssl_handshake_event(fc_event_t *ev);

static fc_tls_srv_conf_t *
http_ssl_default(fc_http_connection_t *hc)
{
    return hc->default_server->ssl;
}

static void
http_ssl_handshaked(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    fc_event_del_timer(c->loop, c->read);
    c->read->ready = 1; /* the request may have come with the handshake's last flight */
    fc_http_wait_request(hc);
}

/* ssl_handshake_timeout ran out: nginx logs it at info and closes. */
static int
http_ssl_timed_out(fc_event_t *ev)
{
    if (!ev->timedout)
        return 0;
    fc_connection_t *c = ev->data;
    fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
    fc_http_close_connection(c->data);
    return 1;
}

static void
http_ssl_handshake_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (http_ssl_timed_out(ev))
        return;
    int rc = fc_tls_handshake(c);
    if (rc == FC_AGAIN)
        return;
    if (rc != FC_OK) {
        fc_http_close_connection(hc);
        return;
    }
    http_ssl_handshaked(hc);
}

/* The first byte: a TLS record (0x16) or an SSLv2-style hello (0x80) starts the handshake. */
static void
http_ssl_peek_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (http_ssl_timed_out(ev))
        return;
    unsigned char first;
    ssize_t n = recv(c->fd, &first, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->read->ready = 0;
        return;
    }
    if (n <= 0) {
        if (n < 0)
            fc_log_error(FC_LOG_INFO, c->log, errno, "recv() failed");
        fc_http_close_connection(hc);
        return;
    }
    if (first != 0x16 && first != 0x80) {
        hc->plain_http = 1;
        fc_event_del_timer(c->loop, c->read);
        fc_http_wait_request(hc);
        return;
    }
    if (fc_tls_conn_create(c, http_ssl_default(hc)->ctx, 1) != FC_OK) {
        fc_http_close_connection(hc);
        return;
    }
    c->read->handler = http_ssl_handshake_event;
    c->write->handler = http_ssl_handshake_event;
    http_ssl_handshake_event(c->read);
}

void
fc_http_ssl_init_connection(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    c->log->action = "SSL handshaking";
    c->read->handler = http_ssl_peek_event;
    c->write->handler = http_ssl_peek_event;
    fc_event_add_timer(c->loop, c->read, http_ssl_default(hc)->handshake_timeout);
    if (c->read->ready)
        http_ssl_peek_event(c->read);
}

int
fc_http_ssl_check_request(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    if (r->http_connection->plain_http) {
        fc_log_error(FC_LOG_INFO, c->log, 0, "client sent plain HTTP request to HTTPS port");
        return FC_HTTP_TO_HTTPS;
    }
    const fc_tls_srv_conf_t *ssl = fc_http_core_srv(r)->ssl;
    if (ssl == NULL)
        return FC_OK;
    /*
     * As nginx: with SNI naming one server, a Host naming another (or the
     * same server by another name) is 421 when that server verifies client
     * certificates; its CA list never saw this handshake.
     */
    const fc_str_t *sni = &r->http_connection->ssl_servername;
    if (sni->len && ssl->verify != FC_TLS_VERIFY_OFF &&
        !(sni->len == r->headers_in.server.len &&
          memcmp(sni->data, r->headers_in.server.data, sni->len) == 0)) {
        fc_log_error(FC_LOG_INFO, c->log, 0,
                     "client attempted to request the server name different from the one that "
                     "was negotiated");
        return FC_HTTP_MISDIRECTED_REQUEST;
    }
    switch (fc_tls_srv_verify_client(c, ssl)) {
    case FC_TLS_CERT_ERROR:
        return FC_HTTPS_CERT_ERROR;
    case FC_TLS_NO_CERT:
        return FC_HTTPS_NO_CERT;
    default:
        return FC_OK;
    }
}
