/*
 * udpclient - send datagrams, print the replies (UDP tests).
 *
 *   udpclient -p PORT [-r REPLIES] [-t IDLE_MS] MESSAGE...
 *
 * Sends each MESSAGE as one datagram to 127.0.0.1:PORT from one socket,
 * then prints every reply on its own line until REPLIES replies arrived
 * (default: one per message) or nothing arrived for IDLE_MS (default 2000).
 * Exit 0 when all expected replies came, 2 on timeout, 1 on errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
    int port = 0, want = -1, idle_ms = 2000, opt, fd, got = 0, i;
    struct sockaddr_in sa;
    struct pollfd pfd;
    char buf[65536];
    ssize_t n;

    while ((opt = getopt(argc, argv, "p:r:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'r': want = atoi(optarg); break;
        case 't': idle_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: udpclient -p PORT [-r REPLIES] [-t MS] MESSAGE...\n");
            return 1;
        }
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "udpclient: -p PORT is required\n");
        return 1;
    }
    if (want < 0)
        want = argc - optind;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("udpclient: socket");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* connected UDP: replies from anyone else are filtered out for us */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("udpclient: connect");
        return 1;
    }
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
