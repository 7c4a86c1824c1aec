/*
 * proctitle.c: process titles as nginx shows them in ps:
 * "fulcrum: master process /path/fulcrum -c conf" and "fulcrum: worker
 * process". Scripts find workers that way (pgrep -f "worker process").
 *
 * Linux keeps argv and environ in one contiguous area; the title is written
 * over it after environ is copied elsewhere. The area belongs to the
 * process, not to a cycle, so its description is the one piece of
 * process-wide state here, set once before anything forks.
 */
#include "core/fc_core.h"
#include "core/proctitle.h"

extern char **environ;

static struct {
    char *start;
    size_t size;
    char cmdline[512]; /* the original command line, for the master's title */
    char **env_copies; /* every copied variable, whatever `env` later removes from environ */
} proctitle;

void
fc_proctitle_init(int argc, char **argv)
{
    if (argc < 1 || argv[0] == NULL)
        return;
    size_t off = 0;
    for (int i = 0; i < argc && off < sizeof(proctitle.cmdline) - 1; i++) {
        int n = snprintf(proctitle.cmdline + off, sizeof(proctitle.cmdline) - off, "%s%s",
                         i ? " " : "", argv[i]);
        if (n < 0)
            break;
        off = fc_min(off + (size_t) n, sizeof(proctitle.cmdline) - 1);
    }
    char *end = argv[0] + strlen(argv[0]) + 1;
    for (int i = 1; i < argc; i++)
        if (argv[i] == end)
            end = argv[i] + strlen(argv[i]) + 1;
    size_t nenv = 0;
    for (char **e = environ; e && *e; e++)
        nenv++;
    char **copy = calloc(nenv + 1, sizeof(char *));
    proctitle.env_copies = calloc(nenv + 1, sizeof(char *));
    if (copy == NULL || proctitle.env_copies == NULL)
        return;
    for (size_t i = 0; i < nenv; i++) {
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
        copy[i] = strdup(environ[i]);
        if (copy[i] == NULL)
            return;
        proctitle.env_copies[i] = copy[i];
    }
    char *area = argv[0];
    for (int i = 0; i < argc; i++) {
        /* The options are parsed (and -g kept for reloads) from copies. */
        char *a = strdup(argv[i]);
        if (a == NULL)
            return;
        argv[i] = a;
    }
    environ = copy; /* the originals are about to be overwritten */
    proctitle.start = area;
    proctitle.size = (size_t) (end - area);
}

void
fc_proctitle_set(const char *what)
{
    if (proctitle.start == NULL || proctitle.size < 2)
        return;
    const char *sep = strcmp(what, "master process") == 0 ? " " : "";
    const char *tail = *sep ? proctitle.cmdline : "";
    int n = snprintf(proctitle.start, proctitle.size, "fulcrum: %s%s%s", what, sep, tail);
    size_t used = n < 0 ? 0 : fc_min((size_t) n + 1, proctitle.size);
    memset(proctitle.start + used, 0, proctitle.size - used);
}
