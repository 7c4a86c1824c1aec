/*
 * conf.h (upstream): the directive side of upstream{} blocks, shared by the
 * stream and http layers so that both parse `server`, the balancing method
 * directives and the block itself with one piece of code and one set of
 * messages.
 *
 * Each layer keeps its own record per upstream name (fc_stream_upstream_t,
 * fc_http_upstream_srv_t) in an array of pointers. Every such record starts
 * with its `fc_upstream_group_t *group`: the functions here reach the group
 * through that first member (a pointer to a struct is a pointer to its first
 * member), and the directive setters below get the record as their conf.
 */
#ifndef FC_UPSTREAM_CONF_H
#define FC_UPSTREAM_CONF_H

#include "core/cycle.h"
#include "core/var.h"
#include "upstream/upstream.h"

/* The group of a layer record (its first member). */
#define fc_upstream_conf_group(rec) (*(fc_upstream_group_t **) (rec))

/*
 * The record of upstream `name` (compared without case) in `records`, an
 * array of record pointers. A record not found is created: `size` zeroed
 * bytes in cf->pool whose first member is a new empty group, pushed onto
 * records; *created tells the caller to fill in its own fields. define: this
 * is the upstream{} block (the group takes cf's file:line); a second block of
 * the same name logs `duplicate upstream "NAME"`. NULL on error.
 */
void *fc_upstream_conf_add(fc_conf_t *cf, fc_array_t *records, size_t size, const fc_str_t *name,
                           int define, int *created);

/* The record named `name` defined by an upstream{} block (or implicit), NULL if none. */
void *fc_upstream_conf_lookup(const fc_array_t *records, const fc_str_t *name);

/* 1 if the group was defined by an upstream{} block or is implicit. */
int fc_upstream_conf_defined(const fc_upstream_group_t *g);

/*
 * Parses the body of `upstream NAME {` whose record `rec` was just added:
 * directives of `module` in context cmd_type get rec as their srv conf. Then
 * checks the group (`no servers are inside upstream` ...), reported at the
 * block's line. FC_CONF_OK or FC_CONF_ERROR (logged).
 */
char *fc_upstream_conf_block(fc_conf_t *cf, void *rec, const fc_module_t *module,
                             unsigned cmd_type);

/*
 * Directive setters for a layer's command table; conf is the layer record.
 * server: cmd->post may point at an in_port_t default port (http: 80; NULL:
 * a port is required). method: least_conn, ip_hash, hash, random by
 * cmd->name. not_implemented: any directive we reject ("is not implemented").
 */
char *fc_upstream_conf_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_upstream_conf_method(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_upstream_conf_not_implemented(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/*
 * End of the layer block, for one defined group: compiles the `hash` key into
 * *hash_key with the layer's variables, then fc_upstream_group_init(); errors
 * are reported at the block's line. FC_OK or FC_ERROR (logged).
 */
int fc_upstream_conf_init_group(fc_conf_t *cf, fc_upstream_group_t *g, fc_var_registry_t *vars,
                                fc_cv_t *hash_key);

/* Seeds every group of `records` with a sequence of this worker's own (init_worker). */
void fc_upstream_conf_seed(const fc_array_t *records);

#endif
