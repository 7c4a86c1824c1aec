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
