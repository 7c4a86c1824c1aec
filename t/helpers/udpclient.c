/*
 * udpclient - send datagrams, print the replies (UDP tests).
 *
 *   udpclient [-a ADDR] -p PORT [-r REPLIES] [-t IDLE_MS] MESSAGE...
 *
 * Sends each MESSAGE as one datagram to ADDR:PORT (default 127.0.0.1) from
 * one connected socket (so replies from another address are not seen),
 * then prints every reply on its own line until REPLIES replies arrived
 * (default: one per message) or nothing arrived for IDLE_MS (default 2000).
 * Exit 0 when all expected replies came, 2 on timeout, 1 on errors.
 */
#define PROG "udpclient"
#include "helpers.h"

#include <poll.h>

int
main(int argc, char **argv)
{
    int port = 0, want = -1, idle_ms = 2000, opt, fd, got = 0, i;
    struct sockaddr_in sa;
    struct pollfd pfd;
    char buf[65536];
    ssize_t n;

    const char *addr = NULL;
    while ((opt = getopt(argc, argv, "a:p:r:t:")) != -1) {
        switch (opt) {
        case 'a':
            addr = optarg;
            break;
        case 'p': port = atoi(optarg); break;
        case 'r': want = atoi(optarg); break;
        case 't': idle_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: udpclient [-a ADDR] -p PORT [-r REPLIES] [-t MS] MESSAGE...\n");
            return 1;
        }
    }
    require_port(port, 1);
    if (want < 0)
        want = argc - optind;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    loopback(&sa, port);
    if (addr && inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        die("inet_pton");
    /* connected UDP: replies from anyone else are filtered out for us */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    for (i = optind; i < argc; i++)
        if (send(fd, argv[i], strlen(argv[i]), 0) < 0)
            perror("udpclient: send");
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (got < want) {
        n = poll(&pfd, 1, idle_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* ECONNREFUSED: an ICMP port unreachable, nobody listens */
            fprintf(stderr, "udpclient: recv: %s\n", strerror(errno));
            return 1;
        }
        printf("%.*s\n", (int)n, buf);
        got++;
    }
    return got < want ? 2 : 0;
}
