/*
 * var_common.h: the variables every layer defines with the same meaning
 * (the peer's and the local address, the clock, the process). A layer
 * registers them with its own getter, which passes its connection and the
 * pool its values live in (a stream session's connection pool, an http
 * request's pool) to fc_var_common_get.
 */
#ifndef FC_VAR_COMMON_H
#define FC_VAR_COMMON_H

#include "core/var.h"

/* What fc_var_common_get computes (the `data` of the common variables). */
enum {
    FC_VARC_REMOTE_ADDR,        /* $remote_addr */
    FC_VARC_BINARY_REMOTE_ADDR, /* $binary_remote_addr: 4 or 16 bytes */
    FC_VARC_REMOTE_PORT,        /* $remote_port */
    FC_VARC_SERVER_ADDR,        /* $server_addr */
    FC_VARC_SERVER_PORT,        /* $server_port */
    FC_VARC_CONNECTION,         /* $connection: the connection's serial number */
    FC_VARC_TIME_LOCAL,         /* $time_local: "21/Nov/2026:22:48:05 +0000" */
    FC_VARC_TIME_ISO8601,       /* $time_iso8601: "2026-11-21T22:48:05+00:00" */
    FC_VARC_MSEC,               /* $msec: "1795301285.123" */
    FC_VARC_PID,                /* $pid */
    FC_VARC_VERSION,            /* $nginx_version, $fulcrum_version: FC_VERSION */
    FC_VARC_HOSTNAME,           /* $hostname */
};

/*
 * Defines the common variables in reg, each with `get` as its getter and
 * one of FC_VARC_* as its data. `get` is the layer's wrapper around
 * fc_var_common_get.
 */
int fc_var_common_define(fc_var_registry_t *reg, fc_var_get_pt get);
/* Computes common variable `which` for connection c; values live in pool. FC_OK or FC_ERROR. */
int fc_var_common_get(fc_connection_t *c, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which);

/* Getter helpers. A printf-formatted value (up to 127 bytes) copied into pool. */
int fc_var_printf(fc_pool_t *pool, fc_var_value_t *v, const char *fmt, ...) FC_PRINTF(3, 4);
/* A duration as seconds with milliseconds, "12.034" (negative ones as "0.000"). */
int fc_var_msec_value(fc_pool_t *pool, fc_var_value_t *v, fc_msec_t ms);
/* An empty value that is "not found" (the access log writes "-"). */
void fc_var_set_not_found(fc_var_value_t *v);
/* A getter for variables that never have a value here ($sent_trailer_NAME ...). */
int fc_var_get_never(void *data, fc_var_value_t *v, uintptr_t unused);

#endif
