/*
 * udp_echo - UDP echo server for the fulcrum test suite.
 *
 *   udp_echo -p PORT [-i ID] [-l LOGFILE] [-n COUNT]
 *
 * Binds 127.0.0.1:PORT (UDP) and sends every datagram back to its sender,
 * prefixed with "ID:" when -i is given.  With -n COUNT it answers each
 * datagram COUNT times (0 = swallow it), for proxy_responses tests.  One log
 * line per datagram ("dgram N 127.0.0.1:PORT LEN") goes to stderr or the -l
 * file, so tests can count what reached the backend.  SIGTERM/SIGINT end it.
 */
#define PROG "udp_echo"
#include "helpers.h"

#include <poll.h>

#define MAX_DGRAM 65536

int
main(int argc, char **argv)
{
    static char in[MAX_DGRAM], out[MAX_DGRAM + 256];
    const char *id = NULL;
    int port = 0, count = 1, opt, fd, sfd, log_fd = 2, k;
    unsigned long ndgrams = 0;
    struct sockaddr_in from;
    socklen_t fromlen;
    struct pollfd pfd[2];
    size_t plen = 0;
    ssize_t n;

    while ((opt = getopt(argc, argv, "p:i:l:n:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': id = optarg; break;
        case 'n': count = atoi(optarg); break;
        case 'l': log_fd = open_log(optarg); break;
        default:
            dprintf(2, "usage: udp_echo -p PORT [-i ID] [-l LOGFILE] [-n COUNT]\n");
            return 2;
        }
    }
    require_port(port, 2);
    if (id != NULL) {
        plen = strlen(id) + 1;
        if (plen > 255)
            plen = 255;
        memcpy(out, id, plen - 1);
        out[plen - 1] = ':';
    }

    sfd = term_signalfd(SFD_NONBLOCK);
    fd = server_socket(SOCK_DGRAM, port, 0);

    pfd[0].fd = fd;
    pfd[0].events = POLLIN;
    pfd[1].fd = sfd;
    pfd[1].events = POLLIN;
    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pfd[1].revents)
            return 0;
        /* drain everything queued before polling again */
        for (;;) {
            fromlen = sizeof(from);
            n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fromlen);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN)
                    dprintf(2, "udp_echo: recvfrom: %s\n", strerror(errno));
                break;
            }
            dprintf(log_fd, "dgram %lu %s:%u %zd\n", ++ndgrams, inet_ntoa(from.sin_addr),
                    ntohs(from.sin_port), n);
            memcpy(out + plen, in, (size_t)n);
            for (k = 0; k < count; k++) {
                /* a full socket buffer just drops the reply, as UDP may */
                if (sendto(fd, out, plen + (size_t)n, 0, (struct sockaddr *)&from, fromlen) < 0
                    && errno != EAGAIN)
                    dprintf(2, "udp_echo: sendto: %s\n", strerror(errno));
            }
        }
    }
}
