/*
 * httpload - a small HTTP/1.1 load generator that counts every failure.
 *
 *   httpload -p PORT [-n CONNS] [-d MS] [-c keepalive|close] [-u PATH]
 *            [-h HOST] [-T MS]
 *
 * Keeps CONNS (default 8) connections to 127.0.0.1:PORT busy for MS
 * milliseconds (-d, default 5000; SIGTERM/SIGINT end the run early): each
 * sends "GET PATH HTTP/1.1" (-u, default /), reads the whole response
 * (Content-Length, chunked, or until close) and sends the next one at once.
 * With -c keepalive (default) a connection is reused until the server says
 * "Connection: close"; with -c close every request carries "Connection:
 * close" and gets a new connection.  When the run ends, requests in flight
 * are finished (bounded by -T).
 *
 * Counted as failures: a response that is not 2xx (non2xx), a connection
 * closed or reset while a request was outstanding, a read or write error
 * (errors), a failed connect (connect_errors), a malformed response (bad),
 * no complete response within -T MS (default 5000; timeouts).  The last line
 * is "requests=N ok=N non2xx=N errors=N connect_errors=N bad=N timeouts=N
 * conns=N" (conns: connections opened); the first failures are also
 * described on stderr.  Exit 0 only when every request got a 2xx.
 */
#define PROG "httpload"
#include "helpers.h"

#include <poll.h>
#include <strings.h>

#define MAX_CONNS 512
#define IN_CAP 65536
#define MAX_REPORTS 10

typedef struct {
    int fd, connecting, in_flight;
    size_t sent, in_len;
    long long deadline;
    /* response parsing */
    int have_head, status, close_after, chunked;
    long long clen, body_left; /* -1: until close */
    char in[IN_CAP];
} lc_t;

static struct {
    unsigned long long requests, ok, non2xx, errors, connect_errors, bad, timeouts, conns;
    int reports;
} st;

static char req[4096];
static size_t req_len;
static int port, close_mode, timeout_ms = 5000;

static void
report(const char *what, long v)
{
    if (st.reports++ < MAX_REPORTS)
        fprintf(stderr, "httpload: %s %ld\n", what, v);
}

static void
lc_close(lc_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in_flight = 0;
}

static void
lc_open(lc_t *c)
{
    struct sockaddr_in sa;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    loopback(&sa, port);
    st.conns++;
    c->connecting = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0;
    if (c->connecting && errno != EINPROGRESS) {
        st.connect_errors++;
        report("connect failed, errno", errno);
        lc_close(c);
    }
}

/* Start the next request on c (opening a connection when needed). */
static void
lc_start(lc_t *c)
{
    if (c->fd < 0)
        lc_open(c);
    if (c->fd < 0)
        return;
    c->in_flight = 1;
    c->sent = 0;
    c->in_len = 0;
    c->have_head = 0;
    c->deadline = now_ms() + timeout_ms;
    st.requests++;
}

/* A failure while a request was outstanding: count it, drop the connection. */
static void
lc_fail(lc_t *c, unsigned long long *counter, const char *what)
{
    (*counter)++;
    if (st.reports++ < MAX_REPORTS)
        fprintf(stderr, "httpload: request failed: %s (%zu bytes of response)\n", what, c->in_len);
    lc_close(c);
}

static void
lc_done(lc_t *c)
{
    if (c->status >= 200 && c->status < 300) {
        st.ok++;
    } else {
        st.non2xx++;
        report("status", c->status);
    }
    c->in_flight = 0;
    if (c->close_after || close_mode)
        lc_close(c);
}

/* Parse the response head in c->in; 1 done, 0 need more, -1 bad. */
static int
parse_head(lc_t *c)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4), *line, *eol, *v;
    size_t hl;

    if (end == NULL)
        return c->in_len == IN_CAP ? -1 : 0;
    if (sscanf(c->in, "HTTP/1.%*1d %3d", &c->status) != 1 || c->status < 100)
        return -1;
    c->clen = -1;
    c->chunked = 0;
    c->close_after = 0;
    for (line = (char *)memchr(c->in, '\n', (size_t)(end + 2 - c->in)) + 1; line < end + 2;
         line = eol + 2) {
        eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        v = memchr(line, ':', (size_t)(eol - line));
        if (v == NULL)
            return -1;
        for (v++; *v == ' '; v++)
            ;
        if (strncasecmp(line, "content-length:", 15) == 0)
            c->clen = strtoll(v, NULL, 10);
        else if (strncasecmp(line, "transfer-encoding:", 18) == 0)
            c->chunked = strncasecmp(v, "chunked", 7) == 0;
        else if (strncasecmp(line, "connection:", 11) == 0)
            c->close_after = strncasecmp(v, "close", 5) == 0;
    }
    hl = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + hl, c->in_len - hl);
    c->in_len -= hl;
    c->have_head = 1;
    if (c->status == 204 || c->status == 304)
        c->clen = 0;
    c->body_left = c->chunked ? 0 : c->clen;
    if (!c->chunked && c->clen < 0)
        c->close_after = 1;
    return 1;
}

/* Consume body bytes in c->in; 1 complete, 0 need more, -1 bad. */
static int
parse_body(lc_t *c)
{
    char *eol, *e;
    long long n;

    for (;;) {
        if (!c->chunked) {
            if (c->clen < 0) { /* until close: drop what came */
                c->in_len = 0;
                return 0;
            }
            n = c->body_left < (long long)c->in_len ? c->body_left : (long long)c->in_len;
            c->body_left -= n;
            memmove(c->in, c->in + n, c->in_len - (size_t)n);
            c->in_len -= (size_t)n;
            return c->body_left == 0;
        }
        if (c->body_left > 0) { /* inside a chunk's data (+ its CRLF) */
            n = c->body_left < (long long)c->in_len ? c->body_left : (long long)c->in_len;
            c->body_left -= n;
            memmove(c->in, c->in + n, c->in_len - (size_t)n);
            c->in_len -= (size_t)n;
            if (c->body_left > 0)
                return 0;
        }
        eol = memmem(c->in, c->in_len, "\r\n", 2);
        if (eol == NULL)
            return c->in_len > 1024 ? -1 : 0;
        n = strtoll(c->in, &e, 16);
        if (e == c->in || n < 0)
            return -1;
        if (n == 0) { /* last chunk: no trailers expected */
            if (c->in_len < (size_t)(eol - c->in) + 4)
                return 0;
            c->in_len = 0;
            return 1;
        }
        c->body_left = n + 2;
        n = eol + 2 - c->in;
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
    }
}

static void
lc_read(lc_t *c)
{
    ssize_t n;
    int rc;

    for (;;) {
        n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            lc_fail(c, &st.errors, strerror(errno));
            return;
        }
        if (n == 0) {
            if (c->in_flight && c->have_head && !c->chunked && c->clen < 0)
                lc_done(c); /* the body ended with the connection */
            else if (c->in_flight)
                lc_fail(c, &st.errors, "closed by the server");
            lc_close(c);
            return;
        }
        c->in_len += (size_t)n;
        if (!c->in_flight) {
            lc_fail(c, &st.bad, "bytes without a request");
            return;
        }
        if (!c->have_head && (rc = parse_head(c)) <= 0) {
            if (rc < 0)
                lc_fail(c, &st.bad, "bad response head");
            continue;
        }
        rc = parse_body(c);
        if (rc < 0) {
            lc_fail(c, &st.bad, "bad chunked body");
            return;
        }
        if (rc == 1) {
            if (c->in_len > 0) {
                lc_fail(c, &st.bad, "bytes after the response");
                return;
            }
            lc_done(c);
            return;
        }
    }
}

static void
lc_write(lc_t *c)
{
    ssize_t n;
    int err = 0;
    socklen_t len = sizeof(err);

    if (c->connecting) {
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            st.requests--;
            st.connect_errors++;
            report("connect failed, errno", err);
            lc_close(c);
            return;
        }
        c->connecting = 0;
    }
    while (c->sent < req_len) {
        n = write(c->fd, req + c->sent, req_len - c->sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            lc_fail(c, &st.errors, strerror(errno));
            return;
        }
        c->sent += (size_t)n;
    }
}

/* One round of poll over every connection; returns how many are busy. */
static int
step(lc_t *cs, int nc, int running)
{
    struct pollfd pfd[MAX_CONNS];
    long long now = now_ms();
    int i, busy = 0, n;

    for (i = 0; i < nc; i++) {
        if (running && !cs[i].in_flight)
            lc_start(&cs[i]);
        pfd[i].fd = cs[i].in_flight ? cs[i].fd : -1;
        pfd[i].events = (short)(POLLIN | (cs[i].connecting || cs[i].sent < req_len ? POLLOUT : 0));
        pfd[i].revents = 0;
        busy += cs[i].in_flight;
    }
    n = poll(pfd, (nfds_t)nc, 50);
    if (n < 0 && errno != EINTR)
        die("poll");
    now = now_ms();
    for (i = 0; i < nc; i++) {
        if (!cs[i].in_flight)
            continue;
        if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
            lc_write(&cs[i]);
        if (cs[i].in_flight && cs[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
            lc_read(&cs[i]);
        if (cs[i].in_flight && now > cs[i].deadline)
            lc_fail(&cs[i], &st.timeouts, "timeout");
    }
    return busy;
}

int
main(int argc, char **argv)
{
    const char *path = "/", *host = "localhost", *mode = "keepalive";
    int opt, nc = 8, dur = 5000, i, sfd;
    long long end, stop_by;
    lc_t *cs;
    struct signalfd_siginfo si;

    while ((opt = getopt(argc, argv, "p:n:d:c:u:h:T:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'n': nc = atoi(optarg); break;
        case 'd': dur = atoi(optarg); break;
        case 'c': mode = optarg; break;
        case 'u': path = optarg; break;
        case 'h': host = optarg; break;
        case 'T': timeout_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: httpload -p PORT [-n CONNS] [-d MS] [-c keepalive|close] "
                            "[-u PATH] [-h HOST] [-T MS]\n");
            return 2;
        }
    }
    require_port(port, 2);
    if (nc < 1 || nc > MAX_CONNS || (strcmp(mode, "keepalive") != 0 && strcmp(mode, "close") != 0)) {
        fprintf(stderr, "httpload: -n 1..%d, -c keepalive|close\n", MAX_CONNS);
        return 2;
    }
    close_mode = mode[0] == 'c';
    req_len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path,
                               host, close_mode ? "Connection: close\r\n" : "");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    sfd = term_signalfd(SFD_NONBLOCK);
    cs = calloc((size_t)nc, sizeof(*cs));
    if (cs == NULL)
        die("calloc");
    for (i = 0; i < nc; i++)
        cs[i].fd = -1;
    end = now_ms() + dur;
    while (now_ms() < end && read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        step(cs, nc, 1);
    stop_by = now_ms() + timeout_ms + 100;
    while (step(cs, nc, 0) > 0 && now_ms() < stop_by)
        ;
    for (i = 0; i < nc; i++)
        lc_close(&cs[i]);
    printf("requests=%llu ok=%llu non2xx=%llu errors=%llu connect_errors=%llu bad=%llu "
           "timeouts=%llu conns=%llu\n",
           st.requests, st.ok, st.non2xx, st.errors, st.connect_errors, st.bad, st.timeouts,
           st.conns);
    free(cs);
    return st.ok == st.requests && st.connect_errors == 0 && st.requests > 0 ? 0 : 1;
}
