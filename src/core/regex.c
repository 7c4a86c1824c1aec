/* regex.c: a thin PCRE2 wrapper. */
#include "core/fc_core.h"
#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct fc_regex_s {
    pcre2_code *code;
    pcre2_match_data *md;
    int ncaptures;
};

static void
regex_free(void *data)
{
    fc_regex_t *re = data;
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
}

fc_regex_t *
fc_regex_compile(fc_pool_t *pool, const fc_str_t *pattern, int caseless, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile(pattern->data, pattern->len, caseless ? PCRE2_CASELESS : 0,
                                     &ec, &eo, NULL);
    if (code == NULL) {
        unsigned char msg[256];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        size_t at = fc_min(eo, pattern->len);
        /* nginx names the rest of the pattern only when the error is not at its end */
        if (at == pattern->len)
            snprintf(err, errlen, "pcre2_compile() failed: %s in \"%.*s\"", msg,
                     (int) pattern->len, pattern->data);
        else
            snprintf(err, errlen, "pcre2_compile() failed: %s in \"%.*s\" at \"%.*s\"", msg,
                     (int) pattern->len, pattern->data, (int) (pattern->len - at),
                     pattern->data + at);
        return NULL;
    }
#ifdef FC_HAVE_PCRE2_JIT
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back to the interpreter on failure */
#endif
    fc_pool_cleanup_t *cln = fc_pool_cleanup_add(pool, sizeof(fc_regex_t));
    if (cln == NULL) {
        pcre2_code_free(code);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    fc_regex_t *re = cln->data;
    re->code = code;
    re->md = pcre2_match_data_create_from_pattern(code, NULL);
    uint32_t n = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
    re->ncaptures = (int) n;
    cln->handler = regex_free;
    if (re->md == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return re;
}

int
fc_regex_exec(fc_regex_t *re, const fc_str_t *subject, fc_captures_t *caps)
{
    int rc = pcre2_match(re->code, subject->data, subject->len, 0, 0, re->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH)
        return FC_DECLINED;
    if (rc < 0)
        return FC_ERROR;
    if (caps) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
        int pairs = fc_min(rc == 0 ? FC_REGEX_MAX_CAPTURES : rc, FC_REGEX_MAX_CAPTURES);
        caps->subject = subject->data;
        caps->n = pairs;
        for (int i = 0; i < 2 * pairs; i++)
            caps->ovector[i] = ov[i];
    }
    return FC_OK;
}

int
fc_regex_captures(const fc_regex_t *re)
{
    return re->ncaptures;
}

const unsigned char *
fc_regex_name_table(const fc_regex_t *re, uint32_t *count, uint32_t *entry_size)
{
    PCRE2_SPTR table = NULL;
    *count = *entry_size = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, count);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, entry_size);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    return table;
}

fc_str_t
fc_captures_get(const fc_captures_t *caps, int i)
{
    fc_str_t s = fc_null_string;
    if (caps == NULL || i >= caps->n || caps->ovector[2 * i] == PCRE2_UNSET)
        return s;
    s.data = (unsigned char *) caps->subject + caps->ovector[2 * i];
    s.len = caps->ovector[2 * i + 1] - caps->ovector[2 * i];
    return s;
}
