/*
 * parse.c: the parts of the HTTP/1.x parser that requests and responses share:
 * byte classes, the field-line automaton (headers and trailers), the version
 * token, and the body-framing decision (RFC 9112 sections 5, 6).
 */
#include "core/fc_core.h"
#include "http/parse.h"

#define T FC_HTTP_C_TOKEN
#define F FC_HTTP_C_FIELD
#define W FC_HTTP_C_WS
#define H FC_HTTP_C_HEX
#define D FC_HTTP_C_DIGIT
#define G FC_HTTP_C_TARGET
#define V FC_HTTP_C_VALUE

/*
 * tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
 * "_" / "`" / "|" / "~" / DIGIT / ALPHA; field-vchar = VCHAR / obs-text.
 * A request-target may hold any VCHAR but '#' (no fragment on the wire) and,
 * as nginx allows, obs-text.
 */
const uint8_t fc_http_parse_class[256] = {
    ['\t'] = W | V,
    [' '] = W | V,
    ['!'] = T | F | G | V,
    ['"'] = F | G | V,
    ['#'] = T | F | V,
    ['$'] = T | F | G | V,
    ['%'] = T | F | G | V,
    ['&'] = T | F | G | V,
    ['\''] = T | F | G | V,
    ['('] = F | G | V,
    [')'] = F | G | V,
    ['*'] = T | F | G | V,
    ['+'] = T | F | G | V,
    [','] = F | G | V,
    ['-'] = T | F | G | V,
    ['.'] = T | F | G | V,
    ['/'] = F | G | V,
    ['0' ... '9'] = T | F | G | H | D | V,
    [':' ... '@'] = F | G | V,
    ['A' ... 'F'] = T | F | G | H | V,
    ['G' ... 'Z'] = T | F | G | V,
    ['['] = F | G | V,
    ['\\'] = F | G | V,
    [']'] = F | G | V,
    ['^'] = T | F | G | V,
    ['_'] = T | F | G | V,
    ['`'] = T | F | G | V,
    ['a' ... 'f'] = T | F | G | H | V,
    ['g' ... 'z'] = T | F | G | V,
    ['{'] = F | G | V,
    ['|'] = T | F | G | V,
    ['}'] = F | G | V,
    ['~'] = T | F | G | V,
    [0x80 ... 0xff] = F | G | V,
};

#undef T
#undef F
#undef W
#undef H
#undef D
#undef G
#undef V

#define CLS(c) fc_http_parse_class[(unsigned char) (c)]

/* A tchar lower-cased (for the name hash), 0 for any other byte. */
/* clang-format off */
static const unsigned char hp_token_lower[256] = {
    ['!'] = '!', ['#'] = '#', ['$'] = '$', ['%'] = '%', ['&'] = '&', ['\''] = '\'',
    ['*'] = '*', ['+'] = '+', ['-'] = '-', ['.'] = '.', ['^'] = '^', ['_'] = '_',
    ['`'] = '`', ['|'] = '|', ['~'] = '~',
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
    ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n',
    ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u',
    ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',
    ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
    ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',
    ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
};
/* clang-format on */

void
fc_http_parser_init(fc_http_parser_t *p, size_t pos)
{
    memset(p, 0, sizeof(*p));
    p->pos = pos;
    p->mark[0] = pos; /* where a status line starts */
}

uint32_t
fc_http_header_hash(const unsigned char *name, size_t len)
{
    uint32_t h = 0;

    for (size_t i = 0; i < len; i++)
        h = h * 31 + fc_tolower(name[i]);
    return h;
}

/* The automaton of RFC 9112 section 5 (field-line) with section 2.2's rules. */
unsigned
fc_http_parse_field_step(unsigned state, unsigned char c, int strict_crlf, const char **why)
{
    uint8_t cl = CLS(c);

    switch (state) {
    case FC_HTTP_F_START:
        if (cl & FC_HTTP_C_TOKEN)
            return FC_HTTP_F_NAME;
        if (c == '\r')
            return FC_HTTP_F_START_CR;
        if (c == '\n' && !strict_crlf)
            return FC_HTTP_F_EMPTY;
        *why = (cl & FC_HTTP_C_WS) ? "obsolete line folding"
               : c == '\n'         ? "bare LF in chunked trailer"
                                   : "invalid character in header name";
        return FC_HTTP_F_ERROR;
    case FC_HTTP_F_START_CR:
    case FC_HTTP_F_VALUE_CR:
        if (c == '\n')
            return state == FC_HTTP_F_START_CR ? FC_HTTP_F_EMPTY : FC_HTTP_F_FIELD;
        *why = "bare CR in header";
        return FC_HTTP_F_ERROR;
    case FC_HTTP_F_NAME:
        if (cl & FC_HTTP_C_TOKEN)
            return FC_HTTP_F_NAME;
        if (c == ':')
            return FC_HTTP_F_OWS;
        *why = (cl & FC_HTTP_C_WS)        ? "whitespace before colon in header"
               : (c == '\r' || c == '\n') ? "header line without colon"
                                          : "invalid character in header name";
        return FC_HTTP_F_ERROR;
    case FC_HTTP_F_OWS:
    case FC_HTTP_F_VALUE:
        if (cl & FC_HTTP_C_FIELD)
            return FC_HTTP_F_VALUE;
        if (cl & FC_HTTP_C_WS)
            return state;
        if (c == '\r')
            return FC_HTTP_F_VALUE_CR;
        if (c == '\n' && !strict_crlf)
            return FC_HTTP_F_FIELD;
        *why = c == '\n' ? "bare LF in chunked trailer" : "invalid character in header value";
        return FC_HTTP_F_ERROR;
    default:
        *why = "header parser used after an error";
        return FC_HTTP_F_ERROR;
    }
}

/*
 * Records the offsets a transition of the field automaton marks: mark[0] and
 * mark[1] bound the name, mark[2] is the value's first byte and mark[3] the
 * line end (the value is trimmed back from it once the line is complete).
 */
static void
hp_mark(fc_http_parser_t *p, unsigned from, unsigned to, unsigned char c, size_t i)
{
    if (to == FC_HTTP_F_NAME) {
        if (from == FC_HTTP_F_START) {
            p->mark[0] = i;
            p->hash = 0;
        }
        p->hash = p->hash * 31 + fc_tolower(c);
    } else if (from == FC_HTTP_F_NAME) {
        p->mark[1] = i; /* the colon */
    } else if (from == FC_HTTP_F_OWS && to != FC_HTTP_F_OWS) {
        p->mark[2] = i;
        p->mark[3] = i; /* an empty value unless more follows */
    }
    if (from == FC_HTTP_F_VALUE && to != FC_HTTP_F_VALUE)
        p->mark[3] = i;
}

/*
 * The end of a run of name bytes (tchar) from i, adding them to *hash
 * lower-cased (h = h * 31 + c). Four bytes a step, the same sum expanded.
 */
static size_t
hp_name_span(const unsigned char *buf, size_t i, size_t len, uint32_t *hash)
{
    uint32_t h = *hash;
    unsigned char lc;
    while (len - i >= 4) {
        uint32_t a = hp_token_lower[buf[i]], b = hp_token_lower[buf[i + 1]],
                 c = hp_token_lower[buf[i + 2]], d = hp_token_lower[buf[i + 3]];
        if (a == 0 || b == 0 || c == 0 || d == 0)
            break;
        h = h * (31u * 31 * 31 * 31) + a * (31u * 31 * 31) + b * (31u * 31) + c * 31u + d;
        i += 4;
    }
    while (i < len && (lc = hp_token_lower[buf[i]]) != 0) {
        h = h * 31 + lc;
        i++;
    }
    *hash = h;
    return i;
}

/*
 * The end of a run of field-value bytes (HTAB, SP, VCHAR, obs-text) from i.
 * Eight bytes a step while none is a control byte or DEL; from the first one
 * (the CR that ends the line, or an HTAB) on, bytewise.
 */
static size_t
hp_value_span(const unsigned char *buf, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (len - i >= 8) {
        uint64_t x, del, m;
        memcpy(&x, buf + i, 8);
        del = x ^ (ones * 0x7f);
        m = (((x - ones * 0x20) & ~x) | ((del - ones) & ~del)) & high;
        if (m != 0) { /* some byte is < 0x20 or is 0x7f */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* the lowest flag marks the first such byte (borrows only run upwards) */
            i += (size_t) __builtin_ctzll(m) / 8;
#endif
            break;
        }
        i += 8;
    }
    while (i < len && (CLS(buf[i]) & FC_HTTP_C_VALUE))
        i++;
    return i;
}

/* Runs over name and value bytes without the automaton (they never change state). */
static size_t
hp_fast(fc_http_parser_t *p, const unsigned char *buf, size_t i, size_t len)
{
    if (p->state == FC_HTTP_F_NAME) {
        uint32_t h = p->hash; /* a local: buf may alias *p for the compiler */
        i = hp_name_span(buf, i, len, &h);
        p->hash = h;
    } else if (p->state == FC_HTTP_F_VALUE) {
        i = hp_value_span(buf, i, len);
    }
    return i;
}

/*
 * A whole field line already in the buffer, "name:OWS value OWS CRLF", read in
 * one pass (HP_FAST_FIELD), or the CRLF that ends the head (HP_FAST_END):
 * what nearly every line is. Anything else (a line cut by the end of the
 * buffer, a bare LF, a bad byte) returns HP_FAST_NO with nothing changed, and
 * the automaton reads the line byte by byte, errors included.
 */
enum { HP_FAST_NO, HP_FAST_FIELD, HP_FAST_END };

static int
hp_line_fast(fc_http_parser_t *p, fc_http_header_t *h, const unsigned char *buf, size_t len)
{
    size_t i = p->pos, name = i, colon, value, end;
    uint32_t hash = 0;

    if (len - i >= 2 && buf[i] == '\r' && buf[i + 1] == '\n') {
        p->pos = i + 2; /* the empty line: the head is complete */
        return HP_FAST_END;
    }
    i = hp_name_span(buf, i, len, &hash);
    if (i == name || i == len || buf[i] != ':')
        return HP_FAST_NO;
    colon = i++;
    while (i < len && (CLS(buf[i]) & FC_HTTP_C_WS))
        i++;
    value = i;
    i = hp_value_span(buf, i, len);
    if (len - i < 2 || buf[i] != '\r' || buf[i + 1] != '\n')
        return HP_FAST_NO;
    end = i;
    while (end > value && (CLS(buf[end - 1]) & FC_HTTP_C_WS))
        end--;
    h->name.off = name;
    h->name.len = colon - name;
    h->value.off = value;
    h->value.len = end - value;
    h->hash = hash;
    p->pos = i + 2;
    return HP_FAST_FIELD;
}

int
fc_http_header_parse(fc_http_parser_t *p, fc_http_header_t *h, const unsigned char *buf, size_t len)
{
    const char *why = NULL;
    size_t i = p->pos;

    if (p->state == FC_HTTP_F_START) {
        int rc = hp_line_fast(p, h, buf, len);
        if (rc != HP_FAST_NO)
            return rc == HP_FAST_FIELD ? FC_OK : FC_DONE;
    }
    while ((i = hp_fast(p, buf, i, len)) < len) {
        unsigned next = fc_http_parse_field_step(p->state, buf[i], 0, &why);

        if (next == FC_HTTP_F_ERROR) {
            p->pos = i;
            p->state = FC_HTTP_F_ERROR;
            p->status = 400;
            p->error = why;
            return FC_ERROR;
        }
        hp_mark(p, p->state, next, buf[i], i);
        i++;
        if (next == FC_HTTP_F_EMPTY || next == FC_HTTP_F_FIELD) {
            p->pos = i;
            p->state = FC_HTTP_F_START;
            if (next == FC_HTTP_F_EMPTY)
                return FC_DONE;
            h->name.off = p->mark[0];
            h->name.len = p->mark[1] - p->mark[0];
            while (p->mark[3] > p->mark[2] && (CLS(buf[p->mark[3] - 1]) & FC_HTTP_C_WS))
                p->mark[3]--; /* trailing OWS; the value starts with a field-vchar */
            h->value.off = p->mark[2];
            h->value.len = p->mark[3] - p->mark[2];
            h->hash = p->hash;
            return FC_OK;
        }
        p->state = (uint16_t) next;
    }
    p->pos = i;
    return FC_AGAIN;
}

int
fc_http_parse_version(const unsigned char *p, size_t n, unsigned *major, unsigned *minor)
{
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || !(CLS(p[5]) & FC_HTTP_C_DIGIT) || p[6] != '.' ||
        !(CLS(p[7]) & FC_HTTP_C_DIGIT))
        return FC_ERROR;
    *major = p[5] - '0';
    *minor = p[7] - '0';
    /* As nginx: a version below 1.0 is malformed (400), one above 1.x unsupported (505). */
    return *major == 1 ? FC_OK : *major == 0 ? FC_ERROR : FC_DECLINED;
}

/* ---- body framing ------------------------------------------------------- */

void
fc_http_framing_init(fc_http_framing_t *f)
{
    memset(f, 0, sizeof(*f));
}

static int
fr_fail(fc_http_framing_t *f, uint16_t status, const char *why)
{
    if (f->status == 0) {
        f->status = status;
        f->error = why;
    }
    return FC_ERROR;
}

/* 1 if the n bytes at s equal the lowercase literal lc, ignoring ASCII case. */
#define fr_caseeq(s, n, lc)                                                                        \
    ((n) == sizeof(lc) - 1 && fc_strn_caseeq((s), (const unsigned char *) (lc), (n)))

/* Content-Length = 1*DIGIT (RFC 9110 section 8.6); one field only. */
static int
fr_content_length(fc_http_framing_t *f, const unsigned char *v, size_t n)
{
    int64_t len = 0;

    if (++f->cl_count > 1)
        return fr_fail(f, 400, "duplicate Content-Length");
    if (n == 0)
        return fr_fail(f, 400, "empty Content-Length");
    for (size_t i = 0; i < n; i++) {
        if (!(CLS(v[i]) & FC_HTTP_C_DIGIT))
            return fr_fail(f, 400, "invalid Content-Length");
        if (len > (INT64_MAX - (v[i] - '0')) / 10)
            return fr_fail(f, 400, "Content-Length overflows");
        len = len * 10 + (v[i] - '0');
    }
    f->length = len;
    return FC_OK;
}

/* Transfer-Encoding = #transfer-coding; each element must be a bare token. */
static int
fr_transfer_encoding(fc_http_framing_t *f, const unsigned char *v, size_t n)
{
    size_t i = 0;

    f->te_fields++;
    while (i < n) {
        size_t s, e;

        while (i < n && (v[i] == ',' || (CLS(v[i]) & FC_HTTP_C_WS)))
            i++;
        if (i == n)
            break;
        for (s = i; i < n && v[i] != ','; i++) {
        }
        for (e = i; e > s && (CLS(v[e - 1]) & FC_HTTP_C_WS); e--) {
        }
        for (size_t k = s; k < e; k++)
            if (!(CLS(v[k]) & FC_HTTP_C_TOKEN))
                return fr_fail(f, 400, "invalid Transfer-Encoding");
        f->codings++;
        f->last_chunked = fr_caseeq(v + s, e - s, "chunked");
        if (f->last_chunked)
            f->chunked++;
        else
            f->unknown++;
    }
    return FC_OK;
}

int
fc_http_framing_add(fc_http_framing_t *f, const unsigned char *name, size_t name_len,
                    const unsigned char *value, size_t value_len)
{
    if (f->status != 0)
        return FC_ERROR;
    if (fr_caseeq(name, name_len, "content-length"))
        return fr_content_length(f, value, value_len);
    if (fr_caseeq(name, name_len, "transfer-encoding"))
        return fr_transfer_encoding(f, value, value_len);
    return FC_OK;
}

int
fc_http_framing_finish(fc_http_framing_t *f, unsigned http_major, unsigned http_minor)
{
    if (f->status != 0)
        return FC_ERROR;
    if (f->te_fields == 0) {
        f->kind = f->cl_count ? FC_HTTP_BODY_LENGTH : FC_HTTP_BODY_NONE;
        return FC_OK;
    }
    if (f->cl_count)
        return fr_fail(f, 400, "both Content-Length and Transfer-Encoding");
    if (http_major == 1 && http_minor == 0)
        return fr_fail(f, 400, "Transfer-Encoding in an HTTP/1.0 message");
    if (!f->last_chunked)
        return fr_fail(f, 400, "chunked is not the final transfer coding");
    if (f->chunked > 1)
        return fr_fail(f, 400, "chunked applied more than once");
    if (f->unknown)
        return fr_fail(f, 501, "unsupported transfer coding");
    f->kind = FC_HTTP_BODY_CHUNKED;
    f->length = -1;
    return FC_OK;
}
