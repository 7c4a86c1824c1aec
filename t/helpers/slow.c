/*
 * slow - a backend that stalls, for timeout tests.
 *
 *   slow -p PORT [-l LOGFILE] [-d MS] [-t MS] [-b BYTES] [-R] [-N]
 *
 * Accepts connections and reads (and discards) whatever arrives, but never
 * answers.  Options:
 *   -d MS     answer MS ms after the accept, then close
 *   -t MS     trickle: send the answer one byte every MS ms (after -d)
 *   -b BYTES  the answer (\r \n \t \\ \xHH escapes interpreted); default a
 *             small "HTTP/1.1 200 OK" response with body "slow\n"
 *   -R        never read, so the peer's writes eventually block
 *   -N        never accept: listen with backlog 0 and leave the queue full,
 *             so further connects hang (connect-timeout tests)
 * One log line per accepted connection ("accept N 127.0.0.1:PORT").
 * SIGTERM/SIGINT end it.
 */
#define PROG "slow"
#include "helpers.h"

typedef struct conn_s {
    int fd;
    size_t sent;         /* bytes of the answer already written */
    long long deadline;  /* next time to write; 0 = never */
    struct conn_s *prev, *next;
} conn_t;

static int log_fd = 2, ep, no_read;
static long long delay_ms = -1, trickle_ms;
static char answer[65536];
static size_t answer_len;
static conn_t *conns;

static void
conn_close(conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c);
}

/* Read and drop input; close when the peer goes away. */
static void
conn_read(conn_t *c)
{
    char buf[65536];
    ssize_t n;

    for (;;) {
        n = read(c->fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && c->deadline) {
            /*
             * The peer half-closed but an answer is due: a half-close-aware
             * server still sends it. Stop watching for input (EOF would
             * keep firing) and let the deadline finish the connection.
             */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (n == 0 || errno != EAGAIN)
            conn_close(c);
        return;
    }
}

/* Write the due part of the answer; close once all of it is out. */
static void
conn_write(conn_t *c, long long now)
{
    size_t want = trickle_ms > 0 ? 1 : answer_len - c->sent;
    ssize_t n;

    n = write(c->fd, answer + c->sent, want);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        conn_close(c);
        return;
    }
    if (n > 0)
        c->sent += (size_t)n;
    if (c->sent >= answer_len) {
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
        return;
    }
    /* a short write retries soon; a trickle waits for its next tick */
    c->deadline = now + (n > 0 && trickle_ms > 0 ? trickle_ms : 10);
}

static void
accept_all(int lfd)
{
    struct sockaddr_in sa;
    conn_t *c;
    int fd;
    static unsigned long nconns;

    while ((fd = accept_next(lfd, &sa)) >= 0) {
        log_accept(log_fd, ++nconns, &sa);
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        c->deadline = delay_ms >= 0 ? now_ms() + delay_ms : 0;
        c->next = conns;
        if (conns)
            conns->prev = c;
        conns = c;
        /* with -R we only watch for the peer leaving (RDHUP needs no read) */
        ep_ctl(ep, EPOLL_CTL_ADD, fd, no_read ? EPOLLRDHUP : EPOLLIN, c);
    }
}

static int
next_timeout(void)
{
    long long best = 0, now = now_ms();
    conn_t *c;

    for (c = conns; c; c = c->next)
        if (c->deadline && (best == 0 || c->deadline < best))
            best = c->deadline;
    if (best == 0)
        return -1;
    return best <= now ? 0 : (int)(best - now);
}

int
main(int argc, char **argv)
{
    static const char dflt[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n"
                               "\r\nslow\n";
    int port = 0, opt, lfd, sfd, i, n, no_accept = 0;
    struct epoll_event evs[256];
    conn_t *c, *next;
    long long now;

    memcpy(answer, dflt, sizeof(dflt) - 1);
    answer_len = sizeof(dflt) - 1;
    while ((opt = getopt(argc, argv, "p:l:d:t:b:RN")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'd': delay_ms = atoll(optarg); break;
        case 't': trickle_ms = atoll(optarg); break;
        case 'R': no_read = 1; break;
        case 'N': no_accept = 1; break;
        case 'b': answer_len = escaped_arg(answer, sizeof(answer), optarg); break;
        case 'l': log_fd = open_log(optarg); break;
        default:
            dprintf(2, "usage: slow -p PORT [-l LOG] [-d MS] [-t MS] [-b BYTES] [-R] [-N]\n");
            return 2;
        }
    }
    require_port(port, 2);
    if (trickle_ms > 0 && delay_ms < 0)
        delay_ms = 0;

    ep = tcp_server(port, no_accept ? 0 : 1024, !no_accept, &lfd, &sfd);

    for (;;) {
        n = ep_wait(ep, evs, 256, next_timeout());
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else if (no_read || (evs[i].events & EPOLLERR))
                conn_close(evs[i].data.ptr); /* the peer left */
            else
                conn_read(evs[i].data.ptr);
        }
        now = now_ms();
        for (c = conns; c; c = next) {
            next = c->next;
            if (c->deadline && c->deadline <= now)
                conn_write(c, now);
        }
    }
}
