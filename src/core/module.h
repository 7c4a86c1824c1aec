/*
 * module.h: a module is a struct with named fields listed in
 * modules/modules.list; configure generates the fc_modules[] array.
 */
#ifndef FC_MODULE_H
#define FC_MODULE_H

/* Context of a core (main-level) module. */
typedef struct {
    void *(*create_conf)(fc_cycle_t *cycle);
    char *(*init_conf)(fc_cycle_t *cycle, void *conf);
} fc_core_module_ctx_t;

/*
 * Context of a layer module (events, stream, http): confs created per level,
 * merged outer to inner; pre/postconfiguration run around the layer block.
 */
typedef struct {
    int (*preconfiguration)(fc_conf_t *cf);
    int (*postconfiguration)(fc_conf_t *cf);
    void *(*create_main_conf)(fc_conf_t *cf);
    char *(*init_main_conf)(fc_conf_t *cf, void *conf);
    void *(*create_srv_conf)(fc_conf_t *cf);
    char *(*merge_srv_conf)(fc_conf_t *cf, void *prev, void *conf);
    void *(*create_loc_conf)(fc_conf_t *cf);
    char *(*merge_loc_conf)(fc_conf_t *cf, void *prev, void *conf);
} fc_layer_module_ctx_t;

struct fc_module_s {
    const char *name;
    unsigned type; /* FC_CORE_MODULE, FC_STREAM_MODULE, ... */
    const fc_command_t *commands;
    const void *ctx; /* fc_core_module_ctx_t or fc_layer_module_ctx_t */
    int (*init_module)(fc_cycle_t *cycle); /* master, after a cycle is built */
    int (*init_worker)(fc_cycle_t *cycle); /* each worker, before its loop */
    void (*exit_worker)(fc_cycle_t *cycle);
    size_t index;     /* position in fc_modules (set by fc_modules_init) */
    size_t ctx_index; /* position among modules of the same type */
};

extern fc_module_t *const fc_modules[];
extern const char *const fc_module_names[];

/* Numbers the modules; returns how many there are. Called once at startup. */
size_t fc_modules_init(void);
/* How many modules of a type exist (sizes the layer conf arrays). */
size_t fc_modules_count(unsigned type);

/* The conf a module keeps in a layer context, by level. */
#define fc_layer_main_conf(ctx, module) ((ctx)->main_conf[(module).ctx_index])
#define fc_layer_srv_conf(ctx, module) ((ctx)->srv_conf[(module).ctx_index])
#define fc_layer_loc_conf(ctx, module) ((ctx)->loc_conf[(module).ctx_index])

#endif
