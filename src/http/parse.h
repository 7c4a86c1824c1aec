/*
 * parse.h: the HTTP/1.x wire parser (RFC 9112): request line, status line,
 * field lines, body framing and the chunked decoder.
 *
 * The parser is pure: no allocation, no I/O, no globals (only read-only
 * tables). Request line, status line and header fields are parsed over a
 * buffer that the caller appends to; the buffer's start must not move between
 * calls, because every result is an offset (fc_http_span_t) from that start.
 * The caller passes the whole buffer and its current length each time; the
 * parser resumes where it stopped (p->pos) and never looks at a byte twice.
 * The chunked decoder, by contrast, takes each newly received slice of body
 * bytes on its own and reports spans relative to that slice.
 *
 * Return codes: FC_OK (an element is complete), FC_AGAIN (all bytes so far
 * are valid, need more), FC_DONE (end of the header section / of the body),
 * FC_ERROR (the message is invalid: ->status says what to answer and ->error
 * why; the connection must be closed). Feeding the same bytes in any split
 * gives the same results as feeding them at once.
 *
 * docs/internals/http-parser.md explains the states and every rejection.
 */
#ifndef FC_HTTP_PARSE_H
#define FC_HTTP_PARSE_H

#include "core/fc_core.h"

/* A piece of the caller's buffer: `len` bytes at offset `off` from its start. */
typedef struct {
    size_t off;
    size_t len;
} fc_http_span_t;

/* The counted string a span designates inside `buf` (no copy). */
static inline fc_str_t
fc_http_span_str(const unsigned char *buf, fc_http_span_t s)
{
    fc_str_t str = {s.len, (unsigned char *) buf + s.off};
    return str;
}

/* Known methods; any other token is allowed as FC_HTTP_METHOD_OTHER. */
enum {
    FC_HTTP_METHOD_OTHER = 0,
    FC_HTTP_METHOD_GET,
    FC_HTTP_METHOD_HEAD,
    FC_HTTP_METHOD_POST,
    FC_HTTP_METHOD_PUT,
    FC_HTTP_METHOD_DELETE,
    FC_HTTP_METHOD_OPTIONS,
    FC_HTTP_METHOD_PATCH,
    FC_HTTP_METHOD_TRACE,
    FC_HTTP_METHOD_CONNECT,
};

/* The four request-target forms of RFC 9112 section 3.2. */
enum {
    FC_HTTP_TARGET_ORIGIN = 1, /* /path?query */
    FC_HTTP_TARGET_ABSOLUTE,   /* http://host[:port]/path?query */
    FC_HTTP_TARGET_AUTHORITY,  /* host:port, CONNECT only */
    FC_HTTP_TARGET_ASTERISK,   /* *, OPTIONS only */
};

/* What the path needs before it can serve as $uri (fc_http_normalize_path). */
#define FC_HTTP_URI_QUOTED 0x01  /* has %XX escapes */
#define FC_HTTP_URI_DOTS 0x02    /* has a "." or ".." segment */
#define FC_HTTP_URI_DSLASH 0x04  /* has "//" */
#define FC_HTTP_URI_COMPLEX 0x08 /* any of the above: normalize before use */

/*
 * The resumable state of one request line, status line or header section.
 * Zero it with fc_http_parser_init(); the same parser goes on from the
 * request line to the header fields. Fields other than pos, status and error
 * are private.
 */
typedef struct {
    size_t pos;        /* offset of the next byte to examine */
    size_t mark[4];    /* private: offsets of the element being parsed */
    uint32_t hash;     /* private: running hash of a header name */
    uint16_t state;    /* private */
    uint16_t status;   /* on FC_ERROR: 400, 501 or 505 (502 for a status line) */
    const char *error; /* on FC_ERROR: a static description for the log */
} fc_http_parser_t;

/* The parts of a request line, as offsets into the caller's buffer. */
typedef struct {
    size_t start; /* offset of the method (after skipped empty lines) */
    size_t end;   /* offset just past the line's LF */
    fc_http_span_t method;
    fc_http_span_t target; /* the whole request-target, as received */
    fc_http_span_t scheme; /* absolute-form only */
    fc_http_span_t host;   /* absolute- and authority-form: host, [v6] kept bracketed */
    fc_http_span_t port;   /* absolute- and authority-form, may be empty */
    fc_http_span_t path;   /* origin- and absolute-form; empty in absolute-form means "/" */
    fc_http_span_t args;   /* after '?', without it; may be empty */
    unsigned method_id;    /* FC_HTTP_METHOD_* */
    unsigned form;         /* FC_HTTP_TARGET_* */
    unsigned uri_flags;    /* FC_HTTP_URI_* */
    unsigned has_args;     /* 1 if the target had a '?' */
    unsigned http_major;   /* always 1 */
    unsigned http_minor;   /* 0 or 1 (1.2..1.9 are accepted and reported as such) */
} fc_http_request_line_t;

/* One header (or trailer) field: name and trimmed value as offsets. */
typedef struct {
    fc_http_span_t name;
    fc_http_span_t value; /* leading and trailing SP/HTAB removed */
    uint32_t hash;        /* fc_http_header_hash() of the lowercased name */
} fc_http_header_t;

/* The parts of a response status line, as offsets into the caller's buffer. */
typedef struct {
    size_t start; /* offset of "HTTP/" */
    size_t end;   /* offset just past the line's LF */
    unsigned http_major;
    unsigned http_minor;
    unsigned status;       /* 100..599 */
    fc_http_span_t reason; /* may be empty */
} fc_http_status_line_t;

/* Starts a parser at offset `pos` of the caller's buffer (usually 0). */
void fc_http_parser_init(fc_http_parser_t *p, size_t pos);

/*
 * Parses a request line from buf[p->pos .. len). Empty lines before it are
 * skipped. FC_OK: `rl` is filled, p->pos == rl->end and the parser is ready
 * for fc_http_header_parse(). FC_AGAIN: need more bytes (the caller answers
 * 414 when p->pos - start outgrows its buffer). FC_ERROR: p->status is 400
 * or 505.
 */
int fc_http_request_line_parse(fc_http_parser_t *p, fc_http_request_line_t *rl,
                               const unsigned char *buf, size_t len);

/*
 * Parses one header field line from buf[p->pos .. len). FC_OK: `h` holds the
 * field and p->pos is past its line; call again for the next one. FC_DONE:
 * the empty line that ends the section was read, p->pos is the first body
 * byte. FC_AGAIN: need more bytes. FC_ERROR: p->status is 400. The bytes a
 * section took are p->pos minus where it started (for the 494/400 limit).
 */
int fc_http_header_parse(fc_http_parser_t *p, fc_http_header_t *h, const unsigned char *buf,
                         size_t len);

/*
 * Parses a response status line ("HTTP/1.x 200 OK", the reason may be empty
 * and "HTTP/1.1 200" without SP is tolerated). Same contract as the request
 * line; FC_ERROR sets p->status to 502. Headers follow through
 * fc_http_header_parse(), whose errors the upstream side also maps to 502.
 */
int fc_http_status_line_parse(fc_http_parser_t *p, fc_http_status_line_t *sl,
                              const unsigned char *buf, size_t len);

/* The hash fc_http_header_parse() gives a header name: h = h * 31 + lowercase(c). */
uint32_t fc_http_header_hash(const unsigned char *name, size_t len);

/*
 * Turns a request path (origin-form path, without the query) into $uri as
 * nginx does: decodes %XX (%00, a raw NUL and bad escapes are errors), resolves
 * "." and ".." segments (".." above the root is an error) and, when
 * merge_slashes is set, collapses runs of '/'. out->data must hold in->len
 * bytes; it may be in->data itself (in-place). FC_OK or FC_ERROR (answer 400).
 */
int fc_http_normalize_path(const fc_str_t *in, fc_str_t *out, int merge_slashes);

/*
 * 1 for a byte nginx escapes in a URI it puts in a request line or a
 * Location (NGX_ESCAPE_URI, as of 1.21.1): controls, space, DEL, non-ASCII,
 * and # % ? " < > \ ^ ` { | }.
 */
static inline int
fc_http_uri_escapes(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || memchr("#%?\"<>\\^`{|}", c, 12) != NULL;
}

/* ---- body framing (RFC 9112 section 6) --------------------------------- */

enum {
    FC_HTTP_BODY_NONE = 0, /* no body (request) / until close (response) */
    FC_HTTP_BODY_LENGTH,   /* Content-Length: length bytes */
    FC_HTTP_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
};

/* Collects Content-Length and Transfer-Encoding fields; fields are private. */
typedef struct {
    int64_t length;        /* result: for FC_HTTP_BODY_LENGTH */
    unsigned kind;         /* result: FC_HTTP_BODY_* */
    uint16_t status;       /* on FC_ERROR: 400 or 501 */
    const char *error;     /* on FC_ERROR: a static description */
    unsigned cl_count;     /* private: Content-Length fields seen */
    unsigned te_fields;    /* private: Transfer-Encoding fields seen */
    unsigned codings;      /* private: transfer codings in the list */
    unsigned chunked;      /* private: how many of them are "chunked" */
    unsigned unknown;      /* private: codings other than "chunked" */
    unsigned last_chunked; /* private: the last coding so far is "chunked" */
} fc_http_framing_t;

/* Resets a framing decision before the first field. */
void fc_http_framing_init(fc_http_framing_t *f);

/*
 * Feeds one header field, in order (other names are ignored). FC_OK, or
 * FC_ERROR (sticky) when the field alone already decides a 400.
 */
int fc_http_framing_add(fc_http_framing_t *f, const unsigned char *name, size_t name_len,
                        const unsigned char *value, size_t value_len);

/*
 * Decides the framing once all fields were added: FC_OK with f->kind and
 * f->length, or FC_ERROR with f->status 400 (CL with TE, several CLs, chunked
 * not final or twice, TE in HTTP/1.0) or 501 (a coding other than chunked).
 */
int fc_http_framing_finish(fc_http_framing_t *f, unsigned http_major, unsigned http_minor);

/* ---- chunked body (RFC 9112 section 7.1) -------------------------------- */

#define FC_HTTP_CHUNK_EXT_MAX 4096   /* bytes of chunk extensions on one size line */
#define FC_HTTP_TRAILER_MAX_DEF 8192 /* default bound of the trailer section */

/* The decoder's state; trailer_max may be changed after init. */
typedef struct {
    uint64_t size;      /* private: data bytes left in the current chunk */
    uint64_t total;     /* data bytes decoded so far (for client_max_body_size) */
    size_t ext;         /* private: chunk-ext bytes on the current size line */
    size_t trailer;     /* bytes of the trailer section so far */
    size_t trailer_max; /* a longer trailer section is an error */
    unsigned trailers;  /* trailer fields seen (validated, then skipped) */
    uint16_t state;     /* private */
    uint16_t fstate;    /* private: field-line state inside the trailers */
    uint16_t status;    /* on FC_ERROR: 400 */
    const char *error;  /* on FC_ERROR: a static description */
} fc_http_chunked_t;

/* Starts a decoder at the first byte of a chunked body. */
void fc_http_chunked_init(fc_http_chunked_t *c);

/*
 * Decodes in[0 .. len), a slice of body bytes that follows the previous one.
 * FC_OK: `data` is a span of chunk data inside `in` (not copied) and
 * *consumed the bytes used up to its end; call again with the rest. FC_AGAIN:
 * all len bytes were framing, *consumed == len. FC_DONE: the last chunk and
 * the trailer section ended; *consumed bytes belonged to the body, the rest
 * is the next message. FC_ERROR: c->status is 400.
 */
int fc_http_chunked_parse(fc_http_chunked_t *c, const unsigned char *in, size_t len,
                          size_t *consumed, fc_http_span_t *data);

/* ---- internal to src/http/parse*.c ------------------------------------- */

/* Byte classes of fc_http_parse_class[]. */
#define FC_HTTP_C_TOKEN 0x01  /* tchar (RFC 9110 section 5.6.2) */
#define FC_HTTP_C_FIELD 0x02  /* field-vchar: VCHAR and obs-text */
#define FC_HTTP_C_WS 0x04     /* SP, HTAB */
#define FC_HTTP_C_HEX 0x08    /* HEXDIG */
#define FC_HTTP_C_DIGIT 0x10  /* DIGIT */
#define FC_HTTP_C_TARGET 0x20 /* allowed in a request-target (nginx's set) */
#define FC_HTTP_C_VALUE 0x40  /* field-vchar, SP, HTAB: a byte inside a field value */

extern const uint8_t fc_http_parse_class[256];

/* Field-line automaton states and results, shared by headers and trailers. */
enum {
    FC_HTTP_F_START = 0, /* at the start of a line */
    FC_HTTP_F_START_CR,  /* CR of the empty line seen */
    FC_HTTP_F_NAME,
    FC_HTTP_F_OWS, /* after the colon */
    FC_HTTP_F_VALUE,
    FC_HTTP_F_VALUE_CR,
    FC_HTTP_F_FIELD, /* result: a field line ended (the LF was this byte) */
    FC_HTTP_F_EMPTY, /* result: the empty line ended (the LF was this byte) */
    FC_HTTP_F_ERROR, /* result: invalid byte; fc_http_parse_field_error() says why */
};

/*
 * One byte of a field line: returns the next state. `strict_crlf` rejects a
 * bare LF (chunked trailers); *why is set on FC_HTTP_F_ERROR.
 */
unsigned fc_http_parse_field_step(unsigned state, unsigned char c, int strict_crlf,
                                  const char **why);

/* Parses "HTTP/d.d" at p (8 bytes): FC_OK, FC_ERROR (malformed), FC_DECLINED (not 1.x). */
int fc_http_parse_version(const unsigned char *p, size_t n, unsigned *major, unsigned *minor);

#endif
