/*
 * proxy_rewrite.c: proxy_redirect at run time, on the upstream's Location
 * and on the URL of its Refresh. Rules are tried in order and the first that
 * matches wins: "default" (the proxy_pass URL -> the location), a prefix
 * (may have variables, compared in any case) or a regex ("~", "~*") whose
 * replacement may use its captures.
 */
#include "proxy.h"

/* A regex rule: the value from `prefix` on is replaced by the evaluated replacement. */
static int
proxy_redirect_regex(fc_http_request_t *r, const proxy_redirect_t *pr, const fc_str_t *value,
                     size_t prefix, fc_str_t *out)
{
    fc_str_t subject = {value->len - prefix, value->data + prefix};
    fc_captures_t caps;
    int rc = fc_regex_exec(pr->regex, &subject, &caps);
    if (rc != FC_OK)
        return rc == FC_DECLINED ? FC_DECLINED : FC_ERROR;
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    fc_str_t to;
    if (fc_cv_eval(&pr->to, &cmcf->vars, r->variables, r, r->pool, &caps, &to) != FC_OK)
        return FC_ERROR;
    fc_str_t head = {prefix, value->data};
    static const fc_str_t empty = fc_null_string;
    return proxy_redirect_prefix(r->pool, &head, prefix, &empty, &to, out) == FC_OK ? FC_OK
                                                                                    : FC_ERROR;
}

int
proxy_rewrite_redirect(fc_http_upstream_t *u, fc_http_field_t *h, size_t prefix)
{
    fc_http_request_t *r = u->r;
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    if (plcf->redirects == NULL || plcf->redirects == FC_UNSET_PTR)
        return FC_DECLINED;
    const proxy_redirect_t *pr = plcf->redirects->elts;
    for (size_t i = 0; i < plcf->redirects->nelts; i++) {
        fc_str_t from, to, out;
        int rc;
        switch (pr[i].type) {
        case PROXY_REDIRECT_DEFAULT:
            if (plcf->url_cv || plcf->redirect_from.len == 0)
                continue; /* nothing to derive it from */
            rc = proxy_redirect_prefix(r->pool, &h->value, prefix, &plcf->redirect_from,
                                       &plcf->redirect_to, &out);
            break;
        case PROXY_REDIRECT_REGEX:
            rc = proxy_redirect_regex(r, &pr[i], &h->value, prefix, &out);
            break;
        default:
            if (fc_http_cv_eval(r, &pr[i].from, &from) != FC_OK ||
                fc_http_cv_eval(r, &pr[i].to, &to) != FC_OK)
                return FC_ERROR;
            rc = proxy_redirect_prefix(r->pool, &h->value, prefix, &from, &to, &out);
            break;
        }
        if (rc == FC_DECLINED)
            continue;
        if (rc != FC_OK)
            return FC_ERROR;
        h->value = out;
        return FC_OK;
    }
    return FC_DECLINED;
}

/* ---- proxy_cookie_domain / proxy_cookie_path ------------------------------------------------ */

/*
 * One attribute value against the rules, the first match wins. A domain
 * matches whole and in any case, after its leading "." (kept); a path by
 * prefix. NULL out: no rule matched.
 */
static int
proxy_cookie_value(fc_http_request_t *r, const fc_array_t *rules, int domain, fc_str_t *value,
                   fc_str_t *out)
{
    const proxy_redirect_t *pr = rules->elts;
    size_t skip = domain && value->len && value->data[0] == '.' ? 1 : 0;
    for (size_t i = 0; i < rules->nelts; i++) {
        int rc;
        if (pr[i].type == PROXY_REDIRECT_REGEX) {
            rc = proxy_redirect_regex(r, &pr[i], value, skip, out);
        } else {
            fc_str_t from, to;
            if (fc_http_cv_eval(r, &pr[i].from, &from) != FC_OK)
                return FC_ERROR;
            if (domain ? !(value->len - skip == from.len &&
                           fc_strn_caseeq(value->data + skip, from.data, from.len))
                       : value->len < from.len || memcmp(value->data, from.data, from.len) != 0)
                continue;
            if (fc_http_cv_eval(r, &pr[i].to, &to) != FC_OK)
                return FC_ERROR;
            rc = proxy_redirect_prefix(r->pool, value, skip, &from, &to, out);
        }
        if (rc != FC_DECLINED)
            return rc;
    }
    return FC_DECLINED;
}

/* The span of the value of attribute NAME ("domain", "path") in a Set-Cookie, or 0 length. */
static int
proxy_cookie_attr(const fc_str_t *v, const char *name, size_t *from, size_t *to)
{
    size_t n = strlen(name), i = 0;
    /* the first ";" ends NAME=VALUE; attributes follow, each after a ";" */
    while (i < v->len && v->data[i] != ';')
        i++;
    while (i < v->len) {
        i++; /* the ";" */
        while (i < v->len && (v->data[i] == ' ' || v->data[i] == '\t'))
            i++;
        size_t start = i;
        while (i < v->len && v->data[i] != ';')
            i++;
        if (i - start > n && v->data[start + n] == '=' &&
            fc_strn_caseeq(v->data + start, (const unsigned char *) name, n)) {
            *from = start + n + 1;
            *to = i;
            while (*to > *from && (v->data[*to - 1] == ' ' || v->data[*to - 1] == '\t'))
                (*to)--;
            return 1;
        }
    }
    return 0;
}

/* Replaces [from, to) of the field's value with rep. */
static int
proxy_cookie_splice(fc_pool_t *pool, fc_http_field_t *h, size_t from, size_t to,
                    const fc_str_t *rep)
{
    size_t len = h->value.len - (to - from) + rep->len;
    unsigned char *p = fc_pnalloc(pool, len ? len : 1);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, h->value.data, from);
    memcpy(p + from, rep->data, rep->len);
    memcpy(p + from + rep->len, h->value.data + to, h->value.len - to);
    h->value.data = p;
    h->value.len = len;
    return FC_OK;
}

int
proxy_rewrite_cookie(fc_http_upstream_t *u, fc_http_field_t *h)
{
    fc_http_request_t *r = u->r;
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    const fc_array_t *sets[2] = {plcf->cookie_domains, plcf->cookie_paths};
    static const char *const names[2] = {"domain", "path"};
    for (int k = 0; k < 2; k++) {
        size_t from, to;
        if (sets[k] == NULL || sets[k]->nelts == 0 ||
            !proxy_cookie_attr(&h->value, names[k], &from, &to))
            continue;
        fc_str_t value = {to - from, h->value.data + from}, out;
        int rc = proxy_cookie_value(r, sets[k], k == 0, &value, &out);
        if (rc == FC_ERROR ||
            (rc == FC_OK && proxy_cookie_splice(r->pool, h, from, to, &out) != FC_OK))
            return FC_ERROR;
    }
    return FC_OK;
}
