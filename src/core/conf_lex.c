/*
 * conf_lex.c: nginx's config lexer. Words are separated by white space;
 * ";" ends a directive, "{" opens a block, "}" closes one; "#" starts a
 * comment at the start of a word; '...' and "..." quote, with \" \' \\ \t \r
 * \n escapes; "${name}" stays inside one word.
 */
#include "core/fc_core.h"
#include "core/conf.h"
#include "core/conf_lex.h"

static int
lex_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
lex_error(fc_conf_t *cf, unsigned line, const char *fmt, const char *what)
{
    cf->dir_line = line;
    cf->dir_file = (const char *) cf->file->name.data;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, fmt, what);
}

/* Copies a raw word into pool memory, resolving escapes when it was quoted/escaped. */
static int
lex_push_word(fc_conf_t *cf, const unsigned char *start, const unsigned char *end, int unescape)
{
    fc_str_t *w = fc_array_push(cf->args);
    if (w == NULL)
        return FC_ERROR;
    w->data = fc_pnalloc(cf->pool, (size_t) (end - start) + 1);
    if (w->data == NULL)
        return FC_ERROR;
    unsigned char *d = w->data;
    for (const unsigned char *s = start; s < end; s++) {
        if (unescape && *s == '\\' && s + 1 < end) {
            switch (s[1]) {
            case '"':
            case '\'':
            case '\\':
                *d++ = s[1];
                s++;
                continue;
            case 't':
                *d++ = '\t';
                s++;
                continue;
            case 'r':
                *d++ = '\r';
                s++;
                continue;
            case 'n':
                *d++ = '\n';
                s++;
                continue;
            default:
                break;
            }
        }
        *d++ = *s;
    }
    *d = '\0';
    w->len = (size_t) (d - w->data);
    return FC_OK;
}

/* Reads a quoted word starting after the opening quote; leaves pos after the close. */
static int
lex_quoted(fc_conf_t *cf, unsigned char quote)
{
    fc_conf_file_t *f = cf->file;
    unsigned start_line = f->line;
    const unsigned char *start = f->pos;
    while (f->pos < f->end) {
        unsigned char c = *f->pos++;
        if (c == '\n')
            f->line++;
        if (c == '\\' && f->pos < f->end) {
            if (*f->pos == '\n')
                f->line++;
            f->pos++;
            continue;
        }
        if (c == quote) {
            if (lex_push_word(cf, start, f->pos - 1, 1) != FC_OK)
                return FC_ERROR;
            /* As nginx, ")" may follow a quote: it starts the next word (if ($a = "b c")). */
            if (f->pos < f->end && !lex_is_space(*f->pos) && *f->pos != ';' && *f->pos != '{' &&
                *f->pos != '}' && *f->pos != ')') {
                char what[2] = {(char) *f->pos, '\0'};
                lex_error(cf, f->line, "unexpected \"%s\"", what);
                return FC_ERROR;
            }
            return FC_OK;
        }
    }
    lex_error(cf, start_line, "unexpected end of file, expecting %s", "closing quote");
    return FC_ERROR;
}

/*
 * Reads an unquoted word; stops before white space, ";" or "{". As in nginx,
 * "}" inside a word is an ordinary byte, and "{" right after "$" ("${name}")
 * does not open a block.
 */
static int
lex_word(fc_conf_t *cf)
{
    fc_conf_file_t *f = cf->file;
    const unsigned char *start = f->pos;
    int escaped = 0;
    while (f->pos < f->end) {
        unsigned char c = *f->pos;
        if (c == '\\' && f->pos + 1 < f->end) {
            escaped = 1;
            f->pos += 2;
            continue;
        }
        if (c == '{' && f->pos > start && f->pos[-1] == '$') {
            f->pos++;
            continue;
        }
        if (lex_is_space(c) || c == ';' || c == '{')
            break;
        f->pos++;
    }
    return lex_push_word(cf, start, f->pos, escaped);
}

int
fc_conf_read_token(fc_conf_t *cf)
{
    fc_conf_file_t *f = cf->file;
    cf->args->nelts = 0;
    cf->dir_file = (const char *) f->name.data;

    for (;;) {
        if (f->pos >= f->end) {
            if (cf->args->nelts > 0 && strcmp((const char *) f->name.data, "command line") == 0) {
                lex_error(cf, f->line, "unexpected end of parameter, expecting %s", "\";\"");
                return FC_CONF_TOKEN_ERROR;
            }
            if (cf->args->nelts > 0) {
                lex_error(cf, f->line, "unexpected end of file, expecting %s", "\";\" or \"}\"");
                return FC_CONF_TOKEN_ERROR;
            }
            cf->dir_line = f->line; /* "unexpected end of file" names the last line, as nginx */
            return FC_CONF_TOKEN_FILE_DONE;
        }
        unsigned char c = *f->pos;
        if (c == '\n') {
            f->line++;
            f->pos++;
            continue;
        }
        if (lex_is_space(c)) {
            f->pos++;
            continue;
        }
        if (cf->args->nelts == 0)
            cf->dir_line = f->line;
        if (c == '#') {
            while (f->pos < f->end && *f->pos != '\n')
                f->pos++;
            continue;
        }
        if (c == ';' || c == '{') {
            f->pos++;
            if (cf->args->nelts == 0) {
                lex_error(cf, f->line, "unexpected \"%s\"", c == ';' ? ";" : "{");
                return FC_CONF_TOKEN_ERROR;
            }
            return c == ';' ? FC_CONF_TOKEN_DIRECTIVE : FC_CONF_TOKEN_BLOCK_START;
        }
        if (c == '}') {
            if (cf->args->nelts > 0) {
                lex_error(cf, f->line, "unexpected \"%s\"", "}");
                return FC_CONF_TOKEN_ERROR;
            }
            f->pos++;
            return FC_CONF_TOKEN_BLOCK_DONE;
        }
        if (c == '"' || c == '\'') {
            f->pos++;
            if (lex_quoted(cf, c) != FC_OK)
                return FC_CONF_TOKEN_ERROR;
            continue;
        }
        if (lex_word(cf) != FC_OK)
            return FC_CONF_TOKEN_ERROR;
    }
}
