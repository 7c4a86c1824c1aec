/*
 * fuzz_conf.c: libFuzzer target for the config lexer and parser
 * (src/core/conf_lex.c, conf_parse.c, and every directive handler behind them).
 *
 * Each input is
 *   1. tokenized on its own with fc_conf_read_token: every call must make
 *      progress, words must be NUL-terminated copies no longer than the
 *      input, line numbers must stay within the input's lines;
 *   2. parsed as a whole config file through fc_cycle_init (signal_only: no
 *      log files opened, no sockets), and as -g parameters.
 * Name resolution is replaced by a numeric-only getaddrinfo (no DNS), and
 * include only sees a scratch folder holding two small files.
 *
 * Fuzz (from the top, after ./configure):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iobjs t/fuzz/fuzz_conf.c \
 *       $(find src modules -name '*.c' ! -name main.c) objs/fc_modules.c \
 *       -lssl -lcrypto -lpcre2-8 -lz -lm -o objs/fuzz_conf
 *   objs/fuzz_conf -max_len=2048 -dict=t/fuzz/conf.dict t/fuzz/corpus/conf
 * Replay the corpus without libFuzzer:
 *   make && cc -DFC_FUZZ_REPLAY -g -Isrc -Iobjs t/fuzz/fuzz_conf.c objs/libfulcrum.a \
 *       -lssl -lcrypto -lpcre2-8 -lz -lm -o objs/fuzz_conf_replay &&
 *   objs/fuzz_conf_replay t/fuzz/corpus/conf
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/conf_lex.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <glob.h>
#include <netdb.h>
#include <sys/stat.h>

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_conf: %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[64]; /* scratch folder: the config, and what include may find */
static char fz_conf[128];

/* ---- no DNS, no files outside the scratch folder ------------------------------ */

/* Numeric hosts and "localhost" only; the library's getaddrinfo is never reached. */
int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
            struct addrinfo **res)
{
    (void) service;
    struct {
        struct addrinfo ai;
        struct sockaddr_storage ss;
    } *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return EAI_MEMORY;
    struct sockaddr_in *s4 = (struct sockaddr_in *) &r->ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &r->ss;
    if (node && strcmp(node, "localhost") == 0)
        node = "127.0.0.1";
    if (node && inet_pton(AF_INET, node, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        r->ai.ai_addrlen = sizeof(*s4);
    } else if (node && inet_pton(AF_INET6, node, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        r->ai.ai_addrlen = sizeof(*s6);
    } else {
        free(r);
        return EAI_NONAME;
    }
    r->ai.ai_family = r->ss.ss_family;
    r->ai.ai_socktype = hints ? hints->ai_socktype : SOCK_STREAM;
    r->ai.ai_addr = (struct sockaddr *) &r->ss;
    *res = &r->ai;
    return 0;
}

void
freeaddrinfo(struct addrinfo *res)
{
    free(res); /* one allocation holds the single result and its address */
}

/* ---- 1: the lexer alone ---------------------------------------------------------- */

static void
fz_lex(const uint8_t *data, size_t size)
{
    fc_pool_t *pool = fc_pool_create(4096, NULL);
    FZ_CHECK(pool != NULL);
    fc_log_t *log = fc_log_init();
    unsigned char *copy = fc_pnalloc(pool, size + 1); /* the lexer may look one byte ahead */
    FZ_CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';

    fc_conf_file_t file = {0};
    file.name.data = (unsigned char *) "fuzz";
    file.name.len = 4;
    file.start = file.pos = copy;
    file.end = copy + size;
    file.line = 1;
    fc_conf_t cf = {0};
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = log;
    cf.file = &file;
    cf.args = fc_array_create(pool, 8, sizeof(fc_str_t));
    FZ_CHECK(cf.args != NULL);

    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';

    for (size_t calls = 0;; calls++) {
        FZ_CHECK(calls <= size + 1);
        unsigned char *before = file.pos;
        int t = fc_conf_read_token(&cf);
        FZ_CHECK(file.pos >= file.start && file.pos <= file.end);
        FZ_CHECK(file.line >= 1 && file.line <= lines);
        FZ_CHECK(cf.dir_line >= 1 && cf.dir_line <= file.line);
        if (t == FC_CONF_TOKEN_FILE_DONE) {
            FZ_CHECK(file.pos == file.end);
            break;
        }
        if (t == FC_CONF_TOKEN_ERROR)
            break;
        FZ_CHECK(t == FC_CONF_TOKEN_DIRECTIVE || t == FC_CONF_TOKEN_BLOCK_START ||
                 t == FC_CONF_TOKEN_BLOCK_DONE);
        FZ_CHECK(file.pos > before); /* progress */
        FZ_CHECK((t == FC_CONF_TOKEN_BLOCK_DONE) == (cf.args->nelts == 0));
        size_t total = 0;
        fc_str_t *w = cf.args->elts;
        for (size_t i = 0; i < cf.args->nelts; i++) {
            FZ_CHECK(w[i].data != NULL && w[i].data[w[i].len] == '\0');
            total += w[i].len;
        }
        FZ_CHECK(total <= (size_t) (file.pos - before));
    }
    fc_pool_destroy(pool);
}

/* ---- 2: the whole parser ---------------------------------------------------------- */

static void
fz_setup(void)
{
    if (fz_dir[0])
        return;
    strcpy(fz_dir, "/tmp/fc-fuzz-conf-XXXXXX");
    FZ_CHECK(mkdtemp(fz_dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/a.inc", fz_dir);
    FILE *f = fopen(path, "w");
    FZ_CHECK(f != NULL);
    fputs("worker_processes 2;\n", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/b.inc", fz_dir);
    f = fopen(path, "w");
    FZ_CHECK(f != NULL);
    fputs("server 127.0.0.1:9000 weight=2;\n", f);
    fclose(f);
    snprintf(fz_conf, sizeof(fz_conf), "%s/fulcrum.conf", fz_dir);
    fc_time_update();
    /* Errors are expected by the thousand: keep them off stderr (the sanitizers use it). */
    fc_log_init()->level = FC_LOG_STDERR;
}

/* Only includes inside the scratch folder are followed: an input with both is skipped. */
static int
fz_include_ok(const uint8_t *data, size_t size)
{
    return memmem(data, size, "include", 7) == NULL || memchr(data, '/', size) == NULL;
}

static void
fz_parse(const uint8_t *data, size_t size, int as_params)
{
    fz_setup();
    FILE *f = fopen(fz_conf, "w");
    FZ_CHECK(f != NULL);
    if (!as_params && size)
        FZ_CHECK(fwrite(data, 1, size, f) == size);
    fclose(f);
    char prefix[80];
    snprintf(prefix, sizeof(prefix), "%s/", fz_dir);
    fc_cycle_params_t p = {0};
    p.prefix.data = (unsigned char *) prefix;
    p.prefix.len = strlen(prefix);
    p.conf_file.data = (unsigned char *) fz_conf;
    p.conf_file.len = strlen(fz_conf);
    p.signal_only = 1; /* parse and init confs; open no files or sockets */
    char *param = NULL;
    if (as_params) {
        param = malloc(size + 1);
        FZ_CHECK(param != NULL);
        memcpy(param, data, size);
        param[size] = '\0';
        p.conf_param.data = (unsigned char *) param;
        p.conf_param.len = size;
    }
    fc_cycle_t *cycle = fc_cycle_init(NULL, &p, fc_log_init());
    if (cycle) {
        FZ_CHECK(cycle->conf_files != NULL);
        fc_cycle_destroy(cycle);
    }
    free(param);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    fz_lex(data, size);
    if (!fz_include_ok(data, size))
        return 0;
    fz_parse(data, size, 0);
    fz_parse(data, size, 1);
    return 0;
}

#ifdef FC_FUZZ_REPLAY
#include "replay.h"

int
main(int argc, char **argv)
{
    int runs = 0, bad = fz_replay_args(argc, argv, &runs);
    if (fz_dir[0]) {
        char path[256];
        const char *names[] = {"fulcrum.conf", "a.inc", "b.inc"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%s/%s", fz_dir, names[i]);
            unlink(path);
        }
        rmdir(fz_dir);
    }
    printf("fuzz_conf: replayed %d inputs, %d unreadable\n", runs, bad);
    return bad == 0 && runs > 0 ? 0 : 1;
}

#endif
