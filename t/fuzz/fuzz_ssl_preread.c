/*
 * fuzz_ssl_preread.c: libFuzzer target for the ClientHello reader behind
 * ssl_preread (src/stream/ssl_preread_parse.c).
 *
 * Each input is parsed whole with a scratch buffer of exactly its size, then
 * every prefix is parsed too (the way a hello arrives in TCP segments): the
 * prefixes must say FC_AGAIN until the first FC_OK and FC_OK from there on,
 * and a hello's strings must lie inside the scratch buffer. A disagreement
 * traps.
 *
 * Fuzz (from the top, after ./configure):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iobjs \
 *       t/fuzz/fuzz_ssl_preread.c src/stream/ssl_preread_parse.c -o objs/fuzz_ssl_preread
 *   objs/fuzz_ssl_preread -max_len=4096 t/fuzz/corpus/ssl_preread
 */
#include "core/fc_core.h"
#include "stream/ssl_preread_parse.h"

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ssl_preread: %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void
fz_in(const fc_str_t *s, const unsigned char *scratch, size_t size)
{
    if (s->len == 0)
        return;
    FZ_CHECK(s->data >= scratch && s->data + s->len <= scratch + size);
}

static void
fz_hello(const fc_stream_tls_hello_t *h, const unsigned char *scratch, size_t size)
{
    fz_in(&h->server_name, scratch, size);
    fz_in(&h->alpn, scratch, size);
    FZ_CHECK(h->server_name.len <= FC_TLS_SNI_MAX);
    if (h->server_name.len)
        FZ_CHECK(memchr(h->server_name.data, '\0', h->server_name.len) == NULL);
    /* ALPN names are any bytes (commas too), as nginx passes them on: bounds only. */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *scratch = malloc(size ? size : 1);
    FZ_CHECK(scratch != NULL);
    fc_stream_tls_hello_t h;
    int rc = fc_stream_tls_hello_parse(data, size, scratch, size, &h);
    FZ_CHECK(rc == FC_OK || rc == FC_AGAIN || rc == FC_DECLINED);
    if (rc == FC_DECLINED)
        FZ_CHECK(h.error != NULL);
    if (rc == FC_OK) {
        fz_hello(&h, scratch, size);
        int done = 0;
        for (size_t n = 0; n <= size; n++) {
            int r = fc_stream_tls_hello_parse(data, n, scratch, size, &h);
            FZ_CHECK(r == FC_OK || (!done && r == FC_AGAIN));
            done = r == FC_OK;
        }
    }
    free(scratch);
    return 0;
}

#ifdef FC_FUZZ_REPLAY
#include "replay.h"

/* Replays each argument: a file, or every regular file of a folder. */
int
main(int argc, char **argv)
{
    int runs = 0, bad = fz_replay_args(argc, argv, &runs);
    printf("fuzz_ssl_preread: replayed %d inputs, %d unreadable\n", runs, bad);
    return bad == 0 && runs > 0 ? 0 : 1;
}

#endif
