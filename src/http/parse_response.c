/*
 * parse_response.c: the status line of an upstream response (RFC 9112
 * section 4): HTTP-version SP 3DIGIT SP [reason-phrase] line-end. Like nginx,
 * "HTTP/1.1 200" without the SP before an empty reason is tolerated.
 */
#include "core/fc_core.h"
#include "http/parse.h"

#define CLS(c) fc_http_parse_class[(unsigned char) (c)]

enum {
    SL_VERSION = 0,
    SL_CODE,
    SL_CODE_END, /* after the third digit */
    SL_REASON,
    SL_CR,
    SL_DONE, /* result: the LF that ends the line */
    SL_ERROR,
};

static int
sl_fail(fc_http_parser_t *p, size_t i, const char *why)
{
    p->pos = i;
    p->state = SL_ERROR;
    p->status = 502;
    p->error = why;
    return FC_ERROR;
}

/*
 * One byte; returns the next state, SL_DONE or SL_ERROR (with *why). The
 * status code accumulates in p->hash; mark[0] is the line's start, mark[1]
 * the code's, mark[2] and mark[3] the reason's ends.
 */
static unsigned
sl_step(fc_http_parser_t *p, const unsigned char *buf, size_t i, const char **why)
{
    unsigned char c = buf[i];
    unsigned major, minor;

    switch (p->state) {
    case SL_VERSION:
        *why = "invalid HTTP version in status line";
        if (c != ' ')
            return (CLS(c) & FC_HTTP_C_FIELD) && i - p->mark[0] < 8 ? SL_VERSION : SL_ERROR;
        if (fc_http_parse_version(buf + p->mark[0], i - p->mark[0], &major, &minor) != FC_OK)
            return SL_ERROR;
        p->mark[1] = i + 1;
        p->hash = 0;
        return SL_CODE;
    case SL_CODE:
        *why = "invalid status code";
        if (!(CLS(c) & FC_HTTP_C_DIGIT))
            return SL_ERROR;
        p->hash = p->hash * 10 + (c - '0');
        if (i - p->mark[1] < 2)
            return SL_CODE;
        return p->hash >= 100 && p->hash <= 599 ? SL_CODE_END : SL_ERROR;
    case SL_CODE_END:
        p->mark[2] = p->mark[3] = i + (c == ' ');
        if (c == ' ')
            return SL_REASON;
        __attribute__((fallthrough)); /* "HTTP/1.1 200" and its line end */
    case SL_REASON:
        p->mark[3] = i;
        if (c == '\r' || c == '\n')
            return c == '\r' ? SL_CR : SL_DONE;
        *why = p->state == SL_REASON ? "invalid character in reason phrase" : "invalid status code";
        if (p->state == SL_REASON && (CLS(c) & (FC_HTTP_C_FIELD | FC_HTTP_C_WS)))
            return SL_REASON;
        return SL_ERROR;
    case SL_CR:
        *why = "bare CR in status line";
        return c == '\n' ? SL_DONE : SL_ERROR;
    default:
        *why = "status line parser used after an error";
        return SL_ERROR;
    }
}

/*
 * "HTTP/1.x DDD reason" CRLF whole in the buffer, checked in one pass: what
 * nearly every upstream sends. Returns the index of the LF, or 0 to leave the
 * line (cut, or anything less usual) to the automaton, which judges it.
 */
static size_t
sl_line_fast(fc_http_parser_t *p, const unsigned char *buf, size_t len)
{
    size_t s = p->pos, i = s + 13;
    unsigned major, minor;
    if (p->state != SL_VERSION || s != p->mark[0] || len < i || buf[s + 8] != ' ' ||
        buf[s + 12] != ' ' || fc_http_parse_version(buf + s, 8, &major, &minor) != FC_OK)
        return 0;
    unsigned code = 0;
    for (size_t k = s + 9; k < s + 12; k++) {
        if (!(CLS(buf[k]) & FC_HTTP_C_DIGIT))
            return 0;
        code = code * 10 + (unsigned) (buf[k] - '0');
    }
    if (code < 100 || code > 599)
        return 0;
    while (i < len && (CLS(buf[i]) & (FC_HTTP_C_FIELD | FC_HTTP_C_WS)))
        i++;
    if (len - i < 2 || buf[i] != '\r' || buf[i + 1] != '\n')
        return 0;
    p->hash = code;
    p->mark[1] = s + 9;
    p->mark[2] = s + 13;
    p->mark[3] = i;
    return i + 1;
}

/* The line ends with the LF at lf: fills sl from the marks. */
static int
sl_done(fc_http_parser_t *p, fc_http_status_line_t *sl, const unsigned char *buf, size_t lf)
{
    memset(sl, 0, sizeof(*sl));
    sl->start = p->mark[0];
    sl->end = lf + 1;
    sl->http_major = buf[p->mark[0] + 5] - '0';
    sl->http_minor = buf[p->mark[0] + 7] - '0';
    sl->status = p->hash;
    sl->reason.off = p->mark[2];
    sl->reason.len = p->mark[3] - p->mark[2];
    p->pos = lf + 1;
    p->state = FC_HTTP_F_START; /* ready for the header fields */
    return FC_OK;
}

int
fc_http_status_line_parse(fc_http_parser_t *p, fc_http_status_line_t *sl, const unsigned char *buf,
                          size_t len)
{
    const char *why = NULL;
    size_t i = sl_line_fast(p, buf, len);

    if (i != 0)
        return sl_done(p, sl, buf, i);
    for (i = p->pos; i < len; i++) {
        unsigned next = sl_step(p, buf, i, &why);

        if (next == SL_ERROR)
            return sl_fail(p, i, why);
        if (next == SL_DONE)
            return sl_done(p, sl, buf, i);
        p->state = (uint16_t) next;
    }
    p->pos = i;
    return FC_AGAIN;
}
