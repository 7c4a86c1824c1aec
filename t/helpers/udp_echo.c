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
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DGRAM 65536

static void
die(const char *what)
{
    dprintf(2, "udp_echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

int
main(int argc, char **argv)
{
    static char in[MAX_DGRAM], out[MAX_DGRAM + 256];
    const char *id = NULL;
    int port = 0, count = 1, opt, fd, sfd, log_fd = 2, one = 1, k;
    unsigned long ndgrams = 0;
    struct sockaddr_in sa, from;
    socklen_t fromlen;
    struct pollfd pfd[2];
    sigset_t mask;
    size_t plen = 0;
    ssize_t n;

    while ((opt = getopt(argc, argv, "p:i:l:n:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': id = optarg; break;
        case 'n': count = atoi(optarg); break;
        case 'l':
            log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (log_fd < 0)
                die(optarg);
            break;
        default:
            dprintf(2, "usage: udp_echo -p PORT [-i ID] [-l LOGFILE] [-n COUNT]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        dprintf(2, "udp_echo: -p PORT is required\n");
        return 2;
    }
    if (id != NULL) {
        plen = strlen(id) + 1;
        if (plen > 255)
            plen = 255;
        memcpy(out, id, plen - 1);
        out[plen - 1] = ':';
    }

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        die("signalfd");

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");

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
