/*
 * http_conf.h: what the configuration side of the http layer (http.c,
 * location.c, server_name.c) shares and the rest of the layer does not
 * need: the listen records, the per-address server tables, the location
 * tree builder and the core confs' private fields.
 */
#ifndef FC_HTTP_CONF_H
#define FC_HTTP_CONF_H

#include "http/http.h"
#include "event/listen.h"

/* One `types` entry: an extension (lowercased) and its MIME type. */
typedef struct {
    fc_str_t exten;
    fc_str_t type;
} fc_http_type_t;

/*
 * The core's loc conf as http.c allocates it: the public part first, so a
 * fc_http_core_loc_conf_t * converts to this and back.
 */
typedef struct {
    fc_http_core_loc_conf_t core;
    fc_array_t *types;       /* fc_http_type_t sorted by exten; NULL: unset */
    size_t temp_levels[3];   /* client_body_temp_path levels (0: none) */
    fc_array_t *regex_names; /* named captures of a regex location (fc_var_t), or NULL */
    unsigned temp_path_set : 1;
} fc_http_core_loc_ext_t;

#define fc_http_loc_ext(clcf) ((fc_http_core_loc_ext_t *) (clcf))

/* The core's srv conf as http.c allocates it (public part first). */
typedef struct {
    fc_http_core_srv_conf_t core;
    fc_array_t sn_names; /* fc_array_t *: named captures per server_names entry (NULL: none) */
} fc_http_core_srv_ext_t;

#define fc_http_srv_ext(cscf) ((fc_http_core_srv_ext_t *) (cscf))

/* One `listen` of one server (a name resolving to several addresses gives several). */
typedef struct {
    fc_addr_t addr;
    int backlog;
    int rcvbuf;
    int sndbuf;
    int so_keepalive; /* FC_UNSET, 0 off, 1 on */
    int keepidle;     /* seconds, 0: system default */
    int keepintvl;
    int keepcnt;
    unsigned default_server : 1;
    unsigned reuseport : 1;
    unsigned bind : 1;
    unsigned deferred : 1;
    unsigned ssl : 1;
    unsigned set : 1; /* a socket option was given (only one listen per address may) */
    fc_http_core_srv_conf_t *server;
    const char *file;
    unsigned line;
} fc_http_listen_t;

/* A server name key in a sorted table: an exact name or a wildcard without its '*'. */
typedef struct {
    fc_str_t key;
    fc_http_core_srv_conf_t *server;
} fc_http_name_key_t;

/* A regex server name, in config order. */
typedef struct {
    fc_regex_t *regex;
    fc_array_t *names; /* named captures (fc_var_t: name, data = group), or NULL */
    fc_http_core_srv_conf_t *server;
} fc_http_name_regex_t;

/*
 * The servers listening on one address: one socket, its default server and
 * the name tables that choose among the others by Host.
 */
struct fc_http_addr_conf_s {
    fc_addr_t addr;
    fc_http_core_srv_conf_t *default_server;
    fc_array_t servers;        /* fc_http_core_srv_conf_t *, in listen order */
    fc_http_name_key_t *exact; /* sorted by key */
    size_t nexact;
    fc_http_name_key_t *head; /* "*.example.com", ".example.com": key "example.com" */
    size_t nhead;
    fc_http_name_key_t *tail; /* "www.example.*": key "www.example" */
    size_t ntail;
    fc_http_name_regex_t *regex;
    size_t nregex;
    /* Socket options applied to the listening fds by fc_http_module's init_module. */
    int so_keepalive; /* FC_UNSET, 0, 1 */
    int keepidle;
    int keepintvl;
    int keepcnt;
    unsigned deferred : 1;
    unsigned ssl : 1; /* some listen of the address says `ssl`: TLS for all (nginx) */
};

/* ---- server_name.c ---- */

/* `listen` and `server_name` directive handlers (conf: the core srv conf). */
char *fc_http_core_listen(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_http_core_server_name(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/* Adds nginx's implicit `listen *:80` (8000 when not root) to a server without listen. */
int fc_http_add_default_listen(fc_conf_t *cf, fc_http_core_srv_conf_t *cscf);
/*
 * Groups every listen of the http block by address into addr confs (one
 * socket each), builds their name tables and adds the cycle's listening
 * sockets. FC_OK or FC_ERROR (logged).
 */
int fc_http_optimize_servers(fc_conf_t *cf, fc_http_core_main_conf_t *cmcf);
/* The address is TLS (some listen on it says `ssl`). */
int fc_http_addr_ssl(const fc_http_addr_conf_t *ac);
/* init_module: socket options that must be set on the opened listening fds. */
int fc_http_listening_init(fc_cycle_t *cycle);

/* ---- location.c ---- */

/* The `location` block directive (conf: the enclosing loc conf). */
char *fc_http_core_location(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/* Builds the lookup tables of a server's locations, recursively; reports duplicates. */
int fc_http_init_locations(fc_conf_t *cf, fc_http_core_srv_conf_t *cscf);
/*
 * Compiles a location / server_name / rewrite regex (caseless for "~*"),
 * logging errors with file:line. Named groups ((?<name>...)) are defined as
 * variables of the http block, and returned in *names (fc_var_t: name,
 * data = group number; NULL if none) for r->named_captures.
 */
fc_regex_t *fc_http_regex_compile(fc_conf_t *cf, const fc_str_t *pattern, int caseless,
                                  fc_array_t **names);

/* ---- http.c ---- */

/* Creates a location's confs of every http module (ctx->main/srv_conf set by the caller). */
int fc_http_create_loc_confs(fc_conf_t *cf, fc_conf_ctx_t *ctx);

#endif
