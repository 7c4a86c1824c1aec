/*
 * bind.h (upstream): `proxy_bind ADDRESS [transparent] | off`, shared by
 * the http and stream proxies: the local address upstream connections are
 * made from. ADDRESS may hold variables ($remote_addr with transparent);
 * an empty value makes no bind, as in nginx.
 */
#ifndef FC_UPSTREAM_BIND_H
#define FC_UPSTREAM_BIND_H

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/var.h"
#include "upstream/connect.h"

typedef struct {
    fc_cv_t *value;            /* NULL: no proxy_bind (or "off") */
    fc_upstream_local_t fixed; /* the address, parsed at load, when value has no variables */
    unsigned transparent : 1;
    unsigned set : 1; /* written at this level ("off" included) */
} fc_upstream_bind_conf_t;

/* The directive, compiled with the layer's registry. */
char *fc_upstream_bind_directive(fc_conf_t *cf, fc_var_registry_t *reg, fc_upstream_bind_conf_t *b);
/* Merge: a level that did not write it takes the outer one's. */
void fc_upstream_bind_merge(fc_upstream_bind_conf_t *conf, const fc_upstream_bind_conf_t *prev);
/*
 * The evaluated value to a local address (a value without variables was
 * parsed at load and is not parsed again): FC_OK (out set), FC_DECLINED
 * (empty: no bind) or FC_ERROR (not an address; logged).
 */
int fc_upstream_bind_local(const fc_upstream_bind_conf_t *b, const fc_str_t *value, fc_pool_t *pool,
                           fc_log_t *log, fc_upstream_local_t *out);

#endif
