/*
 * ssl_preread_parse.c: the ClientHello reader behind ssl_preread; see
 * ssl_preread_parse.h for the contract. Every field is read through a
 * bounded cursor (tlsp_rd_t), so a length can only ever narrow the bytes
 * that follow it: no read can leave the buffer whatever the input says.
 */
#include "stream/ssl_preread_parse.h"

#define TLSP_RECORD_HANDSHAKE 0x16
#define TLSP_CLIENT_HELLO 1
#define TLSP_EXT_SERVER_NAME 0
#define TLSP_EXT_ALPN 16
#define TLSP_EXT_SUPPORTED_VERSIONS 43
#define TLSP_SNI_HOST_NAME 0

/* A bounded cursor: the bytes not read yet. */
typedef struct {
    unsigned char *p;
    size_t left;
} tlsp_rd_t;

static int
tlsp_u8(tlsp_rd_t *r, unsigned *v)
{
    if (r->left < 1)
        return 0;
    *v = r->p[0];
    r->p++;
    r->left--;
    return 1;
}

static int
tlsp_u16(tlsp_rd_t *r, unsigned *v)
{
    if (r->left < 2)
        return 0;
    *v = (unsigned) r->p[0] << 8 | r->p[1];
    r->p += 2;
    r->left -= 2;
    return 1;
}

static int
tlsp_u24(tlsp_rd_t *r, size_t *v)
{
    if (r->left < 3)
        return 0;
    *v = (size_t) r->p[0] << 16 | (size_t) r->p[1] << 8 | r->p[2];
    r->p += 3;
    r->left -= 3;
    return 1;
}

/* Takes the next n bytes as a cursor of their own (a length-prefixed field's body). */
static int
tlsp_sub(tlsp_rd_t *r, size_t n, tlsp_rd_t *sub)
{
    if (r->left < n)
        return 0;
    sub->p = r->p;
    sub->left = n;
    r->p += n;
    r->left -= n;
    return 1;
}

static int
tlsp_decline(fc_stream_tls_hello_t *h, const char *why)
{
    h->error = why;
    return FC_DECLINED;
}

/*
 * server_name (RFC 6066 3): a list holding exactly one host_name, as
 * OpenSSL insists, of 1..255 bytes with no NUL (OpenSSL refuses those too,
 * and a name that no backend would accept should not pick one).
 */
static int
tlsp_sni(tlsp_rd_t *ext, fc_stream_tls_hello_t *h)
{
    tlsp_rd_t name;
    unsigned list_len, type, name_len;
    if (!tlsp_u16(ext, &list_len) || list_len != ext->left || !tlsp_u8(ext, &type) ||
        !tlsp_u16(ext, &name_len) || !tlsp_sub(ext, name_len, &name) || ext->left != 0)
        return tlsp_decline(h, "SNI format error");
    if (type != TLSP_SNI_HOST_NAME)
        return tlsp_decline(h, "SNI hostname type is not DNS");
    if (name_len == 0 || name_len > FC_TLS_SNI_MAX || memchr(name.p, '\0', name_len))
        return tlsp_decline(h, "SNI hostname is invalid");
    h->server_name.data = name.p;
    h->server_name.len = name_len;
    return FC_OK;
}

/*
 * ALPN (RFC 7301 3.1): a non-empty list of non-empty names. The list is
 * rewritten in place in the scratch copy: each name's length byte after the
 * first becomes ',', which gives "h2,http/1.1" without another buffer.
 */
static int
tlsp_alpn(tlsp_rd_t *ext, fc_stream_tls_hello_t *h)
{
    unsigned list_len;
    if (!tlsp_u16(ext, &list_len) || list_len != ext->left || list_len < 2)
        return tlsp_decline(h, "ALPN format error");
    unsigned char *start = ext->p + 1;
    while (ext->left > 0) {
        unsigned char *len_byte = ext->p;
        unsigned n;
        tlsp_rd_t name;
        if (!tlsp_u8(ext, &n) || !tlsp_sub(ext, n, &name))
            return tlsp_decline(h, "ALPN format error");
        if (n == 0)
            return tlsp_decline(h, "ALPN empty protocol");
        if (len_byte != start - 1)
            *len_byte = ',';
    }
    h->alpn.data = start;
    h->alpn.len = list_len - 1;
    return FC_OK;
}

/*
 * supported_versions (RFC 8446 4.2.1): the highest 3.x entry wins. GREASE
 * values (0x?A?A) and drafts (0x7Fxx) have another major byte and are
 * skipped; with no 3.x entry at all the legacy version stays.
 */
static int
tlsp_versions(tlsp_rd_t *ext, fc_stream_tls_hello_t *h)
{
    unsigned list_len, best = 0;
    if (!tlsp_u8(ext, &list_len) || list_len != ext->left || list_len < 2 || list_len % 2)
        return tlsp_decline(h, "supported_versions format error");
    unsigned v;
    while (tlsp_u16(ext, &v)) { /* an even count: no byte is left over */
        if ((v >> 8) == 3 && v > best)
            best = v;
    }
    if (best)
        h->version = best;
    return FC_OK;
}

/* The extensions block: exactly its declared length, each of ours at most once. */
static int
tlsp_extensions(tlsp_rd_t *r, fc_stream_tls_hello_t *h)
{
    unsigned total, seen = 0;
    if (!tlsp_u16(r, &total) || total != r->left)
        return tlsp_decline(h, "extensions length mismatch");
    while (r->left > 0) {
        unsigned type, len;
        tlsp_rd_t ext;
        if (!tlsp_u16(r, &type) || !tlsp_u16(r, &len) || !tlsp_sub(r, len, &ext))
            return tlsp_decline(h, "extension format error");
        int (*handler)(tlsp_rd_t *, fc_stream_tls_hello_t *);
        unsigned bit;
        if (type == TLSP_EXT_SERVER_NAME) {
            handler = tlsp_sni;
            bit = 1;
        } else if (type == TLSP_EXT_ALPN) {
            handler = tlsp_alpn;
            bit = 2;
        } else if (type == TLSP_EXT_SUPPORTED_VERSIONS) {
            handler = tlsp_versions;
            bit = 4;
        } else {
            continue; /* not ours: its length was checked, that is all */
        }
        /* RFC 8446 4.2: an extension type appears at most once. */
        if (seen & bit)
            return tlsp_decline(h, "duplicate extension");
        seen |= bit;
        int rc = handler(&ext, h);
        if (rc != FC_OK)
            return rc;
    }
    return FC_OK;
}

/* The body of a ClientHello message (RFC 8446 4.1.2, RFC 5246 7.4.1.2). */
static int
tlsp_client_hello(tlsp_rd_t *r, fc_stream_tls_hello_t *h)
{
    unsigned major, minor, n;
    tlsp_rd_t skip;
    if (!tlsp_u8(r, &major) || !tlsp_u8(r, &minor) || major != 3)
        return tlsp_decline(h, "bad client_version");
    h->version = major << 8 | minor;
    if (!tlsp_sub(r, 32, &skip))
        return tlsp_decline(h, "truncated random");
    if (!tlsp_u8(r, &n) || n > 32 || !tlsp_sub(r, n, &skip))
        return tlsp_decline(h, "bad session_id");
    if (!tlsp_u16(r, &n) || n < 2 || n % 2 || !tlsp_sub(r, n, &skip))
        return tlsp_decline(h, "bad cipher_suites");
    if (!tlsp_u8(r, &n) || n < 1 || !tlsp_sub(r, n, &skip))
        return tlsp_decline(h, "bad compression_methods");
    if (r->left == 0)
        return FC_OK; /* no extensions: an old client, legal before TLS 1.3 */
    return tlsp_extensions(r, h);
}

/*
 * An SSLv2-framed ClientHello (a 2-byte header with the top bit set,
 * message type 1): nothing in it but the version, as nginx reports it.
 */
static int
tlsp_sslv2(const unsigned char *data, size_t len, fc_stream_tls_hello_t *h)
{
    if (len < 5)
        return FC_AGAIN;
    if (data[2] != TLSP_CLIENT_HELLO || (data[3] != 0 && data[3] != 3))
        return tlsp_decline(h, "not a handshake");
    h->version = (unsigned) data[3] << 8 | data[4];
    return FC_OK;
}

/*
 * Checks one record header at data[0..len) (len >= 1): FC_OK with the
 * payload length once the whole record is there, FC_AGAIN before, or
 * FC_DECLINED. Each byte is judged as soon as it arrives.
 */
static int
tlsp_record(const unsigned char *data, size_t len, size_t *payload, fc_stream_tls_hello_t *h)
{
    if (data[0] != TLSP_RECORD_HANDSHAKE)
        return tlsp_decline(h, "not a handshake");
    if (len >= 2 && data[1] != 3)
        return tlsp_decline(h, "unsupported SSL version");
    if (len < 5)
        return FC_AGAIN;
    size_t n = (size_t) data[3] << 8 | data[4];
    if (n == 0 || n > FC_TLS_RECORD_MAX)
        return tlsp_decline(h, "bad record length");
    if (len - 5 < n)
        return FC_AGAIN;
    *payload = n;
    return FC_OK;
}

int
fc_stream_tls_hello_parse(const unsigned char *data, size_t len, unsigned char *scratch,
                          size_t scratch_size, fc_stream_tls_hello_t *h)
{
    memset(h, 0, sizeof(*h));
    if (len == 0)
        return FC_AGAIN;
    if (scratch_size < len)
        return FC_ERROR;
    if (data[0] & 0x80)
        return tlsp_sslv2(data, len, h);
    size_t pos = 0, have = 0, need = 0; /* need: the whole message, once its header is in */
    while (pos < len) {
        size_t n;
        int rc = tlsp_record(data + pos, len - pos, &n, h);
        if (rc != FC_OK)
            return rc;
        /* Record headers out, handshake bytes joined: have + n <= pos + n <= len. */
        memcpy(scratch + have, data + pos + 5, n);
        have += n;
        pos += 5 + n;
        if (need == 0 && have >= 4) {
            if (scratch[0] != TLSP_CLIENT_HELLO)
                return tlsp_decline(h, "not a client hello");
            tlsp_rd_t hdr = {scratch + 1, 3};
            (void) tlsp_u24(&hdr, &need);
            need += 4;
        }
        if (need != 0 && have >= need) {
            tlsp_rd_t body = {scratch + 4, need - 4};
            return tlsp_client_hello(&body, h);
        }
    }
    return FC_AGAIN;
}

const char *
fc_stream_tls_version_name(unsigned version)
{
    switch (version) {
    case FC_TLS_VERSION_SSL2:
        return "SSLv2";
    case FC_TLS_VERSION_SSL3:
        return "SSLv3";
    case FC_TLS_VERSION_TLS1:
        return "TLSv1";
    case FC_TLS_VERSION_TLS1_1:
        return "TLSv1.1";
    case FC_TLS_VERSION_TLS1_2:
        return "TLSv1.2";
    case FC_TLS_VERSION_TLS1_3:
        return "TLSv1.3";
    default:
        return NULL;
    }
}
