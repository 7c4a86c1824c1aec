/*
 * ssl_preread_parse.h: reads a TLS ClientHello without terminating TLS, for
 * ssl_preread. Pure: no I/O, no allocation, no state between calls. The
 * bytes are the client's and untrusted, so every length is checked against
 * the one that encloses it and a malformed hello is refused rather than
 * guessed at.
 *
 * The caller hands over every byte the client has sent so far, always from
 * the first one (ssl_preread peeks at the socket, so nothing is consumed),
 * and learns whether a complete ClientHello is there, more bytes are
 * needed, or the bytes cannot be one. The hello may span several TCP
 * segments and several handshake records; a record is read only once it is
 * complete, as nginx does.
 */
#ifndef FC_SSL_PREREAD_PARSE_H
#define FC_SSL_PREREAD_PARSE_H

#include "core/fc_core.h"
#include "core/str.h"

/* The TLS version numbers as they travel (major << 8 | minor); SSLv2 is 0x0002. */
#define FC_TLS_VERSION_SSL2 0x0002u
#define FC_TLS_VERSION_SSL3 0x0300u
#define FC_TLS_VERSION_TLS1 0x0301u
#define FC_TLS_VERSION_TLS1_1 0x0302u
#define FC_TLS_VERSION_TLS1_2 0x0303u
#define FC_TLS_VERSION_TLS1_3 0x0304u

/* A TLS record's payload may not exceed 2^14 bytes (RFC 8446 5.1). */
#define FC_TLS_RECORD_MAX 16384
/* The longest server name OpenSSL accepts (TLSEXT_MAXLEN_host_name). */
#define FC_TLS_SNI_MAX 255

/* What a complete ClientHello said. Strings point into the caller's scratch buffer. */
typedef struct {
    fc_str_t server_name; /* the SNI host_name; len 0: none sent */
    fc_str_t alpn;        /* ALPN protocols joined by ',' ("h2,http/1.1"); len 0: none */
    unsigned version;     /* highest version offered (supported_versions, else legacy) */
    const char *error;    /* why FC_DECLINED: a short reason for a debug log */
} fc_stream_tls_hello_t;

/*
 * Looks for a ClientHello at the start of data[0..len). scratch (at least
 * len bytes, the caller's) receives the handshake bytes with the record
 * headers taken out; the result's strings point into it. Returns:
 *   FC_OK       a complete ClientHello; h is filled in
 *   FC_AGAIN    a well-formed beginning of one: call again with more bytes
 *   FC_DECLINED not a TLS handshake or not a valid ClientHello (h->error)
 *   FC_ERROR    scratch is smaller than len (the caller's mistake)
 * A first byte that cannot start a handshake record is FC_DECLINED at once.
 */
int fc_stream_tls_hello_parse(const unsigned char *data, size_t len, unsigned char *scratch,
                              size_t scratch_size, fc_stream_tls_hello_t *h);

/*
 * The name of a version as $ssl_preread_protocol shows it (OpenSSL's
 * SSL_get_version() spelling: "TLSv1", "TLSv1.2", ...), NULL for a version
 * without one.
 */
const char *fc_stream_tls_version_name(unsigned version);

#endif
