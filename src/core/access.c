/* access.c: `allow` / `deny` rules by address, CIDR, "unix:" or "all"; first match wins. */
#include "core/access.h"

int
fc_cidr_conf_parse(fc_conf_t *cf, const fc_str_t *v, fc_cidr_t *cidr)
{
    int rc = fc_cidr_parse(v, cidr);
    if (rc == FC_ERROR) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) v->len, v->data);
        return FC_ERROR;
    }
    if (rc == FC_DECLINED)
        fc_conf_log_error(FC_LOG_WARN, cf, 0, "low address bits of %.*s are meaningless",
                          (int) v->len, v->data);
    return FC_OK;
}

char *
fc_access_rule_add(fc_conf_t *cf, const fc_command_t *cmd, fc_array_t **rules)
{
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*rules == NULL && (*rules = fc_array_create(cf->pool, 4, sizeof(fc_access_rule_t))) == NULL)
        return FC_CONF_ERROR;
    fc_access_rule_t *r = fc_array_push(*rules);
    if (r == NULL || fc_cidr_conf_parse(cf, v, &r->cidr) != FC_OK)
        return FC_CONF_ERROR;
    r->deny = cmd->name[0] == 'd';
    return FC_CONF_OK;
}

int
fc_access_denied(const fc_array_t *rules, const struct sockaddr *sa, fc_log_t *log)
{
    if (rules == NULL)
        return 0;
    const fc_access_rule_t *r = rules->elts;
    for (size_t i = 0; i < rules->nelts; i++) {
        if (!fc_cidr_match(&r[i].cidr, sa))
            continue;
        if (!r[i].deny)
            return 0;
        fc_log_error(FC_LOG_ERR, log, 0, "access forbidden by rule");
        return 1;
    }
    return 0;
}
