/*
 * freeport - print a TCP+UDP port that is free on 127.0.0.1.
 *
 *   freeport [EXCLUDED_PORT...]
 *
 * Picks random candidates in 20000-32767 (below Linux's default ephemeral
 * range, so outgoing connections will not grab it later), binds each one
 * for TCP and for UDP to check it is really free, and prints the first that
 * is and is not excluded.  Exit 1 if 500 candidates all fail.
 */
#define PROG "freeport"
#include "helpers.h"

static int
can_bind(int type, int port)
{
    struct sockaddr_in sa;
    int fd, ok;

    fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    loopback(&sa, port);
    /* no SO_REUSEADDR: a port still in TIME_WAIT counts as busy */
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

int
main(int argc, char **argv)
{
    struct timespec ts;
    int tries, port, i, excluded;

    clock_gettime(CLOCK_REALTIME, &ts);
    srandom((unsigned)(ts.tv_nsec ^ ts.tv_sec ^ (getpid() << 16)));
    for (tries = 0; tries < 500; tries++) {
        port = 20000 + (int)(random() % 12768);
        for (excluded = 0, i = 1; i < argc; i++)
            excluded |= atoi(argv[i]) == port;
        if (!excluded && can_bind(SOCK_STREAM, port) && can_bind(SOCK_DGRAM, port)) {
            printf("%d\n", port);
            return 0;
        }
    }
    fprintf(stderr, "freeport: no free port found\n");
    return 1;
}
