/*
 * parse_chunked.c: the chunked transfer coding (RFC 9112 section 7.1).
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *
 * Unlike field lines of the header section, every line of a chunked body
 * must end in CRLF: a bare LF is an error here, as is anything between the
 * chunk data and its CRLF. Chunk extensions are checked against the grammar
 * and skipped; trailer fields are checked like header fields and skipped.
 */
#include "core/fc_core.h"
#include "http/parse.h"

#define CLS(c) fc_http_parse_class[(unsigned char) (c)]

enum {
    CH_SIZE_START = 0,
    CH_SIZE,
    CH_EXT_BWS,      /* BWS before ';' */
    CH_EXT_NAME_BWS, /* after ';' */
    CH_EXT_NAME,
    CH_EXT_NAME_END, /* BWS after a name: '=' or ';' may follow */
    CH_EXT_VAL_BWS,  /* after '=' */
    CH_EXT_VAL,
    CH_EXT_QVAL,
    CH_EXT_QVAL_ESC,
    CH_EXT_QVAL_END,
    CH_SIZE_CR,
    CH_DATA,
    CH_DATA_CR,
    CH_DATA_LF,
    CH_TRAILER,
    CH_DONE,
    CH_ERROR,
};

void
fc_http_chunked_init(fc_http_chunked_t *c)
{
    memset(c, 0, sizeof(*c));
    c->trailer_max = FC_HTTP_TRAILER_MAX_DEF;
}

static unsigned
ch_fail(fc_http_chunked_t *c, const char *why)
{
    c->status = 400;
    c->error = why;
    return CH_ERROR;
}

/* What may follow a size, an ext-name or an ext-val: ';', BWS, or the CR. */
static unsigned
ch_after(fc_http_chunked_t *c, unsigned char ch, int name)
{
    if (ch == ';')
        return CH_EXT_NAME_BWS;
    if (ch == '=' && name)
        return CH_EXT_VAL_BWS;
    if (CLS(ch) & FC_HTTP_C_WS)
        return name ? CH_EXT_NAME_END : CH_EXT_BWS;
    if (ch == '\r')
        return CH_SIZE_CR;
    if (ch == '\n')
        return ch_fail(c, "bare LF in chunked body");
    return ch_fail(c, c->state == CH_SIZE ? "invalid chunk size" : "invalid chunk extension");
}

static unsigned
ch_size(fc_http_chunked_t *c, unsigned char ch)
{
    unsigned v;

    if (!(CLS(ch) & FC_HTTP_C_HEX))
        return c->state == CH_SIZE ? ch_after(c, ch, 0) : ch_fail(c, "invalid chunk size");
    v = (CLS(ch) & FC_HTTP_C_DIGIT) ? (unsigned) (ch - '0')
                                    : (unsigned) (fc_tolower(ch) - 'a' + 10);
    if (c->size > (uint64_t) (INT64_MAX >> 4))
        return ch_fail(c, "chunk size overflows");
    c->size = c->size << 4 | v;
    return CH_SIZE;
}

/* The chunk-ext states: names and values are tokens or quoted-strings. */
static unsigned
ch_ext(fc_http_chunked_t *c, unsigned char ch)
{
    uint8_t cl = CLS(ch);

    if (++c->ext > FC_HTTP_CHUNK_EXT_MAX)
        return ch_fail(c, "chunk extensions too long");
    switch (c->state) {
    case CH_EXT_BWS:
        if (cl & FC_HTTP_C_WS)
            return CH_EXT_BWS;
        return ch == ';' ? CH_EXT_NAME_BWS : ch_fail(c, "invalid chunk extension");
    case CH_EXT_NAME_BWS:
    case CH_EXT_VAL_BWS:
        if (cl & FC_HTTP_C_WS)
            return c->state;
        if (cl & FC_HTTP_C_TOKEN)
            return c->state == CH_EXT_NAME_BWS ? CH_EXT_NAME : CH_EXT_VAL;
        if (ch == '"' && c->state == CH_EXT_VAL_BWS)
            return CH_EXT_QVAL;
        return ch_fail(c, "invalid chunk extension");
    case CH_EXT_NAME:
    case CH_EXT_VAL:
        if (cl & FC_HTTP_C_TOKEN)
            return c->state;
        return ch_after(c, ch, c->state == CH_EXT_NAME);
    case CH_EXT_NAME_END:
        if (ch == '\r')
            return ch_fail(c, "invalid chunk extension");
        return ch_after(c, ch, 1);
    case CH_EXT_QVAL:
        if (ch == '"' || ch == '\\')
            return ch == '"' ? CH_EXT_QVAL_END : CH_EXT_QVAL_ESC;
        return (cl & (FC_HTTP_C_FIELD | FC_HTTP_C_WS)) ? CH_EXT_QVAL
                                                       : ch_fail(c, "invalid chunk extension");
    case CH_EXT_QVAL_ESC:
        return (cl & (FC_HTTP_C_FIELD | FC_HTTP_C_WS)) ? CH_EXT_QVAL
                                                       : ch_fail(c, "invalid chunk extension");
    default: /* CH_EXT_QVAL_END */
        return ch_after(c, ch, 0);
    }
}

/* One trailer byte through the field automaton, CRLF required. */
static unsigned
ch_trailer(fc_http_chunked_t *c, unsigned char ch)
{
    const char *why = NULL;
    unsigned next;

    if (++c->trailer > c->trailer_max)
        return ch_fail(c, "trailer section too large");
    next = fc_http_parse_field_step(c->fstate, ch, 1, &why);
    if (next == FC_HTTP_F_ERROR)
        return ch_fail(c, why);
    if (next == FC_HTTP_F_EMPTY)
        return CH_DONE;
    if (next == FC_HTTP_F_FIELD) {
        c->trailers++;
        next = FC_HTTP_F_START;
    }
    c->fstate = (uint16_t) next;
    return CH_TRAILER;
}

/* One framing byte (never chunk data); returns the next state. */
static unsigned
ch_step(fc_http_chunked_t *c, unsigned char ch)
{
    switch (c->state) {
    case CH_SIZE_START:
    case CH_SIZE:
        return ch_size(c, ch);
    case CH_SIZE_CR:
        if (ch != '\n')
            return ch_fail(c, "bare CR in chunked body");
        c->ext = 0;
        c->fstate = FC_HTTP_F_START;
        return c->size == 0 ? CH_TRAILER : CH_DATA;
    case CH_DATA_CR:
        return ch == '\r' ? CH_DATA_LF : ch_fail(c, "no CRLF after chunk data");
    case CH_DATA_LF:
        return ch == '\n' ? CH_SIZE_START : ch_fail(c, "no CRLF after chunk data");
    case CH_TRAILER:
        return ch_trailer(c, ch);
    case CH_DONE:
    case CH_ERROR:
        return ch_fail(c, "chunked decoder used after its end");
    default:
        return ch_ext(c, ch);
    }
}

int
fc_http_chunked_parse(fc_http_chunked_t *c, const unsigned char *in, size_t len, size_t *consumed,
                      fc_http_span_t *data)
{
    size_t i = 0;

    data->off = 0;
    data->len = 0;
    if (c->state == CH_DONE || c->state == CH_ERROR) {
        *consumed = 0;
        return c->state == CH_DONE ? FC_DONE : FC_ERROR;
    }
    while (i < len) {
        unsigned next;

        if (c->state == CH_DATA) {
            size_t n = (uint64_t) (len - i) < c->size ? len - i : (size_t) c->size;
            data->off = i;
            data->len = n;
            c->size -= n;
            c->total += n;
            if (c->size == 0)
                c->state = CH_DATA_CR;
            *consumed = i + n;
            return FC_OK;
        }
        next = ch_step(c, in[i]);
        c->state = (uint16_t) next;
        if (next == CH_ERROR) {
            *consumed = i;
            return FC_ERROR;
        }
        i++;
        if (next == CH_DONE) {
            *consumed = i;
            return FC_DONE;
        }
    }
    *consumed = i;
    return FC_AGAIN;
}
