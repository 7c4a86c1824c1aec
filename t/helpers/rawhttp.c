/*
 * rawhttp - send raw bytes, print the raw answer (HTTP smuggling tests).
 *
 *   rawhttp -p PORT [-e] [-c] [-t IDLE_MS] [-s SEG -d MS] [-w MS] [FILE]
 *
 * Sends the bytes of FILE (default stdin) to 127.0.0.1:PORT exactly as
 * given, reads until the server closes or nothing arrives for IDLE_MS
 * (default 2000), and copies what it received to stdout unchanged (flushed
 * as it arrives, so a test can watch it grow).
 *   -e         interpret \r \n \t \0 \\ \xHH escapes in the input first
 *   -c         half-close (shutdown write) after the last byte
 *   -s SEG     send in segments of SEG bytes, pausing -d MS between them
 *   -w MS      read nothing until MS after the last byte was sent (a client
 *              that does not read, for send timeouts)
 * Exit status: 0 the server closed (FIN), 2 idle timeout, 3 reset,
 * 1 connect or other error.
 */
#define PROG "rawhttp"
#include "helpers.h"

#include <poll.h>

static char *
slurp(int fd, size_t *len)
{
    size_t cap = 65536;
    char *p = malloc(cap);
    ssize_t n;

    *len = 0;
    for (;;) {
        if (p == NULL)
            die("malloc");
        n = read(fd, p + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            return p;
        *len += (size_t)n;
        if (*len == cap)
            p = realloc(p, cap *= 2);
    }
}

static int
connect_to(int port)
{
    struct sockaddr_in sa;
    int fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    loopback(&sa, port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        die("fcntl");
    return fd;
}

int
main(int argc, char **argv)
{
    int port = 0, esc = 0, half = 0, idle_ms = 2000, seg_ms = 0, opt, fd, in = 0, rc = -1;
    int wait_ms = 0, can_read, timeout;
    size_t len, off = 0, seg = 0, seg_end;
    long long next_seg = 0, now, read_at = 0; /* 0: read at once; -1: not yet */
    char *data, buf[65536];
    struct pollfd pfd;
    ssize_t n;

    while ((opt = getopt(argc, argv, "p:ect:s:d:w:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'e': esc = 1; break;
        case 'c': half = 1; break;
        case 't': idle_ms = atoi(optarg); break;
        case 's': seg = strtoul(optarg, NULL, 10); break;
        case 'd': seg_ms = atoi(optarg); break;
        case 'w': wait_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: rawhttp -p PORT [-e] [-c] [-t MS] [-s SEG -d MS] [-w MS] "
                            "[FILE]\n");
            return 1;
        }
    }
    require_port(port, 1);
    if (optind < argc && (in = open(argv[optind], O_RDONLY | O_CLOEXEC)) < 0)
        die(argv[optind]);
    data = slurp(in, &len);
    if (esc)
        len = unescape(data, len);
    signal(SIGPIPE, SIG_IGN);
    fd = connect_to(port);

    seg_end = seg ? (seg < len ? seg : len) : len;
    if (wait_ms > 0)
        read_at = len == 0 ? now_ms() + wait_ms : -1;
    if (len == 0 && half)
        shutdown(fd, SHUT_WR);
    while (rc < 0) {
        now = now_ms();
        if (off == seg_end && seg_end < len && now >= next_seg) /* next segment due */
            seg_end = seg_end + seg < len ? seg_end + seg : len;
        can_read = read_at == 0 || (read_at > 0 && now >= read_at);
        pfd.fd = fd;
        pfd.events = (short)((can_read ? POLLIN : 0) | (off < seg_end ? POLLOUT : 0));
        /* the idle timeout only counts once everything is sent */
        timeout = off == len ? idle_ms : off < seg_end ? -1 : next_seg > now ? (int)(next_seg - now) : 0;
        if (!can_read && off == len)
            timeout = (int)(read_at - now);
        n = poll(&pfd, 1, timeout);
        if (n < 0 && errno != EINTR)
            die("poll");
        if (n == 0 && off == len && can_read)
            rc = 2;
        if (n > 0 && !can_read && !(pfd.revents & POLLOUT)) {
            /* a hang-up while we must not read yet: just wait */
            if (read_at > 0)
                poll(NULL, 0, (int)(read_at - now));
            continue;
        }
        if (n <= 0)
            continue;
        if ((pfd.revents & POLLOUT) && off < seg_end) {
            n = write(fd, data + off, seg_end - off);
            if (n > 0) {
                off += (size_t)n;
                if (off == seg_end)
                    next_seg = now_ms() + seg_ms;
                if (off == len && half)
                    shutdown(fd, SHUT_WR);
                if (off == len && wait_ms > 0)
                    read_at = now_ms() + wait_ms;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                rc = errno == ECONNRESET || errno == EPIPE ? 3 : 1;
            }
        }
        if (rc < 0 && can_read && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            n = read(fd, buf, sizeof(buf));
            if (n > 0) { /* flushed at once: tests watch the output grow */
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
            }
            else if (n == 0)
                rc = 0;
            else if (errno != EAGAIN && errno != EINTR)
                rc = errno == ECONNRESET ? 3 : 1;
        }
    }
    fflush(stdout);
    free(data);
    if (rc == 3)
        fprintf(stderr, "rawhttp: connection reset\n");
    return rc;
}
