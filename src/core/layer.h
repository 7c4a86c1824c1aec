/*
 * layer.h: what the events{}, stream{} and http{} blocks share. A layer
 * block keeps its context as its core conf; each block level (the layer's
 * main level, a server{}, a location{}) gets the confs of every module of
 * the layer's type; the modules' hooks run around the block's text; and a
 * handler's string result becomes a config error at file:line.
 */
#ifndef FC_LAYER_H
#define FC_LAYER_H

#include "core/fc_core.h"
#include "core/cycle.h"

/* Conf levels of a layer context, as a mask for fc_layer_create_confs. */
#define FC_LAYER_MAIN 0x1
#define FC_LAYER_SRV 0x2
#define FC_LAYER_LOC 0x4

/* The hooks of fc_layer_module_ctx_t that run once per layer block. */
typedef enum {
    FC_LAYER_HOOK_PRE,       /* preconfiguration, before the block is read */
    FC_LAYER_HOOK_INIT_MAIN, /* init_main_conf, after it is read */
    FC_LAYER_HOOK_POST       /* postconfiguration, after the confs are merged */
} fc_layer_hook_e;

/* A layer block's core conf: its context, once the block is read. */
typedef struct {
    fc_conf_ctx_t *ctx;
} fc_layer_holder_t;

/* A step of a layer block: FC_OK, or FC_ERROR with the error logged. */
typedef int (*fc_layer_step_pt)(fc_conf_t *cf, fc_conf_ctx_t *ctx);

/* How one layer's block is read; the steps may be NULL. */
typedef struct {
    unsigned module_type;   /* FC_EVENT_MODULE, FC_STREAM_MODULE, FC_HTTP_MODULE */
    unsigned cmd_type;      /* the cmd_type of the block's own level */
    unsigned levels;        /* FC_LAYER_* the block's level creates */
    fc_layer_step_pt init;  /* the confs exist, the text is not read yet */
    fc_layer_step_pt merge; /* after init_main_conf: merge into the servers */
    fc_layer_step_pt done;  /* after postconfiguration */
} fc_layer_t;

/* create_conf of a layer's core module: an empty fc_layer_holder_t. */
void *fc_layer_holder_create(fc_cycle_t *cycle);

/* The context a layer's core module keeps in a cycle, NULL without its block. */
fc_conf_ctx_t *fc_layer_cycle_ctx(fc_cycle_t *cycle, const fc_module_t *module);

/*
 * The handler of a layer block ("events", "stream", "http"): creates the
 * block's confs, runs the modules' preconfiguration, reads the block, then
 * runs init_main_conf, layer->merge, postconfiguration and layer->done,
 * each only while no error was reported.
 */
char *fc_layer_block(fc_conf_t *cf, fc_layer_holder_t *holder, const fc_layer_t *layer);

/*
 * Allocates ctx's conf arrays for `levels` (FC_LAYER_* mask) and fills them
 * with the create_*_conf of every module of module_type. FC_OK or FC_ERROR.
 */
int fc_layer_create_confs(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned module_type, unsigned levels);

/*
 * A context for a block inside a layer block (server{}, location{}): new
 * confs for `levels`, the enclosing context's for the other levels. NULL on
 * failure.
 */
fc_conf_ctx_t *fc_layer_ctx_create(fc_conf_t *cf, unsigned module_type, unsigned levels);

/* Runs one hook of every module of module_type; stops at the first failure. */
int fc_layer_run_hooks(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned module_type,
                       fc_layer_hook_e which);

/*
 * Merges module m's srv conf of a layer block (parent) into a server's
 * (child); file:line, the server's, is where a failure is reported.
 */
int fc_layer_merge_srv(fc_conf_t *cf, const fc_module_t *m, fc_conf_ctx_t *parent,
                       fc_conf_ctx_t *child, const char *file, unsigned line);

/*
 * Reads a block's text with ctx as the context and cmd_type as its level;
 * cf is as it was on return. FC_OK when nothing in the block failed.
 */
int fc_layer_parse(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned cmd_type);

/* A conf handler's result as FC_OK or FC_ERROR; a string reason is logged. */
int fc_layer_conf_result(fc_conf_t *cf, char *rv);

/* The module's layer ctx when it is of module_type, else NULL. */
const fc_layer_module_ctx_t *fc_layer_module_ctx(const fc_module_t *m, unsigned module_type);

#endif
