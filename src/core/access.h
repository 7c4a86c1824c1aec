/*
 * access.h: `allow` / `deny` rules shared by the stream and http access
 * modules. Rules are kept in the order written; the first one that matches
 * the client address decides.
 */
#ifndef FC_ACCESS_H
#define FC_ACCESS_H

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/inet.h"

typedef struct {
    fc_cidr_t cidr;
    unsigned deny : 1;
} fc_access_rule_t;

/*
 * The handler of an `allow` or `deny` directive (by cmd->name): appends a
 * rule for the directive's one argument (ADDRESS, CIDR, "unix:" or "all")
 * to *rules, creating the array in the config pool. Warns, as nginx does,
 * when a CIDR has host bits set. Returns FC_CONF_OK or FC_CONF_ERROR.
 */
char *fc_access_rule_add(fc_conf_t *cf, const fc_command_t *cmd, fc_array_t **rules);
/*
 * Parses an ADDRESS, CIDR, "all" or "unix:" directive argument into cidr,
 * logging nginx's "invalid parameter" (FC_ERROR) or its host-bits warning.
 */
int fc_cidr_conf_parse(fc_conf_t *cf, const fc_str_t *v, fc_cidr_t *cidr);

/*
 * Checks a client address against rules (NULL: none). Returns 1 when the
 * first matching rule is a deny, after logging "access forbidden by rule"
 * at error level to log; 0 when access is allowed or no rule matched.
 */
int fc_access_denied(const fc_array_t *rules, const struct sockaddr *sa, fc_log_t *log);

#endif
