/*
 * conf.h: nginx-syntax configuration. The lexer (conf_lex.c) turns files
 * into tokens that remember file:line; the parser (conf_parse.c) dispatches
 * each directive to the command table of the module that owns it. Generic
 * setters (conf_slots.c) cover most directives with no code of their own.
 */
#ifndef FC_CONF_H
#define FC_CONF_H

/* Argument counts (bit per count, as nginx) and shapes. */
#define FC_CONF_NOARGS 0x00000001
#define FC_CONF_TAKE1 0x00000002
#define FC_CONF_TAKE2 0x00000004
#define FC_CONF_TAKE3 0x00000008
#define FC_CONF_TAKE4 0x00000010
#define FC_CONF_TAKE5 0x00000020
#define FC_CONF_TAKE6 0x00000040
#define FC_CONF_TAKE7 0x00000080
#define FC_CONF_TAKE12 (FC_CONF_TAKE1 | FC_CONF_TAKE2)
#define FC_CONF_TAKE13 (FC_CONF_TAKE1 | FC_CONF_TAKE3)
#define FC_CONF_TAKE23 (FC_CONF_TAKE2 | FC_CONF_TAKE3)
#define FC_CONF_TAKE123 (FC_CONF_TAKE1 | FC_CONF_TAKE2 | FC_CONF_TAKE3)
#define FC_CONF_TAKE1234 (FC_CONF_TAKE123 | FC_CONF_TAKE4)
#define FC_CONF_ARGS_MASK 0x000000ff
#define FC_CONF_BLOCK 0x00000100
#define FC_CONF_FLAG 0x00000200 /* exactly one of on|off */
#define FC_CONF_ANY 0x00000400
#define FC_CONF_1MORE 0x00000800
#define FC_CONF_2MORE 0x00001000

/* Contexts a directive may appear in. */
#define FC_MAIN_CONF 0x00010000
#define FC_EVENT_CONF 0x00020000
#define FC_STREAM_MAIN_CONF 0x00040000
#define FC_STREAM_SRV_CONF 0x00080000
#define FC_STREAM_UPS_CONF 0x00100000
#define FC_HTTP_MAIN_CONF 0x00200000
#define FC_HTTP_SRV_CONF 0x00400000
#define FC_HTTP_LOC_CONF 0x00800000
#define FC_HTTP_UPS_CONF 0x01000000
#define FC_HTTP_SIF_CONF 0x02000000
#define FC_HTTP_LIF_CONF 0x04000000
#define FC_ANY_CONF 0x7fff0000

/* Module types: which block's directives a module's table belongs to. */
#define FC_CONF_MODULE 1 /* include: anywhere */
#define FC_CORE_MODULE 2
#define FC_EVENT_MODULE 3
#define FC_STREAM_MODULE 4
#define FC_HTTP_MODULE 5

/* Which conf of a layer context a command's conf pointer is (fc_command_t.conf). */
#define FC_CONF_MAIN_OFFSET offsetof(fc_conf_ctx_t, main_conf)
#define FC_CONF_SRV_OFFSET offsetof(fc_conf_ctx_t, srv_conf)
#define FC_CONF_LOC_OFFSET offsetof(fc_conf_ctx_t, loc_conf)

/* What a directive handler returns: NULL, or a reason printed as `"name" directive REASON`. */
#define FC_CONF_OK NULL
#define FC_CONF_ERROR ((char *) -1)

typedef char *(*fc_conf_set_pt)(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

struct fc_command_s {
    const char *name;
    unsigned type;
    fc_conf_set_pt set;
    size_t conf;
    size_t offset;
    const void *post; /* setter-specific: an enum table, bounds */
};

#define fc_null_command {NULL, 0, NULL, 0, 0, NULL}

/* The per-context conf arrays of a layer (events, stream, http), indexed by ctx_index. */
typedef struct {
    void **main_conf;
    void **srv_conf;
    void **loc_conf;
} fc_conf_ctx_t;

typedef struct fc_conf_file_s {
    fc_str_t name; /* NUL-terminated path */
    unsigned char *start;
    unsigned char *pos;
    unsigned char *end;
    unsigned line;
    struct fc_conf_file_s *next; /* every file read, for -T */
} fc_conf_file_t;

struct fc_conf_s {
    fc_cycle_t *cycle;
    fc_pool_t *pool;      /* the cycle's pool: lives as long as the config */
    fc_pool_t *temp_pool; /* freed when parsing ends */
    fc_log_t *log;
    fc_array_t *args; /* fc_str_t: directive name then its arguments */
    fc_conf_file_t *file;
    const char *dir_file; /* where the current directive starts */
    unsigned dir_line;
    void *ctx;          /* core: cycle->conf_ctx; layers: fc_conf_ctx_t * */
    unsigned module_type;
    unsigned cmd_type;
    /* Set by blocks whose body is not directives (map, types): each line goes here. */
    fc_conf_set_pt handler;
    void *handler_conf;
    unsigned errors; /* errors reported so far; parsing goes on where it safely can */
    unsigned depth;  /* include nesting guard */
    unsigned fatal;  /* a syntax error: stop parsing */
};

/* An enum table for fc_conf_set_enum_slot / bitmask slot. */
typedef struct {
    const char *name;
    unsigned value;
} fc_conf_enum_t;

/* Bounds for fc_conf_set_num_slot (post). */
typedef struct {
    int64_t min;
    int64_t max;
} fc_conf_bounds_t;

/*
 * Parses a file (filename != NULL) or the body of the block whose "{" was
 * just read (filename == NULL). Returns FC_OK or FC_ERROR; errors are logged
 * with file:line and counted in cf->errors.
 */
int fc_conf_parse(fc_conf_t *cf, const fc_str_t *filename);
/* Parses text given on the command line (-g) as main-context directives. */
int fc_conf_parse_string(fc_conf_t *cf, const fc_str_t *text, const char *name);

/* Logs "[emerg] MSG in FILE:LINE" for the directive being handled and counts the error. */
void fc_conf_log_error(int level, fc_conf_t *cf, int err, const char *fmt, ...) FC_PRINTF(4, 5);

/* Joins a relative path with a base folder ("" keeps it); result NUL-terminated in pool. */
int fc_conf_full_name(fc_pool_t *pool, const fc_str_t *base, fc_str_t *name);

/* The generic setters: the field at cmd->offset in conf. Each rejects duplicates. */
char *fc_conf_set_flag_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_str_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_num_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_size_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_msec_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_sec_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_enum_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_bitmask_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_conf_set_str_array_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/* Merge helpers: the inner value wins, else the outer, else the default. */
#define fc_conf_merge_value(conf, prev, def)                                                       \
    do {                                                                                           \
        if ((conf) == FC_UNSET)                                                                    \
            (conf) = ((prev) == FC_UNSET) ? (def) : (prev);                                        \
    } while (0)
#define fc_conf_merge_ptr(conf, prev, def)                                                         \
    do {                                                                                           \
        if ((conf) == FC_UNSET_PTR)                                                                \
            (conf) = ((prev) == FC_UNSET_PTR) ? (def) : (prev);                                    \
    } while (0)
#define fc_conf_merge_size(conf, prev, def)                                                        \
    do {                                                                                           \
        if ((conf) == FC_UNSET_SIZE)                                                               \
            (conf) = ((prev) == FC_UNSET_SIZE) ? (def) : (prev);                                   \
    } while (0)
#define fc_conf_merge_msec(conf, prev, def)                                                        \
    do {                                                                                           \
        if ((conf) == FC_UNSET_MSEC)                                                               \
            (conf) = ((prev) == FC_UNSET_MSEC) ? (def) : (prev);                                   \
    } while (0)
/* def: a string literal, or NULL to leave the string unset. */
#define fc_conf_merge_str(conf, prev, def)                                                         \
    do {                                                                                           \
        if ((conf).data == NULL) {                                                                 \
            if ((prev).data) {                                                                     \
                (conf) = (prev);                                                                   \
            } else {                                                                               \
                (conf).data = (unsigned char *) (def);                                             \
                (conf).len = (conf).data ? strlen((const char *) (conf).data) : 0;                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* The arguments of the current directive (args[0] is its name). */
#define fc_conf_args(cf) ((fc_str_t *) (cf)->args->elts)
#define fc_conf_nargs(cf) ((cf)->args->nelts)

#endif
