/*
 * unit_cycle.h: the fixture of the suites that build a real cycle from
 * config text in test mode, as `fulcrum -t` does (check_conf,
 * check_http_if, check_http_location, and the directive cases of
 * check_http_range and check_http_not_modified). Included by one suite file only:
 * it defines that file's folder, captured stderr and cycle. "@D@" in
 * texts stands for the folder, and replaces it in the captured output.
 */
#ifndef FC_UNIT_CYCLE_H
#define FC_UNIT_CYCLE_H

#include "unit.h"
#include <ftw.h>
#include <sys/stat.h>

#include "core/fc_core.h"
#include "core/cycle.h"

static char dir[64];      /* the temporary folder (prefix), without a trailing slash */
static char out[16384];   /* captured stderr, with the folder replaced by @D@ */
static fc_cycle_t *cycle; /* the last cycle built (destroyed by teardown) */

static inline int
fc_unit_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* Makes the folder from a mkdtemp() template, with DIR/logs when `logs` (a default access_log). */
static inline void
fc_unit_cycle_setup(const char *tmpl, int logs)
{
    snprintf(dir, sizeof(dir), "%s", tmpl);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (logs) {
        char path[96];
        snprintf(path, sizeof(path), "%s/logs", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
    }
    out[0] = '\0';
    cycle = NULL;
}

static inline void
fc_unit_cycle_teardown(void)
{
    fc_cycle_destroy(cycle);
    cycle = NULL;
    nftw(dir, fc_unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* text with @D@ replaced by the folder (malloc'd) */
static inline char *
expand(const char *text)
{
    size_t n = 1, dl = strlen(dir);
    for (const char *p = text; *p; p++)
        n += strncmp(p, "@D@", 3) == 0 ? dl : 1;
    char *r = malloc(n), *d = r;
    ck_assert_ptr_nonnull(r);
    while (*text) {
        if (strncmp(text, "@D@", 3) == 0) {
            memcpy(d, dir, dl);
            d += dl;
            text += 3;
        } else {
            *d++ = *text++;
        }
    }
    *d = '\0';
    return r;
}

/* Writes DIR/rel (creating folders) with text, @D@ expanded. */
static inline void
write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    char *body = expand(text);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(body, f);
    fclose(f);
    free(body);
}

/* Replaces every occurrence of the folder in out by @D@. */
static inline void
fc_unit_collapse(void)
{
    size_t dl = strlen(dir);
    char *p;
    while ((p = strstr(out, dir)) != NULL) {
        memcpy(p, "@D@", 3);
        memmove(p + 3, p + dl, strlen(p + dl) + 1);
    }
}

/*
 * Builds a cycle from DIR/<conf> (with -g params if not NULL) in test mode,
 * capturing fd 2 into out. Returns the cycle (NULL if the config was rejected).
 */
static inline fc_cycle_t *
fc_unit_cycle_build(const char *conf, const char *params)
{
    char prefix[128], file[256], errpath[128];
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    snprintf(file, sizeof(file), "%s/%s", dir, conf);
    snprintf(errpath, sizeof(errpath), "%s.stderr", dir);
    fc_cycle_params_t p;
    memset(&p, 0, sizeof(p));
    p.prefix.data = (unsigned char *) prefix;
    p.prefix.len = strlen(prefix);
    p.conf_file.data = (unsigned char *) file;
    p.conf_file.len = strlen(file);
    if (params) {
        p.conf_param.data = (unsigned char *) params;
        p.conf_param.len = strlen(params);
    }
    p.test_only = 1;

    fflush(stderr);
    int saved = dup(2);
    int fd = open(errpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    fc_cycle_destroy(cycle);
    cycle = fc_cycle_init(NULL, &p, fc_log_init());
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
    close(fd);
    unlink(errpath);
    out[n > 0 ? n : 0] = '\0';
    fc_unit_collapse();
    return cycle;
}

/*
 * One directive case: a config with `http` at http level (line 2) and `loc`
 * in location / (line 6) must be accepted (err NULL), or rejected with
 * "fulcrum: [emerg] <err>" on stderr.
 */
static inline void
fc_unit_cycle_directive(const char *http, const char *loc, const char *err)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "events {}\n"
             "http { %s\n"
             "  server {\n"
             "    listen unix:@D@/d.sock;\n"
             "    location / {\n"
             "      %s\n"
             "    }\n"
             "  }\n"
             "}\n",
             http, loc);
    write_file("fulcrum.conf", text);
    fc_cycle_t *c = fc_unit_cycle_build("fulcrum.conf", NULL);
    if (err == NULL) {
        ck_assert_msg(c != NULL, "%s / %s: rejected: %s", http, loc, out);
        return;
    }
    ck_assert_ptr_null(c);
    char want[512];
    snprintf(want, sizeof(want), "fulcrum: [emerg] %s", err);
    ck_assert_msg(strstr(out, want) != NULL, "%s: got \"%s\"", loc, out);
}

#endif
