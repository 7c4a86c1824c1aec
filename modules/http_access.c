/*
 * http_access.c: `allow` / `deny` by address, CIDR, "unix:" or "all" at the
 * http, server and location levels, first match wins, checked in the ACCESS
 * phase. A level with rules of its own replaces the outer level's (nginx).
 */
#include "core/access.h"
#include "http/http.h"

typedef struct {
    fc_array_t *rules; /* fc_access_rule_t; NULL: inherit */
} access_loc_conf_t;

static void *haccess_create_loc_conf(fc_conf_t *cf);
static char *haccess_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int haccess_postconfiguration(fc_conf_t *cf);
static char *haccess_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

#define HACCESS_CONF (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF | FC_CONF_TAKE1)

static const fc_command_t haccess_commands[] = {
    {"allow", HACCESS_CONF, haccess_rule, FC_CONF_LOC_OFFSET, 0, NULL},
    {"deny", HACCESS_CONF, haccess_rule, FC_CONF_LOC_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t haccess_ctx_ops = {
    .postconfiguration = haccess_postconfiguration,
    .create_loc_conf = haccess_create_loc_conf,
    .merge_loc_conf = haccess_merge_loc_conf,
};

fc_module_t fc_http_access_module = {
    .name = "http_access",
    .type = FC_HTTP_MODULE,
    .commands = haccess_commands,
    .ctx = &haccess_ctx_ops,
};

static void *
haccess_create_loc_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(access_loc_conf_t));
}

static char *
haccess_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    access_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    if (conf->rules == NULL)
        conf->rules = prev->rules; /* rules are inherited only when none are set */
    return FC_CONF_OK;
}

static char *
haccess_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    access_loc_conf_t *alcf = conf;
    return fc_access_rule_add(cf, cmd, &alcf->rules);
}

static int
haccess_handler(fc_http_request_t *r)
{
    access_loc_conf_t *alcf = fc_http_get_module_loc_conf(r, fc_http_access_module);
    const struct sockaddr *sa = (const struct sockaddr *) &r->connection->sockaddr;
    if (fc_access_denied(alcf->rules, sa, r->connection->log))
        return FC_HTTP_FORBIDDEN;
    return FC_DECLINED;
}

static int
haccess_postconfiguration(fc_conf_t *cf)
{
    return fc_http_add_phase_handler(cf, FC_HTTP_ACCESS_PHASE, haccess_handler);
}
