/*
 * http.c: the http{} block, server{}, the core directives and their
 * inheritance, and the filter chains' plumbing. Confs are created per level
 * (http{} has main, srv and loc confs; server{} srv and loc; location{} loc)
 * and merged outer to inner as nginx does: srv confs http -> server, loc
 * confs http -> server -> each location -> its nested locations. Once the
 * block is read, the location tables are built, modules run their
 * postconfiguration, the core appends its terminal filters, variables are
 * bound and listen addresses become the cycle's listening sockets.
 * `location` lives in location.c, `listen` and `server_name` in
 * server_name.c.
 */
#include "http/http_conf.h"
#include "core/layer.h"

static int http_init_module(fc_cycle_t *cycle);
static char *http_error_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_internal(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_large_header_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_hash_size(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_keepalive_timeout(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_keepalive_disable(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_temp_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_root(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *http_index(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static int http_core_preconfiguration(fc_conf_t *cf);
static void *http_core_create_main_conf(fc_conf_t *cf);
static char *http_core_init_main_conf(fc_conf_t *cf, void *conf);
static void *http_core_create_srv_conf(fc_conf_t *cf);
static char *http_core_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static void *http_core_create_loc_conf(fc_conf_t *cf);
static char *http_core_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);

static const fc_command_t http_commands[] = {
    {"http", FC_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_NOARGS, http_block, 0, 0, NULL},
    fc_null_command};

static const fc_core_module_ctx_t http_module_ctx = {.create_conf = fc_layer_holder_create};

fc_module_t fc_http_module = {
    .name = "http",
    .type = FC_CORE_MODULE,
    .commands = http_commands,
    .ctx = &http_module_ctx,
    .init_module = http_init_module,
};

/* Contexts: http + server, and http + server + location. */
#define HTTP_MS (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF)
#define HTTP_MSL (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)
#define SRV_FIELD(f) FC_CONF_SRV_OFFSET, offsetof(fc_http_core_srv_conf_t, f)
#define LOC_FIELD(f) FC_CONF_LOC_OFFSET, offsetof(fc_http_core_loc_conf_t, f)
#define MAIN_FIELD(f) FC_CONF_MAIN_OFFSET, offsetof(fc_http_core_main_conf_t, f)

static const fc_conf_enum_t http_in_file_only[] = {{"off", 0}, {"on", 1}, {"clean", 2}, {NULL, 0}};
static const fc_conf_enum_t http_server_tokens[] = {{"off", 0}, {"on", 1}, {"build", 2}, {NULL, 0}};
static const fc_conf_enum_t http_lingering_close[] = {
    {"off", 0}, {"on", 1}, {"always", 2}, {NULL, 0}};

static const fc_command_t http_core_commands[] = {
    {"server", FC_HTTP_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_NOARGS, http_server, FC_CONF_MAIN_OFFSET,
     0, NULL},
    {"location", FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF | FC_CONF_BLOCK | FC_CONF_TAKE12,
     fc_http_core_location, FC_CONF_LOC_OFFSET, 0, NULL},
    {"listen", FC_HTTP_SRV_CONF | FC_CONF_1MORE, fc_http_core_listen, FC_CONF_SRV_OFFSET, 0, NULL},
    {"server_name", FC_HTTP_SRV_CONF | FC_CONF_1MORE, fc_http_core_server_name, FC_CONF_SRV_OFFSET,
     0, NULL},
    {"internal", FC_HTTP_LOC_CONF | FC_CONF_NOARGS, http_internal, FC_CONF_LOC_OFFSET, 0, NULL},
    {"types", HTTP_MSL | FC_CONF_BLOCK | FC_CONF_NOARGS, http_types, FC_CONF_LOC_OFFSET, 0, NULL},
    /* server level */
    {"client_header_buffer_size", HTTP_MS | FC_CONF_TAKE1, fc_conf_set_size_slot,
     SRV_FIELD(client_header_buffer_size), NULL},
    {"large_client_header_buffers", HTTP_MS | FC_CONF_TAKE2, http_large_header_buffers,
     FC_CONF_SRV_OFFSET, 0, NULL},
    {"client_header_timeout", HTTP_MS | FC_CONF_TAKE1, fc_conf_set_msec_slot,
     SRV_FIELD(client_header_timeout), NULL},
    {"merge_slashes", HTTP_MS | FC_CONF_FLAG, fc_conf_set_flag_slot, SRV_FIELD(merge_slashes),
     NULL},
    {"underscores_in_headers", HTTP_MS | FC_CONF_FLAG, fc_conf_set_flag_slot,
     SRV_FIELD(underscores_in_headers), NULL},
    {"ignore_invalid_headers", HTTP_MS | FC_CONF_FLAG, fc_conf_set_flag_slot,
     SRV_FIELD(ignore_invalid_headers), NULL},
    /* http level: accepted and validated, see http_core_init_main_conf */
    {"server_names_hash_max_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(server_names_hash_max_size), NULL},
    {"server_names_hash_bucket_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(server_names_hash_bucket_size), NULL},
    {"variables_hash_max_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(variables_hash_max_size), NULL},
    {"variables_hash_bucket_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(variables_hash_bucket_size), NULL},
    {"map_hash_max_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(map_hash_max_size), NULL},
    {"map_hash_bucket_size", FC_HTTP_MAIN_CONF | FC_CONF_TAKE1, http_hash_size,
     MAIN_FIELD(map_hash_bucket_size), NULL},
    /* location level */
    {"client_max_body_size", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_size_slot,
     LOC_FIELD(client_max_body_size), NULL},
    {"client_body_buffer_size", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_size_slot,
     LOC_FIELD(client_body_buffer_size), NULL},
    {"client_body_timeout", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_msec_slot,
     LOC_FIELD(client_body_timeout), NULL},
    {"client_body_temp_path", HTTP_MSL | FC_CONF_TAKE1234, http_temp_path, FC_CONF_LOC_OFFSET, 0,
     NULL},
    {"client_body_in_file_only", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_enum_slot,
     LOC_FIELD(client_body_in_file_only), http_in_file_only},
    {"send_timeout", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_msec_slot, LOC_FIELD(send_timeout),
     NULL},
    {"keepalive_timeout", HTTP_MSL | FC_CONF_TAKE12, http_keepalive_timeout, FC_CONF_LOC_OFFSET, 0,
     NULL},
    {"keepalive_requests", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_num_slot,
     LOC_FIELD(keepalive_requests), NULL},
    {"keepalive_time", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_msec_slot, LOC_FIELD(keepalive_time),
     NULL},
    {"keepalive_disable", HTTP_MSL | FC_CONF_1MORE, http_keepalive_disable, FC_CONF_LOC_OFFSET, 0,
     NULL},
    {"server_tokens", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_enum_slot, LOC_FIELD(server_tokens),
     http_server_tokens},
    {"absolute_redirect", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(absolute_redirect), NULL},
    {"server_name_in_redirect", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(server_name_in_redirect), NULL},
    {"port_in_redirect", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(port_in_redirect), NULL},
    {"chunked_transfer_encoding", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(chunked_transfer_encoding), NULL},
    {"recursive_error_pages", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(recursive_error_pages), NULL},
    {"tcp_nodelay", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot, LOC_FIELD(tcp_nodelay), NULL},
    {"log_not_found", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot, LOC_FIELD(log_not_found),
     NULL},
    {"lingering_close", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_enum_slot, LOC_FIELD(lingering_close),
     http_lingering_close},
    {"lingering_time", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_msec_slot, LOC_FIELD(lingering_time),
     NULL},
    {"lingering_timeout", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_msec_slot,
     LOC_FIELD(lingering_timeout), NULL},
    {"reset_timedout_connection", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(reset_timedout_connection), NULL},
    {"default_type", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_str_slot, LOC_FIELD(default_type), NULL},
    {"error_log", HTTP_MSL | FC_CONF_1MORE, http_error_log, FC_CONF_LOC_OFFSET, 0, NULL},
    {"root", HTTP_MSL | FC_HTTP_LIF_CONF | FC_CONF_TAKE1, http_root, FC_CONF_LOC_OFFSET, 0, NULL},
    /* static files and their I/O: accepted, no effect (see core_conf.h) */
    {"sendfile", HTTP_MSL | FC_HTTP_LIF_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot,
     LOC_FIELD(sendfile), NULL},
    {"tcp_nopush", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot, LOC_FIELD(tcp_nopush), NULL},
    {"etag", HTTP_MSL | FC_CONF_FLAG, fc_conf_set_flag_slot, LOC_FIELD(etag), NULL},
    {"sendfile_max_chunk", HTTP_MSL | FC_CONF_TAKE1, fc_conf_set_size_slot,
     LOC_FIELD(sendfile_max_chunk), NULL},
    {"types_hash_max_size", HTTP_MSL | FC_CONF_TAKE1, http_hash_size,
     LOC_FIELD(types_hash_max_size), NULL},
    {"types_hash_bucket_size", HTTP_MSL | FC_CONF_TAKE1, http_hash_size,
     LOC_FIELD(types_hash_bucket_size), NULL},
    {"index", HTTP_MSL | FC_CONF_1MORE, http_index, FC_CONF_LOC_OFFSET, 0, NULL},
    {"error_page", HTTP_MSL | FC_HTTP_LIF_CONF | FC_CONF_2MORE, fc_http_core_error_page,
     LOC_FIELD(error_pages), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t http_core_ctx = {
    .preconfiguration = http_core_preconfiguration,
    .create_main_conf = http_core_create_main_conf,
    .init_main_conf = http_core_init_main_conf,
    .create_srv_conf = http_core_create_srv_conf,
    .merge_srv_conf = http_core_merge_srv_conf,
    .create_loc_conf = http_core_create_loc_conf,
    .merge_loc_conf = http_core_merge_loc_conf,
};

fc_module_t fc_http_core_module = {
    .name = "http_core",
    .type = FC_HTTP_MODULE,
    .commands = http_core_commands,
    .ctx = &http_core_ctx,
};

static int
http_init_module(fc_cycle_t *cycle)
{
    return fc_http_listening_init(cycle);
}

/* ---- the core's confs ---------------------------------------------------------- */

static int
http_core_preconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_http_variables_add(&cmcf->vars);
}

static void *
http_core_create_main_conf(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_pcalloc(cf->pool, sizeof(*cmcf));
    if (cmcf == NULL || fc_array_init(&cmcf->servers, cf->pool, 4, sizeof(void *)) != FC_OK ||
        fc_array_init(&cmcf->listens, cf->pool, 4, sizeof(fc_http_listen_t)) != FC_OK ||
        fc_array_init(&cmcf->upstreams, cf->pool, 4, sizeof(void *)) != FC_OK ||
        fc_array_init(&cmcf->header_filters, cf->pool, 8, sizeof(fc_http_filter_t)) != FC_OK ||
        fc_array_init(&cmcf->body_filters, cf->pool, 8, sizeof(fc_http_filter_t)) != FC_OK ||
        fc_var_registry_init(&cmcf->vars, cf->pool) != FC_OK)
        return NULL;
    for (size_t i = 0; i < FC_HTTP_NPHASES; i++) {
        if (fc_array_init(&cmcf->phases[i], cf->pool, 2, sizeof(fc_http_handler_pt)) != FC_OK)
            return NULL;
    }
    cmcf->server_names_hash_max_size = FC_UNSET_SIZE;
    cmcf->server_names_hash_bucket_size = FC_UNSET_SIZE;
    cmcf->variables_hash_max_size = FC_UNSET_SIZE;
    cmcf->variables_hash_bucket_size = FC_UNSET_SIZE;
    cmcf->map_hash_max_size = FC_UNSET_SIZE;
    cmcf->map_hash_bucket_size = FC_UNSET_SIZE;
    return cmcf;
}

/*
 * The hash sizes are nginx's knobs for its hash tables. We keep server
 * names in sorted arrays (binary search) and variables bound to indexes at
 * load time, so there is no table to size: the values are only validated
 * so that nginx configs that tune them still load.
 */
static char *
http_core_init_main_conf(fc_conf_t *cf, void *conf)
{
    fc_http_core_main_conf_t *cmcf = conf;
    (void) cf;
    if (cmcf->server_names_hash_max_size == FC_UNSET_SIZE)
        cmcf->server_names_hash_max_size = 512;
    if (cmcf->server_names_hash_bucket_size == FC_UNSET_SIZE)
        cmcf->server_names_hash_bucket_size = 64;
    if (cmcf->variables_hash_max_size == FC_UNSET_SIZE)
        cmcf->variables_hash_max_size = 1024;
    if (cmcf->variables_hash_bucket_size == FC_UNSET_SIZE)
        cmcf->variables_hash_bucket_size = 64;
    if (cmcf->map_hash_max_size == FC_UNSET_SIZE)
        cmcf->map_hash_max_size = 2048;
    if (cmcf->map_hash_bucket_size == FC_UNSET_SIZE)
        cmcf->map_hash_bucket_size = 64;
    return FC_CONF_OK;
}

static void *
http_core_create_srv_conf(fc_conf_t *cf)
{
    fc_http_core_srv_ext_t *ext = fc_pcalloc(cf->pool, sizeof(*ext));
    if (ext == NULL)
        return NULL;
    fc_http_core_srv_conf_t *cscf = &ext->core;
    if (fc_array_init(&cscf->server_names, cf->pool, 2, sizeof(fc_http_server_name_t)) != FC_OK ||
        fc_array_init(&ext->sn_names, cf->pool, 2, sizeof(fc_array_t *)) != FC_OK)
        return NULL;
    cscf->client_header_buffer_size = FC_UNSET_SIZE;
    cscf->large_client_header_buffers_num = FC_UNSET_SIZE;
    cscf->large_client_header_buffers_size = FC_UNSET_SIZE;
    cscf->client_header_timeout = FC_UNSET_MSEC;
    cscf->merge_slashes = FC_UNSET;
    cscf->underscores_in_headers = FC_UNSET;
    cscf->ignore_invalid_headers = FC_UNSET;
    cscf->file = cf->dir_file;
    cscf->line = cf->dir_line;
    return cscf;
}

/* $server_name: the first name; a regex keeps its "~", ".example.com" loses its dot. */
static int
http_set_server_name(fc_conf_t *cf, fc_http_core_srv_conf_t *conf)
{
    fc_http_server_name_t *sn = conf->server_names.elts;
    if (conf->server_names.nelts == 0) {
        /* nginx: a server without server_name answers requests without Host. */
        sn = fc_array_push(&conf->server_names);
        fc_array_t **names = fc_array_push(&fc_http_srv_ext(conf)->sn_names);
        if (sn == NULL || names == NULL)
            return FC_ERROR;
        sn->name.data = (unsigned char *) "";
        sn->server = conf;
    }
    fc_str_t name = sn[0].name;
    if (sn[0].regex) {
        unsigned char *p = fc_pnalloc(cf->pool, name.len + 1);
        if (p == NULL)
            return FC_ERROR;
        p[0] = '~';
        memcpy(p + 1, name.data, name.len);
        name.data = p;
        name.len++;
    } else if (name.len > 0 && name.data[0] == '.') {
        name.data++;
        name.len--;
    }
    conf->server_name = name;
    return FC_OK;
}

static char *
http_core_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    fc_http_core_srv_conf_t *prev = parent, *conf = child;
    fc_conf_merge_size(conf->client_header_buffer_size, prev->client_header_buffer_size, 1024);
    if (conf->large_client_header_buffers_num == FC_UNSET_SIZE) {
        if (prev->large_client_header_buffers_num != FC_UNSET_SIZE) {
            conf->large_client_header_buffers_num = prev->large_client_header_buffers_num;
            conf->large_client_header_buffers_size = prev->large_client_header_buffers_size;
        } else {
            conf->large_client_header_buffers_num = 4;
            conf->large_client_header_buffers_size = 8192;
        }
    }
    fc_conf_merge_msec(conf->client_header_timeout, prev->client_header_timeout, 60000);
    fc_conf_merge_value(conf->merge_slashes, prev->merge_slashes, 1);
    fc_conf_merge_value(conf->underscores_in_headers, prev->underscores_in_headers, 0);
    fc_conf_merge_value(conf->ignore_invalid_headers, prev->ignore_invalid_headers, 1);
    if (http_set_server_name(cf, conf) != FC_OK)
        return FC_CONF_ERROR;
    /* As nginx, the implicit listen is added after every explicit one was read. */
    if (!conf->listen && fc_http_add_default_listen(cf, conf) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

static void *
http_core_create_loc_conf(fc_conf_t *cf)
{
    fc_http_core_loc_ext_t *ext = fc_pcalloc(cf->pool, sizeof(*ext));
    if (ext == NULL)
        return NULL;
    fc_http_core_loc_conf_t *clcf = &ext->core;
    clcf->file = cf->dir_file;
    clcf->line = cf->dir_line;
    clcf->client_max_body_size = FC_UNSET_SIZE;
    clcf->client_body_buffer_size = FC_UNSET_SIZE;
    clcf->client_body_timeout = FC_UNSET_MSEC;
    clcf->client_body_in_file_only = FC_UNSET;
    clcf->send_timeout = FC_UNSET_MSEC;
    clcf->keepalive_timeout = FC_UNSET_MSEC;
    clcf->keepalive_header = FC_UNSET_MSEC;
    clcf->keepalive_requests = FC_UNSET;
    clcf->keepalive_time = FC_UNSET_MSEC;
    clcf->keepalive_disable_msie6 = FC_UNSET;
    clcf->server_tokens = FC_UNSET;
    clcf->absolute_redirect = FC_UNSET;
    clcf->server_name_in_redirect = FC_UNSET;
    clcf->port_in_redirect = FC_UNSET;
    clcf->chunked_transfer_encoding = FC_UNSET;
    clcf->recursive_error_pages = FC_UNSET;
    clcf->tcp_nodelay = FC_UNSET;
    clcf->log_not_found = FC_UNSET;
    clcf->lingering_close = FC_UNSET;
    clcf->lingering_time = FC_UNSET_MSEC;
    clcf->lingering_timeout = FC_UNSET_MSEC;
    clcf->reset_timedout_connection = FC_UNSET;
    clcf->sendfile = FC_UNSET;
    clcf->tcp_nopush = FC_UNSET;
    clcf->etag = FC_UNSET;
    clcf->sendfile_max_chunk = FC_UNSET_SIZE;
    clcf->types_hash_max_size = FC_UNSET_SIZE;
    clcf->types_hash_bucket_size = FC_UNSET_SIZE;
    return clcf;
}

/* nginx's types when none are configured anywhere. */
static fc_array_t *
http_default_types(fc_pool_t *pool)
{
    static const char *const defaults[][2] = {
        {"gif", "image/gif"}, {"htm", "text/html"}, {"html", "text/html"}, {"jpg", "image/jpeg"}};
    fc_array_t *a = fc_array_create(pool, fc_nelems(defaults), sizeof(fc_http_type_t));
    for (size_t i = 0; a && i < fc_nelems(defaults); i++) {
        fc_http_type_t *t = fc_array_push(a);
        if (t == NULL)
            return NULL;
        t->exten.data = (unsigned char *) defaults[i][0];
        t->exten.len = strlen(defaults[i][0]);
        t->type.data = (unsigned char *) defaults[i][1];
        t->type.len = strlen(defaults[i][1]);
    }
    return a;
}

/* The fields that are paths, tables or pairs. */
static char *
http_merge_loc_special(fc_conf_t *cf, fc_http_core_loc_conf_t *prev, fc_http_core_loc_conf_t *conf)
{
    fc_http_core_loc_ext_t *pext = fc_http_loc_ext(prev), *ext = fc_http_loc_ext(conf);
    if (conf->keepalive_timeout == FC_UNSET_MSEC) {
        conf->keepalive_timeout = prev->keepalive_timeout;
        conf->keepalive_header = prev->keepalive_header;
        if (conf->keepalive_timeout == FC_UNSET_MSEC) {
            conf->keepalive_timeout = 75000;
            conf->keepalive_header = -1;
        }
    }
    if (conf->client_body_temp_path.data == NULL) {
        if (prev->client_body_temp_path.data == NULL) {
            fc_str_t path = fc_string("client_body_temp");
            if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &path) != FC_OK)
                return FC_CONF_ERROR;
            prev->client_body_temp_path = path; /* computed once for the whole block */
        }
        conf->client_body_temp_path = prev->client_body_temp_path;
        memcpy(ext->temp_levels, pext->temp_levels, sizeof(ext->temp_levels));
    }
    if (conf->root.data == NULL) {
        if (prev->root.data == NULL) {
            fc_str_t root = fc_string("html");
            if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &root) != FC_OK)
                return FC_CONF_ERROR;
            prev->root = root;
        }
        conf->root = prev->root;
    }
    if (ext->types == NULL) {
        if (pext->types == NULL && (pext->types = http_default_types(cf->pool)) == NULL)
            return FC_CONF_ERROR;
        ext->types = pext->types;
    }
    if (conf->error_pages == NULL)
        conf->error_pages = prev->error_pages;
    if (conf->error_log == NULL)
        conf->error_log = prev->error_log;
    return FC_CONF_OK;
}

static char *
http_core_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    fc_http_core_loc_conf_t *prev = parent, *conf = child;
    fc_conf_merge_size(conf->client_max_body_size, prev->client_max_body_size, 1024 * 1024);
    fc_conf_merge_size(conf->client_body_buffer_size, prev->client_body_buffer_size, 16384);
    fc_conf_merge_msec(conf->client_body_timeout, prev->client_body_timeout, 60000);
    fc_conf_merge_value(conf->client_body_in_file_only, prev->client_body_in_file_only, 0);
    fc_conf_merge_msec(conf->send_timeout, prev->send_timeout, 60000);
    fc_conf_merge_value(conf->keepalive_requests, prev->keepalive_requests, 1000);
    fc_conf_merge_msec(conf->keepalive_time, prev->keepalive_time, 3600000);
    fc_conf_merge_value(conf->keepalive_disable_msie6, prev->keepalive_disable_msie6, 1);
    fc_conf_merge_value(conf->server_tokens, prev->server_tokens, 1);
    fc_conf_merge_value(conf->absolute_redirect, prev->absolute_redirect, 1);
    fc_conf_merge_value(conf->server_name_in_redirect, prev->server_name_in_redirect, 0);
    fc_conf_merge_value(conf->port_in_redirect, prev->port_in_redirect, 1);
    fc_conf_merge_value(conf->chunked_transfer_encoding, prev->chunked_transfer_encoding, 1);
    fc_conf_merge_value(conf->recursive_error_pages, prev->recursive_error_pages, 0);
    fc_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);
    fc_conf_merge_value(conf->log_not_found, prev->log_not_found, 1);
    fc_conf_merge_value(conf->lingering_close, prev->lingering_close, 1);
    fc_conf_merge_msec(conf->lingering_time, prev->lingering_time, 30000);
    fc_conf_merge_msec(conf->lingering_timeout, prev->lingering_timeout, 5000);
    fc_conf_merge_value(conf->reset_timedout_connection, prev->reset_timedout_connection, 0);
    fc_conf_merge_str(conf->default_type, prev->default_type, "text/plain");
    if (conf->noname && conf->handler == NULL)
        conf->handler = prev->handler; /* an `if` without proxy_pass: its location's content */
    return http_merge_loc_special(cf, prev, conf);
}

/* ---- directive handlers ---------------------------------------------------------- */

static char *
http_internal(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    (void) cf;
    (void) cmd;
    if (clcf->internal)
        return "is duplicate";
    clcf->internal = 1;
    return FC_CONF_OK;
}

static char *
http_large_header_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_srv_conf_t *cscf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (cscf->large_client_header_buffers_num != FC_UNSET_SIZE)
        return "is duplicate";
    int64_t num = fc_atoi(args[1].data, args[1].len);
    int64_t size = fc_parse_size(&args[2]);
    if (num <= 0 || size <= 0)
        return "invalid value";
    cscf->large_client_header_buffers_num = (size_t) num;
    cscf->large_client_header_buffers_size = (size_t) size;
    return FC_CONF_OK;
}

static char *
http_hash_size(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    size_t *sp = (size_t *) ((char *) conf + cmd->offset);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*sp != FC_UNSET_SIZE)
        return "is duplicate";
    int64_t n = fc_atoi(v->data, v->len);
    if (n <= 0)
        return "invalid number";
    *sp = (size_t) n;
    return FC_CONF_OK;
}

/* error_log at http, server or location: this level's requests log there (several: all). */
static char *
http_error_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_conf_error_log_at(cf, &((fc_http_core_loc_conf_t *) conf)->error_log);
}

static char *
http_keepalive_timeout(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (clcf->keepalive_timeout != FC_UNSET_MSEC)
        return "is duplicate";
    int64_t t = fc_parse_time(&args[1], 1000);
    if (t < 0)
        return "invalid value";
    int64_t h = -1;
    if (fc_conf_nargs(cf) == 3) {
        h = fc_parse_time(&args[2], 1000);
        if (h < 0)
            return "invalid value";
        h -= h % 1000; /* Keep-Alive: timeout=N is in seconds */
    }
    clcf->keepalive_timeout = t;
    clcf->keepalive_header = h;
    return FC_CONF_OK;
}

/* Stored as a bitmask in keepalive_disable_msie6: 1 msie6, 2 safari (0: none). */
static char *
http_keepalive_disable(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    (void) cmd;
    if (clcf->keepalive_disable_msie6 != FC_UNSET)
        return "is duplicate";
    int mask = 0;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        fc_str_t *v = &fc_conf_args(cf)[i];
        if (fc_str_eq_c(v, "msie6")) {
            mask |= 1;
        } else if (fc_str_eq_c(v, "safari")) {
            mask |= 2;
        } else if (!fc_str_eq_c(v, "none")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "invalid value \"%.*s\" in \"keepalive_disable\" directive",
                              (int) v->len, v->data);
            return FC_CONF_ERROR;
        }
    }
    clcf->keepalive_disable_msie6 = mask;
    return FC_CONF_OK;
}

static char *
http_temp_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    fc_http_core_loc_ext_t *ext = fc_http_loc_ext(clcf);
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (clcf->client_body_temp_path.data)
        return "is duplicate";
    fc_str_t path = args[1];
    while (path.len > 1 && path.data[path.len - 1] == '/')
        path.len--;
    if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &path) != FC_OK)
        return FC_CONF_ERROR;
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        int64_t level = fc_atoi(args[i].data, args[i].len);
        if (level < 1 || level > 2)
            return "invalid value";
        ext->temp_levels[i - 2] = (size_t) level;
    }
    clcf->client_body_temp_path = path;
    ext->temp_path_set = 1;
    return FC_CONF_OK;
}

static char *
http_root(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *clcf = conf;
    (void) cmd;
    if (clcf->root.data)
        return "is duplicate";
    fc_str_t root = fc_conf_args(cf)[1];
    if (root.len == 0 || root.data[0] != '$') {
        /* A path with variables is made absolute when it is evaluated. */
        if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &root) != FC_OK)
            return FC_CONF_ERROR;
    }
    clcf->root = root;
    return FC_CONF_OK;
}

/* index FILE...: checked as nginx checks it; no effect, as static files are not served. */
static char *
http_index(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_str_t *args = fc_conf_args(cf);
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        if (args[i].len == 0) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "index \"%.*s\" in \"index\" directive is invalid", (int) args[i].len,
                              args[i].data);
            return FC_CONF_ERROR;
        }
        if (args[i].data[0] == '/' && i != fc_conf_nargs(cf) - 1)
            fc_conf_log_error(FC_LOG_WARN, cf, 0,
                              "only the last index in \"index\" directive should be absolute");
    }
    return FC_CONF_OK;
}

/* ---- types { } ---------------------------------------------------------------- */

static int
http_type_cmp(const void *a, const void *b)
{
    const fc_http_type_t *x = a, *y = b;
    size_t n = fc_min(x->exten.len, y->exten.len);
    int rc = memcmp(x->exten.data, y->exten.data, n);
    if (rc)
        return rc;
    return x->exten.len < y->exten.len ? -1 : x->exten.len > y->exten.len;
}

/* One line of a types block: "text/html html htm;". */
static char *
http_types_line(fc_conf_t *cf, const fc_command_t *dummy, void *conf)
{
    fc_http_core_loc_ext_t *ext = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) dummy;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        fc_str_t exten;
        if (fc_str_dup(cf->pool, &exten, &args[i]) != FC_OK)
            return FC_CONF_ERROR;
        for (size_t k = 0; k < exten.len; k++)
            exten.data[k] = fc_tolower(exten.data[k]);
        fc_http_type_t *t = ext->types->elts;
        size_t n = 0;
        for (; n < ext->types->nelts && !fc_str_eq(&t[n].exten, &exten); n++)
            ;
        if (n < ext->types->nelts) {
            fc_conf_log_error(FC_LOG_WARN, cf, 0,
                              "duplicate extension \"%.*s\", content type: \"%.*s\", "
                              "previous content type: \"%.*s\"",
                              (int) exten.len, exten.data, (int) args[0].len, args[0].data,
                              (int) t[n].type.len, t[n].type.data);
            t[n].type = args[0];
            continue;
        }
        fc_http_type_t *nt = fc_array_push(ext->types);
        if (nt == NULL)
            return FC_CONF_ERROR;
        nt->exten = exten;
        nt->type = args[0];
    }
    return FC_CONF_OK;
}

static char *
http_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_ext_t *ext = fc_http_loc_ext(conf);
    (void) cmd;
    /* As nginx, a second types{} at the same level adds to the first. */
    if (ext->types == NULL &&
        (ext->types = fc_array_create(cf->pool, 64, sizeof(fc_http_type_t))) == NULL)
        return FC_CONF_ERROR;
    fc_conf_t saved = *cf;
    cf->handler = http_types_line;
    cf->handler_conf = ext;
    int rc = fc_conf_parse(cf, NULL);
    cf->handler = saved.handler;
    cf->handler_conf = saved.handler_conf;
    if (rc != FC_OK)
        return FC_CONF_ERROR;
    qsort(ext->types->elts, ext->types->nelts, sizeof(fc_http_type_t), http_type_cmp);
    return FC_CONF_OK;
}

const fc_str_t *
fc_http_core_type_for(const fc_http_core_loc_conf_t *clcf, const fc_str_t *exten)
{
    const fc_array_t *types = fc_http_loc_ext(clcf)->types;
    if (types == NULL || exten->len == 0 || exten->len > 32)
        return NULL;
    unsigned char low[32];
    for (size_t i = 0; i < exten->len; i++)
        low[i] = fc_tolower(exten->data[i]);
    fc_http_type_t key = {.exten = {exten->len, low}};
    const fc_http_type_t *t =
        bsearch(&key, types->elts, types->nelts, sizeof(fc_http_type_t), http_type_cmp);
    return t ? &t->type : NULL;
}

/* ---- blocks ------------------------------------------------------------------------ */

int
fc_http_create_loc_confs(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    return fc_layer_create_confs(cf, ctx, FC_HTTP_MODULE, FC_LAYER_LOC);
}

/* Merges a module's loc confs into a list of locations and their nested ones. */
static int
http_merge_locations(fc_conf_t *cf, fc_conf_ctx_t *ctx, fc_array_t *locations, void **parent,
                     const fc_module_t *m)
{
    const fc_layer_module_ctx_t *mc = m->ctx;
    fc_http_core_loc_conf_t **clcfp = locations ? locations->elts : NULL;
    for (size_t i = 0; locations && i < locations->nelts; i++) {
        fc_http_core_loc_conf_t *clcf = clcfp[i];
        ctx->loc_conf = clcf->loc_conf;
        cf->dir_file = clcf->file;
        cf->dir_line = clcf->line;
        if (fc_layer_conf_result(cf, mc->merge_loc_conf(cf, parent[m->ctx_index],
                                                        clcf->loc_conf[m->ctx_index])) != FC_OK)
            return FC_ERROR;
        if (http_merge_locations(cf, ctx, clcf->locations, clcf->loc_conf, m) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

/* One module's srv and loc confs, from http{} into one server and its locations. */
static int
http_merge_server(fc_conf_t *cf, fc_conf_ctx_t *http, fc_http_core_srv_conf_t *cscf,
                  const fc_module_t *m)
{
    const fc_layer_module_ctx_t *mc = m->ctx;
    size_t k = m->ctx_index;
    fc_conf_ctx_t ctx = {http->main_conf, cscf->ctx->srv_conf, cscf->ctx->loc_conf};
    fc_conf_ctx_t *saved = cf->ctx;
    cf->ctx = &ctx;
    int rc = fc_layer_merge_srv(cf, m, http, &ctx, cscf->file, cscf->line);
    if (rc == FC_OK && mc->merge_loc_conf) {
        rc = fc_layer_conf_result(cf, mc->merge_loc_conf(cf, http->loc_conf[k], ctx.loc_conf[k]));
        fc_http_core_loc_conf_t *clcf = ctx.loc_conf[fc_http_core_module.ctx_index];
        if (rc == FC_OK)
            rc = http_merge_locations(cf, &ctx, clcf->locations, cscf->ctx->loc_conf, m);
    }
    cf->ctx = saved;
    return rc;
}

static int
http_merge_servers(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    fc_http_core_main_conf_t *cmcf = ctx->main_conf[fc_http_core_module.ctx_index];
    fc_http_core_srv_conf_t **servers = cmcf->servers.elts;
    int rc = FC_OK;
    for (size_t i = 0; fc_modules[i]; i++) {
        if (fc_layer_module_ctx(fc_modules[i], FC_HTTP_MODULE) == NULL)
            continue;
        for (size_t s = 0; s < cmcf->servers.nelts; s++) {
            /* Going on after a bad server reports its other servers' errors too. */
            if (http_merge_server(cf, ctx, servers[s], fc_modules[i]) != FC_OK)
                rc = FC_ERROR;
        }
        if (rc != FC_OK)
            return rc;
    }
    /* Each server's location tables, once every module merged its confs. */
    for (size_t s = 0; s < cmcf->servers.nelts; s++) {
        if (fc_http_init_locations(cf, servers[s]) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

/* After every postconfiguration: where each module's next filter is. */
static int
http_index_filters(fc_conf_t *cf, fc_http_core_main_conf_t *cmcf)
{
    size_t n = fc_modules_count(FC_HTTP_MODULE);
    cmcf->nmodules = n;
    cmcf->header_next = fc_pcalloc(cf->pool, n * sizeof(size_t));
    cmcf->body_next = fc_pcalloc(cf->pool, n * sizeof(size_t));
    if (cmcf->header_next == NULL || cmcf->body_next == NULL)
        return FC_ERROR;
    /* A module with several filters (the core's) chains from its first one. */
    fc_http_filter_t *f = cmcf->header_filters.elts;
    for (size_t i = cmcf->header_filters.nelts; i-- > 0;)
        cmcf->header_next[f[i].module->ctx_index] = i + 1;
    f = cmcf->body_filters.elts;
    for (size_t i = cmcf->body_filters.nelts; i-- > 0;)
        cmcf->body_next[f[i].module->ctx_index] = i + 1;
    return FC_OK;
}

/* After postconfiguration: the filter chains, variables and server tables. */
static int
http_block_done(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    fc_http_core_main_conf_t *cmcf = ctx->main_conf[fc_http_core_module.ctx_index];
    unsigned errors = cf->errors;
    int rc = fc_http_core_filters_init(cf);
    if (rc == FC_OK && cf->errors == errors)
        rc = http_index_filters(cf, cmcf);
    if (rc == FC_OK && cf->errors == errors)
        rc = fc_var_resolve(&cmcf->vars, cf->log);
    if (rc == FC_OK && cf->errors == errors)
        rc = fc_http_optimize_servers(cf, cmcf);
    return rc;
}

/* The http{} level's own core confs know their context, as a server's do. */
static int
http_block_init(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    fc_http_core_srv_conf_t *cscf = ctx->srv_conf[fc_http_core_module.ctx_index];
    fc_http_core_loc_conf_t *clcf = ctx->loc_conf[fc_http_core_module.ctx_index];
    (void) cf;
    cscf->ctx = ctx;
    clcf->loc_conf = ctx->loc_conf;
    return FC_OK;
}

static const fc_layer_t http_layer = {
    .module_type = FC_HTTP_MODULE,
    .cmd_type = FC_HTTP_MAIN_CONF,
    .levels = FC_LAYER_MAIN | FC_LAYER_SRV | FC_LAYER_LOC,
    .init = http_block_init,
    .merge = http_merge_servers,
    .done = http_block_done,
};

static char *
http_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_layer_block(cf, conf, &http_layer);
}

static char *
http_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_conf_ctx_t *ctx = fc_layer_ctx_create(cf, FC_HTTP_MODULE, FC_LAYER_SRV | FC_LAYER_LOC);
    if (ctx == NULL)
        return FC_CONF_ERROR;
    fc_http_core_srv_conf_t *cscf = ctx->srv_conf[fc_http_core_module.ctx_index];
    fc_http_core_loc_conf_t *clcf = ctx->loc_conf[fc_http_core_module.ctx_index];
    cscf->ctx = ctx;
    clcf->loc_conf = ctx->loc_conf;
    clcf->server_level = 1;
    fc_http_core_main_conf_t *cmcf = ctx->main_conf[fc_http_core_module.ctx_index];
    fc_http_core_srv_conf_t **slot = fc_array_push(&cmcf->servers);
    if (slot == NULL)
        return FC_CONF_ERROR;
    *slot = cscf;
    return fc_layer_parse(cf, ctx, FC_HTTP_SRV_CONF) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- config-time API ---------------------------------------------------------- */

fc_conf_ctx_t *
fc_http_cycle_ctx(fc_cycle_t *cycle)
{
    return fc_layer_cycle_ctx(cycle, &fc_http_module);
}

int
fc_http_add_phase_handler(fc_conf_t *cf, size_t phase, fc_http_handler_pt h)
{
    FC_ASSERT(phase < FC_HTTP_NPHASES);
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_http_handler_pt *slot = fc_array_push(&cmcf->phases[phase]);
    if (slot == NULL)
        return FC_ERROR;
    *slot = h;
    return FC_OK;
}

int
fc_http_add_filter(fc_conf_t *cf, const fc_module_t *m, fc_http_header_filter_pt header,
                   fc_http_body_filter_pt body)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    if (header) {
        fc_http_filter_t *f = fc_array_push(&cmcf->header_filters);
        if (f == NULL)
            return FC_ERROR;
        f->module = m;
        f->header = header;
    }
    if (body) {
        fc_http_filter_t *f = fc_array_push(&cmcf->body_filters);
        if (f == NULL)
            return FC_ERROR;
        f->module = m;
        f->body = body;
    }
    return FC_OK;
}

/* ---- filter chains ------------------------------------------------------------------ */

int
fc_http_send_header(fc_http_request_t *r)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    if (r->header_sent) {
        fc_log_error(FC_LOG_ALERT, r->connection->log, 0, "header already sent");
        return FC_ERROR;
    }
    if (r->err_status) {
        /* A special response or error_page answers with the status it is about. */
        r->headers_out.status = (unsigned) r->err_status;
        r->headers_out.status_line.len = 0;
    }
    FC_ASSERT(cmcf->header_filters.nelts > 0);
    /* The core's final header filter sets header_sent once the header is serialized. */
    fc_http_filter_t *f = cmcf->header_filters.elts;
    return f[0].header(r);
}

int
fc_http_output_filter(fc_http_request_t *r, fc_chain_t *in)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    FC_ASSERT(cmcf->body_filters.nelts > 0);
    fc_http_filter_t *f = cmcf->body_filters.elts;
    return f[0].body(r, in);
}

int
fc_http_next_header_filter(fc_http_request_t *r, const fc_module_t *m)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    size_t next = cmcf->header_next[m->ctx_index];
    FC_ASSERT(next > 0 && next < cmcf->header_filters.nelts);
    fc_http_filter_t *f = cmcf->header_filters.elts;
    return f[next].header(r);
}

int
fc_http_next_body_filter(fc_http_request_t *r, const fc_module_t *m, fc_chain_t *in)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    size_t next = cmcf->body_next[m->ctx_index];
    FC_ASSERT(next > 0 && next < cmcf->body_filters.nelts);
    fc_http_filter_t *f = cmcf->body_filters.elts;
    return f[next].body(r, in);
}
