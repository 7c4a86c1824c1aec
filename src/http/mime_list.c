/* mime_list.c: MIME type lists (gzip_types, charset_types); see mime_list.h. */
#include "http/mime_list.h"

size_t
fc_http_mime_type_len(const fc_str_t *ct)
{
    const unsigned char *p = ct->data, *end = ct->data + ct->len;
    for (; p < end; p++) {
        if (*p != ';')
            continue;
        const unsigned char *semi = p;
        while (p + 1 < end && p[1] == ' ')
            p++;
        if (end - (p + 1) >= 8 && fc_strncasecmp(p + 1, (const unsigned char *) "charset=", 8) == 0)
            return (size_t) (semi - ct->data);
    }
    return ct->len;
}

int
fc_http_mime_listed(const fc_array_t *types, const unsigned char *type, size_t len)
{
    const fc_str_t *t = types->elts;
    for (size_t i = 0; i < types->nelts; i++)
        if (t[i].len == len && fc_strncasecmp(t[i].data, type, len) == 0)
            return 1;
    return 0;
}

static fc_array_t *
mime_list_defaults(fc_conf_t *cf, const char *const *defaults)
{
    fc_array_t *a = fc_array_create(cf->pool, 4, sizeof(fc_str_t));
    for (size_t i = 0; a && defaults[i]; i++) {
        fc_str_t *t = fc_array_push(a);
        if (t == NULL)
            return NULL;
        t->data = (unsigned char *) defaults[i];
        t->len = strlen(defaults[i]);
    }
    return a;
}

char *
fc_http_mime_list_add(fc_conf_t *cf, fc_http_mime_list_t *list, const char *const *defaults)
{
    fc_str_t *args = fc_conf_args(cf);
    if (list->any)
        return FC_CONF_OK;
    if (list->types == NULL && (list->types = mime_list_defaults(cf, defaults)) == NULL)
        return FC_CONF_ERROR;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        if (fc_str_eq_c(&args[i], "*")) {
            list->any = 1;
            return FC_CONF_OK;
        }
        if (fc_http_mime_listed(list->types, args[i].data, args[i].len)) {
            fc_conf_log_error(FC_LOG_WARN, cf, 0, "duplicate MIME type \"%.*s\"", (int) args[i].len,
                              args[i].data);
            continue;
        }
        fc_str_t *t = fc_array_push(list->types);
        if (t == NULL)
            return FC_CONF_ERROR;
        *t = args[i]; /* as written: fc_http_mime_listed() compares in any case */
    }
    return FC_CONF_OK;
}

int
fc_http_mime_list_merge(fc_conf_t *cf, fc_http_mime_list_t *conf, fc_http_mime_list_t *prev,
                        const char *const *defaults)
{
    if (conf->types || conf->any)
        return FC_OK;
    if (prev->types == NULL && !prev->any &&
        (prev->types = mime_list_defaults(cf, defaults)) == NULL)
        return FC_ERROR;
    *conf = *prev;
    return FC_OK;
}

int
fc_http_mime_list_has(const fc_http_mime_list_t *list, const fc_str_t *content_type)
{
    if (list->any)
        return 1;
    return content_type->len && fc_http_mime_listed(list->types, content_type->data,
                                                    fc_http_mime_type_len(content_type));
}
