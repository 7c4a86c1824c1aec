/*
 * mime_list.h: a list of MIME types as gzip_types and charset_types take it
 * ("*" for any, duplicates warned about), and nginx's rule for which part of
 * a Content-Type such a list is compared with.
 */
#ifndef FC_HTTP_MIME_LIST_H
#define FC_HTTP_MIME_LIST_H

#include "http/http.h"

typedef struct {
    fc_array_t *types; /* fc_str_t as written; NULL: unset (inherit) */
    int any;           /* "*" */
} fc_http_mime_list_t;

/*
 * The directive's arguments (from the second on) added to list, which
 * starts from `defaults` (NULL-terminated) the first time, as nginx's
 * lists always hold their defaults.
 */
char *fc_http_mime_list_add(fc_conf_t *cf, fc_http_mime_list_t *list, const char *const *defaults);
/* Inherits prev when conf has no list of its own; FC_OK or FC_ERROR. */
int fc_http_mime_list_merge(fc_conf_t *cf, fc_http_mime_list_t *conf, fc_http_mime_list_t *prev,
                            const char *const *defaults);
/* 1 if the response's Content-Type is in the list. */
int fc_http_mime_list_has(const fc_http_mime_list_t *list, const fc_str_t *content_type);

/*
 * The part of a Content-Type that such lists compare: up to the first ';'
 * followed by (spaces and) "charset=", else the whole value (nginx's rule:
 * "text/plain; foo=bar" is compared whole and matches nothing).
 */
size_t fc_http_mime_type_len(const fc_str_t *content_type);
/* 1 if type (its first len bytes) is in types (fc_str_t), in any case. */
int fc_http_mime_listed(const fc_array_t *types, const unsigned char *type, size_t len);

#endif
