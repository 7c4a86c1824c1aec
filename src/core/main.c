/*
 * main.c: the command line, as nginx's: -c -p -t -T -q -g -s -v -V -h.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/process.h"
#include "core/proctitle.h"

#include <openssl/opensslv.h>

#include "event/tls.h"
#include <sys/stat.h>

typedef struct {
    const char *prefix;
    const char *conf;
    const char *params;
    const char *signal;
    int test;
    int dump;
    int quiet;
    int version;
} main_opts_t;

static void
main_usage(void)
{
    fprintf(stderr,
            "fulcrum version: " FC_VER "\n"
            "Usage: fulcrum [-?hvVtTq] [-s signal] [-p prefix] [-c filename] [-g directives]\n\n"
            "Options:\n"
            "  -?,-h         : this help\n"
            "  -v            : show version and exit\n"
            "  -V            : show version and configure options then exit\n"
            "  -t            : test configuration and exit\n"
            "  -T            : test configuration, dump it and exit\n"
            "  -q            : suppress non-error messages during configuration testing\n"
            "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
            "  -p prefix     : set prefix path (default: " FC_PREFIX ")\n"
            "  -c filename   : set configuration file (default: " FC_CONF_PATH ")\n"
            "  -g directives : set global directives out of configuration file\n\n");
}

static void
main_version(int verbose)
{
    extern const char *const fc_module_names[];
    fprintf(stderr, "fulcrum version: " FC_VER "\n");
    if (!verbose)
        return;
    fprintf(stderr, "built by %s\n", FC_CC_VERSION);
    fprintf(stderr, "built with %s\n", OPENSSL_VERSION_TEXT);
    fprintf(stderr, "configure arguments: %s\n", FC_CONFIGURE);
    fprintf(stderr, "modules:");
    for (size_t i = 0; fc_module_names[i]; i++)
        fprintf(stderr, " %s", fc_module_names[i]);
    fprintf(stderr, "\n");
}

/* Takes the value of an option either glued ("-cfile") or as the next word. */
static const char *
main_optarg(int argc, char **argv, int *i, const char *p, char opt)
{
    if (p[1])
        return p + 1;
    if (*i + 1 < argc)
        return argv[++*i];
    fc_log_stderr(0, "option \"-%c\" requires %s", opt,
                  opt == 'c'   ? "file name"
                  : opt == 'p' ? "directory name"
                  : opt == 'g' ? "parameter"
                               : "parameter");
    return NULL;
}

static int
main_parse_args(int argc, char **argv, main_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        if (*p++ != '-') {
            fc_log_stderr(0, "invalid option: \"%s\"", argv[i]);
            return FC_ERROR;
        }
        for (; *p; p++) {
            switch (*p) {
            case '?':
            case 'h':
                o->version = 3;
                break;
            case 'v':
                o->version = o->version > 1 ? o->version : 1;
                break;
            case 'V':
                o->version = o->version > 2 ? o->version : 2;
                break;
            case 't':
                o->test = 1;
                break;
            case 'T':
                o->test = 1;
                o->dump = 1;
                break;
            case 'q':
                o->quiet = 1;
                break;
            case 'c':
            case 'p':
            case 'g':
            case 's': {
                const char *v = main_optarg(argc, argv, &i, p, *p);
                if (v == NULL)
                    return FC_ERROR;
                if (*p == 'c')
                    o->conf = v;
                else if (*p == 'p')
                    o->prefix = v;
                else if (*p == 'g')
                    o->params = v;
                else if (strcmp(v, "stop") && strcmp(v, "quit") && strcmp(v, "reopen") &&
                         strcmp(v, "reload")) {
                    fc_log_stderr(0, "invalid option: \"-s %s\"", v);
                    return FC_ERROR;
                } else
                    o->signal = v;
                goto next;
            }
            default:
                fc_log_stderr(0, "invalid option: \"%c\"", *p);
                return FC_ERROR;
            }
        }
    next:;
    }
    return FC_OK;
}

/* prefix: absolute, with a trailing slash; conf: absolute (relative ones are under prefix). */
static int
main_paths(fc_pool_t *pool, const main_opts_t *o, fc_cycle_params_t *params)
{
    char cwd[PATH_MAX];
    const char *prefix = o->prefix ? o->prefix : FC_PREFIX;
    fc_str_t p = {strlen(prefix), (unsigned char *) prefix};
    fc_str_t base = fc_null_string;
    if (prefix[0] != '/') {
        if (getcwd(cwd, sizeof(cwd) - 2) == NULL)
            return FC_ERROR;
        size_t n = strlen(cwd);
        cwd[n++] = '/';
        cwd[n] = '\0';
        base.data = (unsigned char *) cwd;
        base.len = n;
    }
    if (fc_conf_full_name(pool, &base, &p) != FC_OK)
        return FC_ERROR;
    if (p.len == 0 || p.data[p.len - 1] != '/') {
        unsigned char *d = fc_pnalloc(pool, p.len + 2);
        if (d == NULL)
            return FC_ERROR;
        memcpy(d, p.data, p.len);
        d[p.len++] = '/';
        d[p.len] = '\0';
        p.data = d;
    }
    params->prefix = p;
    const char *conf = o->conf ? o->conf : FC_CONF_PATH;
    fc_str_t c = {strlen(conf), (unsigned char *) conf};
    if (fc_conf_full_name(pool, &params->prefix, &c) != FC_OK)
        return FC_ERROR;
    params->conf_file = c;
    if (o->params) {
        params->conf_param.data = (unsigned char *) o->params;
        params->conf_param.len = strlen(o->params);
    }
    return FC_OK;
}

static void
main_dump_config(fc_cycle_t *cycle)
{
    for (fc_conf_file_t *f = cycle->conf_files; f; f = f->next) {
        printf("# configuration file %s:\n", f->name.data);
        fwrite(f->start, 1, (size_t) (f->end - f->start), stdout);
        putchar('\n'); /* as nginx: one newline after each file, whatever its end */
    }
    fflush(stdout);
}

/*
 * As nginx -t: the pid file must be openable (it is created, empty, when
 * missing, and never truncated), so that a start does not fail on it after
 * the shell was told the test passed.
 */
static int
main_test_pidfile(fc_cycle_t *cycle, fc_log_t *log)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    int fd = open((const char *) ccf->pid.data, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "open() \"%s\" failed", ccf->pid.data);
        return FC_ERROR;
    }
    close(fd);
    return FC_OK;
}

static int
main_test(const main_opts_t *o, const fc_cycle_params_t *params, fc_log_t *log)
{
    fc_cycle_t *cycle = fc_cycle_init(NULL, params, log);
    if (cycle != NULL && main_test_pidfile(cycle, log) != FC_OK) {
        fc_cycle_destroy(cycle);
        cycle = NULL;
    }
    if (cycle == NULL) {
        fc_log_stderr(0, "configuration file %s test failed", params->conf_file.data);
        return 1;
    }
    if (!o->quiet) {
        fc_log_stderr(0, "the configuration file %s syntax is ok", params->conf_file.data);
        fc_log_stderr(0, "configuration file %s test is successful", params->conf_file.data);
    }
    if (o->dump)
        main_dump_config(cycle);
    fc_cycle_destroy(cycle);
    return 0;
}

static int
main_serve(fc_cycle_t *cycle, const fc_cycle_params_t *params)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    if (ccf->daemon && fc_daemonize(cycle->log) != FC_OK)
        return 1;
    if (fc_pidfile_write(&ccf->pid, cycle->log) != FC_OK)
        return 1;
    if (ccf->daemon && cycle->new_log.file && cycle->new_log.file->fd > 2)
        dup2(cycle->new_log.file->fd, STDERR_FILENO); /* as nginx: stderr goes to the log */
    fc_log_error(FC_LOG_NOTICE, cycle->log, 0, "%s", FC_VER);
    if (!ccf->master)
        return fc_single_process(cycle);
    fc_proctitle_set("master process");
    return fc_master_process(cycle, params);
}

int
main(int argc, char **argv)
{
    main_opts_t o = {0};
    fc_time_update();
    fc_proctitle_init(argc, argv);
    fc_log_t *log = fc_log_init();
    if (main_parse_args(argc, argv, &o) != FC_OK)
        return 1;
    if (o.version) {
        if (o.version == 3)
            main_usage();
        else
            main_version(o.version == 2);
        if (!o.test)
            return 0;
    }
    if (fc_tls_init(log) != FC_OK)
        return 1;
    fc_pool_t *pool = fc_pool_create(4096, log);
    fc_cycle_params_t params = {0};
    if (pool == NULL || main_paths(pool, &o, &params) != FC_OK)
        return 1;
    params.test_only = o.test;
    if (o.test) {
        int rc = main_test(&o, &params, log);
        fc_pool_destroy(pool);
        return rc;
    }
    if (o.signal) {
        params.signal_only = 1;
        fc_cycle_t *cycle = fc_cycle_init(NULL, &params, log);
        int rc = cycle && fc_process_signal(cycle, o.signal) == FC_OK ? 0 : 1;
        fc_cycle_destroy(cycle);
        fc_pool_destroy(pool);
        return rc;
    }
    if (fc_signals_init(1) != FC_OK) {
        fc_log_stderr(errno, "sigaction() failed");
        return 1;
    }
    fc_cycle_t *cycle = fc_cycle_init(NULL, &params, log);
    if (cycle == NULL) {
        fc_pool_destroy(pool);
        return 1;
    }
    /* params (paths in pool) serve every reload, so the pool lives until here */
    int rc = main_serve(cycle, &params);
    fc_pool_destroy(pool);
    return rc;
}
