/* stream_access.c: `allow` / `deny` by address or CIDR, first match wins, in the ACCESS phase. */
#include "core/access.h"
#include "stream/stream.h"

typedef struct {
    fc_array_t *rules; /* fc_access_rule_t; NULL: inherit */
} access_conf_t;

static void *access_create_srv_conf(fc_conf_t *cf);
static char *access_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static int access_postconfiguration(fc_conf_t *cf);
static char *access_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t access_commands[] = {
    {"allow", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_TAKE1, access_rule,
     FC_CONF_SRV_OFFSET, 0, NULL},
    {"deny", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_TAKE1, access_rule,
     FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t access_ctx_ops = {
    .postconfiguration = access_postconfiguration,
    .create_srv_conf = access_create_srv_conf,
    .merge_srv_conf = access_merge_srv_conf,
};

fc_module_t fc_stream_access_module = {
    .name = "stream_access",
    .type = FC_STREAM_MODULE,
    .commands = access_commands,
    .ctx = &access_ctx_ops,
};

static void *
access_create_srv_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(access_conf_t));
}

static char *
access_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    access_conf_t *prev = parent, *conf = child;
    (void) cf;
    if (conf->rules == NULL)
        conf->rules = prev->rules; /* rules are inherited only when none are set */
    return FC_CONF_OK;
}

static char *
access_rule(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    access_conf_t *ac = conf;
    return fc_access_rule_add(cf, cmd, &ac->rules);
}

static int
access_handler(fc_stream_session_t *s)
{
    access_conf_t *ac = fc_stream_get_module_srv_conf(s, fc_stream_access_module);
    const struct sockaddr *sa = (const struct sockaddr *) &s->connection->sockaddr;
    return fc_access_denied(ac->rules, sa, s->connection->log) ? 403 : FC_DECLINED;
}

static int
access_postconfiguration(fc_conf_t *cf)
{
    return fc_stream_add_phase_handler(cf, FC_STREAM_ACCESS_PHASE, access_handler);
}
