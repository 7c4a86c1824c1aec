/*
 * check_ssl_preread.c: the ClientHello reader behind ssl_preread
 * (src/stream/ssl_preread_parse.c).
 *
 * Real hellos captured from `openssl s_client` (TLS 1.2 and 1.3, with and
 * without SNI and ALPN) and from curl are read whole, with bytes after
 * them, cut at every byte (each prefix must ask for more: a hello arrives in
 * TCP segments of any size), and re-framed into records of 1..200 bytes.
 * Synthetic hellos cover every length field that can lie, the version
 * rules, non-TLS first bytes and SSLv2 framing; random mutations of the real
 * hellos (run under ASan with --with-debug) check that nothing reads
 * outside the input and that what comes back is well formed.
 */
#include <check.h>

#include "unit.h"

#include "core/fc_core.h"
#include "stream/ssl_preread_parse.h"

#define MAXIN 70000

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
    unsigned char b[MAXIN];
    size_t n;
} bytes_t;

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends hex digits (spaces ignored) to b. */
static void
put_hex(bytes_t *b, const char *hex)
{
    int hi = -1;
    for (; *hex; hex++) {
        int v = hexval(*hex);
        if (v < 0)
            continue;
        if (hi < 0) {
            hi = v;
            continue;
        }
        ck_assert_uint_lt(b->n, MAXIN);
        b->b[b->n++] = (unsigned char) (hi << 4 | v);
        hi = -1;
    }
    ck_assert_int_lt(hi, 0);
}

static void
put_mem(bytes_t *b, const void *p, size_t n)
{
    ck_assert_uint_le(b->n + n, MAXIN);
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void
put16(bytes_t *b, size_t v)
{
    unsigned char x[2] = {(unsigned char) (v >> 8), (unsigned char) v};
    put_mem(b, x, 2);
}

/* Frames handshake bytes into handshake records of at most `frag` bytes each. */
static void
put_records(bytes_t *out, const unsigned char *hs, size_t n, size_t frag)
{
    for (size_t off = 0; off < n; off += frag) {
        size_t k = fc_min(frag, n - off);
        put_hex(out, "16 0301");
        put16(out, k);
        put_mem(out, hs + off, k);
    }
}

/* A ClientHello message (handshake header included) from its body. */
static void
put_hello_msg(bytes_t *out, const bytes_t *body)
{
    unsigned char hdr[4] = {1, (unsigned char) (body->n >> 16), (unsigned char) (body->n >> 8),
                            (unsigned char) body->n};
    put_mem(out, hdr, 4);
    put_mem(out, body->b, body->n);
}

#define RANDOM32 "0000000000000000000000000000000000000000000000000000000000000000"

/*
 * One record holding a ClientHello: version `ver`, zero random, no session
 * id, two suites, null compression, then the
 * extensions block ext_hex (NULL: none) whose total is off by `delta`.
 */
static void
mk_hello(bytes_t *out, const char *ver, const char *ext_hex, int delta)
{
    static bytes_t body, ext, msg;
    body.n = ext.n = msg.n = 0;
    put_hex(&body, ver);
    put_hex(&body, RANDOM32 "00 0004 13011302 0100");
    if (ext_hex) {
        put_hex(&ext, ext_hex);
        put16(&body, (size_t) ((int) ext.n + delta));
        put_mem(&body, ext.b, ext.n);
    }
    put_hello_msg(&msg, &body);
    out->n = 0;
    put_records(out, msg.b, msg.n, FC_TLS_RECORD_MAX);
}

/* Parses an exact-size heap copy (so ASan sees any overread) with exact-size scratch. */
static int
parse(const unsigned char *in, size_t n, fc_stream_tls_hello_t *h, unsigned char **scratch)
{
    unsigned char *copy = malloc(n ? n : 1);
    *scratch = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_nonnull(*scratch);
    memcpy(copy, in, n);
    int rc = fc_stream_tls_hello_parse(copy, n, *scratch, n, h);
    free(copy);
    return rc;
}

static void
expect_str(const fc_str_t *got, const char *want, const char *what)
{
    size_t wl = want ? strlen(want) : 0;
    ck_assert_msg(got->len == wl && (wl == 0 || memcmp(got->data, want, wl) == 0),
                  "%s: got \"%.*s\", want \"%s\"", what, (int) got->len,
                  got->data ? (const char *) got->data : "", want ? want : "");
}

/* Parses and compares with the expected outcome (sni/alpn/version only when FC_OK). */
static void
expect_parse(const bytes_t *in, int rc, const char *sni, const char *alpn, unsigned version,
             const char *error)
{
    fc_stream_tls_hello_t h;
    unsigned char *scratch;
    int got = parse(in->b, in->n, &h, &scratch);
    ck_assert_msg(got == rc, "rc %d, want %d (error: %s)", got, rc, h.error ? h.error : "-");
    if (rc == FC_OK) {
        expect_str(&h.server_name, sni, "server name");
        expect_str(&h.alpn, alpn, "alpn");
        ck_assert_uint_eq(h.version, version);
    }
    if (error)
        ck_assert_str_eq(h.error ? h.error : "(none)", error);
    free(scratch);
}

/* ---- real hellos ---------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *hex;
    const char *sni;
    const char *alpn;
    unsigned version;
} real_case_t;

static const real_case_t real_cases[] = {
    {"s_client -tls1_3 -servername a.test -alpn h2,http/1.1",
     "16030100fd010000f90303c26128b396695f94480333aeb4303f9c316fb155569d4e01126e7efcd85af93a20"
     "7488be309368ae0f73dc7d20435b5bf88248d68248f3c41754cd7ad884030311000813021303130100ff0100"
     "00a80000000b0009000006612e74657374000b000403000102000a00160014001d0017001e00190018010001"
     "01010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c04"
     "0305030603080708080809080a080b080408050806040105010601002b0003020304002d0002010100330026"
     "0024001d002062889edbf74f26c2c9e15281a3459eee8a72f62223fa4721cb1677a5dab9cc31",
     "a.test", "h2,http/1.1", FC_TLS_VERSION_TLS1_3},
    {"s_client -tls1_3 -noservername",
     "16030100dc010000d80303cc07586a49db9b806954ece9da5fa4fba2b066f915a0bbda042b376cea2f194620"
     "2af312f9306509773d236e59cf3ba8fbd4d2d12554dd9f718000828264e645f3000813021303130100ff0100"
     "0087000b000403000102000a00160014001d0017001e00190018010001010102010301040023000000160000"
     "00170000000d001e001c040305030603080708080809080a080b080408050806040105010601002b00030203"
     "04002d00020101003300260024001d002050f8e5807be0acef00c9f268fc80ec244c5c102e7d20bf9266a57a"
     "ef2931ad31",
     NULL, NULL, FC_TLS_VERSION_TLS1_3},
    {"s_client -tls1_2 -servername b.test -alpn h2,http/1.1",
     "16030100d8010000d40303e4795b8f28b61fb70ddbbff5b4cd5fe5ab106fc4381a9f7e1a15eefead5c8d1900"
     "0038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033"
     "009d009c003d003c0035002f00ff010000730000000b0009000006622e74657374000b000403000102000a00"
     "0c000a001d0017001e00190018002300000010000e000c02683208687474702f312e31001600000017000000"
     "0d002a0028040305030603080708080809080a080b0804080508060401050106010303030103020402050206"
     "02",
     "b.test", "h2,http/1.1", FC_TLS_VERSION_TLS1_2},
    {"s_client -tls1_2 -noservername",
     "16030100b7010000b3030302c69c52c26974f5a5d322bca114758b4679dcec6a7d68bacc44bad1c253a5ab00"
     "0038c02cc030009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033"
     "009d009c003d003c0035002f00ff01000052000b000403000102000a000c000a001d0017001e001900180023"
     "00000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601"
     "030303010302040205020602",
     NULL, NULL, FC_TLS_VERSION_TLS1_2},
    {"s_client -servername example.com (TLS 1.0-1.3 offered)",
     "160301013801000134030308eaabbd59e44c199b3364724cfbec1cad5699413c095d9f354e46841439b4d520"
     "4cd76fb7880861b0aa0d7a266d163959508cc2378fefe71aab1d8c42dabde2f7003e130213031301c02cc030"
     "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
     "003c0035002f00ff010000ad00000010000e00000b6578616d706c652e636f6d000b000403000102000a0016"
     "0014001d0017001e0019001801000101010201030104002300000016000000170000000d002a002804030503"
     "0603080708080809080a080b080408050806040105010601030303010302040205020602002b000908030403"
     "0303020301002d00020101003300260024001d0020d5dcbd87b61863266ecece5f72ca7d9502cb4b6bf3e6db"
     "a8de68076fa9b60944",
     "example.com", NULL, FC_TLS_VERSION_TLS1_3},
    {"curl https://c.test/ (ALPN, padding)",
     "1603010200010001fc0303c6ece8680617c7d5be12f0c6d87fe95932864d299aae00a92927c2e5ef5bd9ae20"
     "bd1d04fc25ed25312792ad2ba587f5cedd3578a4dbb0eee7d74e8d979775e597003e130213031301c02cc030"
     "009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d"
     "003c0035002f00ff010001750000000b0009000006632e74657374000b000403000102000a00160014001d00"
     "17001e00190018010001010102010301040010000e000c02683208687474702f312e31001600000017000000"
     "310000000d002a0028040305030603080708080809080a080b08040805080604010501060103030301030204"
     "0205020602002b0009080304030303020301002d00020101003300260024001d00207cbdd3f3f43f480d5dd2"
     "ea92d7aec15943cfd0bac099f955ab2f1ff7a6ffd476001500b7000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000",
     "c.test", "h2,http/1.1", FC_TLS_VERSION_TLS1_3},
};

static void
real_bytes(int i, bytes_t *b)
{
    b->n = 0;
    put_hex(b, real_cases[i].hex);
}

START_TEST(real_whole)
{
    const real_case_t *c = &real_cases[_i];
    static bytes_t b;
    real_bytes(_i, &b);
    expect_parse(&b, FC_OK, c->sni, c->alpn, c->version, NULL);
    /* What follows the hello (a ChangeCipherSpec, early data) changes nothing. */
    put_hex(&b, "140303000101 1703030005 0102030405");
    expect_parse(&b, FC_OK, c->sni, c->alpn, c->version, NULL);
    const char *name = fc_stream_tls_version_name(c->version);
    ck_assert_str_eq(name, c->version == FC_TLS_VERSION_TLS1_3 ? "TLSv1.3" : "TLSv1.2");
}
END_TEST

/* Every prefix of a hello is a well-formed beginning: FC_AGAIN, never a verdict. */
static void
expect_prefixes_again(const bytes_t *b)
{
    for (size_t n = 0; n < b->n; n++) {
        fc_stream_tls_hello_t h;
        unsigned char *scratch;
        int rc = parse(b->b, n, &h, &scratch);
        free(scratch);
        ck_assert_msg(rc == FC_AGAIN, "prefix of %zu/%zu bytes: rc %d (%s)", n, b->n, rc,
                      h.error ? h.error : "-");
    }
}

/*
 * Bytes that hold a hello (perhaps with more after it): its prefixes ask
 * for more until the hello is complete, and from there on all agree.
 */
static void
expect_prefixes_monotone(const bytes_t *b)
{
    int done = 0;
    for (size_t n = 0; n <= b->n; n++) {
        fc_stream_tls_hello_t h;
        unsigned char *scratch;
        int rc = parse(b->b, n, &h, &scratch);
        free(scratch);
        ck_assert_msg(rc == (done ? FC_OK : FC_AGAIN) || (!done && rc == FC_OK),
                      "prefix of %zu/%zu bytes: rc %d (%s)", n, b->n, rc, h.error ? h.error : "-");
        done = rc == FC_OK;
    }
    ck_assert(done);
}

START_TEST(real_truncated)
{
    static bytes_t b;
    real_bytes(_i, &b);
    expect_prefixes_again(&b);
}
END_TEST

static const size_t frag_sizes[] = {1, 2, 3, 4, 5, 7, 64, 200};

/* The handshake message re-framed into records of frag_sizes[] bytes. */
START_TEST(real_fragmented)
{
    size_t ri = (size_t) _i / fc_nelems(frag_sizes), fi = (size_t) _i % fc_nelems(frag_sizes);
    const real_case_t *c = &real_cases[ri];
    static bytes_t orig, b;
    real_bytes((int) ri, &orig);
    b.n = 0;
    put_records(&b, orig.b + 5, orig.n - 5, frag_sizes[fi]);
    expect_parse(&b, FC_OK, c->sni, c->alpn, c->version, NULL);
    expect_prefixes_again(&b);
    /* A non-handshake record before the hello is complete ends it. */
    if (frag_sizes[fi] < 64) {
        static bytes_t bad;
        bad.n = 0;
        put_mem(&bad, b.b, 5 + frag_sizes[fi]);
        put_hex(&bad, "1503030002 0232");
        expect_parse(&bad, FC_DECLINED, NULL, NULL, 0, "not a handshake");
    }
}
END_TEST

/* ---- synthetic hellos: the extensions ------------------------------------ */

#define EXT_SNI_A "0000 000b 0009 00 0006 612e74657374"
#define EXT_ALPN "0010 000e 000c 026832 08687474702f312e31"

typedef struct {
    const char *name;
    const char *ver;
    const char *ext; /* NULL: no extensions block */
    int delta;       /* error in the extensions block's total length */
    int rc;
    const char *sni;
    const char *alpn;
    unsigned version;
    const char *error;
} ext_case_t;

static const ext_case_t ext_cases[] = {
    {"sni and alpn", "0303", EXT_SNI_A EXT_ALPN, 0, FC_OK, "a.test", "h2,http/1.1", 0x0303, NULL},
    {"alpn one protocol", "0303", "0010 0005 0003 026832", 0, FC_OK, NULL, "h2", 0x0303, NULL},
    {"alpn three", "0303", "0010 000b 0009 026832 0161 03616263", 0, FC_OK, NULL, "h2,a,abc",
     0x0303, NULL},
    {"unknown extensions skipped", "0303", "ff01 0001 00" EXT_SNI_A "0017 0000", 0, FC_OK, "a.test",
     NULL, 0x0303, NULL},
    {"empty extensions block", "0303", "", 0, FC_OK, NULL, NULL, 0x0303, NULL},
    {"no extensions, TLS 1.0", "0301", NULL, 0, FC_OK, NULL, NULL, 0x0301, NULL},
    {"no extensions, SSLv3", "0300", NULL, 0, FC_OK, NULL, NULL, 0x0300, NULL},
    {"versions: grease, 1.3, 1.2", "0303", "002b 0007 06 0a0a03040303", 0, FC_OK, NULL, NULL,
     0x0304, NULL},
    {"versions: 1.2 only", "0303", "002b 0003 02 0303", 0, FC_OK, NULL, NULL, 0x0303, NULL},
    {"versions: 1.1 listed first", "0301", "002b 0005 04 03020301", 0, FC_OK, NULL, NULL, 0x0302,
     NULL},
    {"versions: grease only keeps legacy", "0303", "002b 0003 02 fafa", 0, FC_OK, NULL, NULL,
     0x0303, NULL},
    {"versions: draft and 1.1", "0301", "002b 0005 04 7f1c0302", 0, FC_OK, NULL, NULL, 0x0302,
     NULL},
    {"versions: unknown 3.5", "0303", "002b 0003 02 0305", 0, FC_OK, NULL, NULL, 0x0305, NULL},
    {"extensions total +1", "0303", EXT_SNI_A, 1, FC_DECLINED, NULL, NULL, 0,
     "extensions length mismatch"},
    {"extensions total -1", "0303", EXT_SNI_A, -1, FC_DECLINED, NULL, NULL, 0,
     "extensions length mismatch"},
    {"extension header cut", "0303", EXT_SNI_A "00", 0, FC_DECLINED, NULL, NULL, 0,
     "extension format error"},
    {"extension longer than the block", "0303", "0017 0005 0000", 0, FC_DECLINED, NULL, NULL, 0,
     "extension format error"},
    {"sni list longer than extension", "0303", "0000 000b 000a 00 0006 612e74657374", 0,
     FC_DECLINED, NULL, NULL, 0, "SNI format error"},
    {"sni list shorter than extension", "0303", "0000 000b 0008 00 0006 612e74657374", 0,
     FC_DECLINED, NULL, NULL, 0, "SNI format error"},
    {"sni name longer than list", "0303", "0000 000b 0009 00 0007 612e74657374", 0, FC_DECLINED,
     NULL, NULL, 0, "SNI format error"},
    {"sni two names", "0303", "0000 0013 0011 00 0006 612e74657374 00 0005 622e746573", 0,
     FC_DECLINED, NULL, NULL, 0, "SNI format error"},
    {"sni empty extension", "0303", "0000 0000", 0, FC_DECLINED, NULL, NULL, 0, "SNI format error"},
    {"sni type not DNS", "0303", "0000 000b 0009 01 0006 612e74657374", 0, FC_DECLINED, NULL, NULL,
     0, "SNI hostname type is not DNS"},
    {"sni empty name", "0303", "0000 0005 0003 00 0000", 0, FC_DECLINED, NULL, NULL, 0,
     "SNI hostname is invalid"},
    {"sni NUL in name", "0303", "0000 000b 0009 00 0006 612e00657374", 0, FC_DECLINED, NULL, NULL,
     0, "SNI hostname is invalid"},
    {"sni twice", "0303", EXT_SNI_A EXT_SNI_A, 0, FC_DECLINED, NULL, NULL, 0,
     "duplicate extension"},
    {"alpn twice", "0303", EXT_ALPN EXT_ALPN, 0, FC_DECLINED, NULL, NULL, 0, "duplicate extension"},
    {"versions twice", "0303", "002b 0003 02 0304 002b 0003 02 0304", 0, FC_DECLINED, NULL, NULL, 0,
     "duplicate extension"},
    {"alpn empty protocol", "0303", "0010 0006 0004 026832 00", 0, FC_DECLINED, NULL, NULL, 0,
     "ALPN empty protocol"},
    {"alpn list of one byte", "0303", "0010 0003 0001 00", 0, FC_DECLINED, NULL, NULL, 0,
     "ALPN format error"},
    {"alpn empty extension", "0303", "0010 0000", 0, FC_DECLINED, NULL, NULL, 0,
     "ALPN format error"},
    {"alpn protocol longer than list", "0303", "0010 0006 0004 05683268", 0, FC_DECLINED, NULL,
     NULL, 0, "ALPN format error"},
    {"alpn list length mismatch", "0303", "0010 000e 000d 026832 08687474702f312e31", 0,
     FC_DECLINED, NULL, NULL, 0, "ALPN format error"},
    {"versions odd length", "0303", "002b 0004 03 030403", 0, FC_DECLINED, NULL, NULL, 0,
     "supported_versions format error"},
    {"versions list mismatch", "0303", "002b 0005 06 03040303", 0, FC_DECLINED, NULL, NULL, 0,
     "supported_versions format error"},
    {"versions empty", "0303", "002b 0001 00", 0, FC_DECLINED, NULL, NULL, 0,
     "supported_versions format error"},
    {"client_version 2.0", "0200", EXT_SNI_A, 0, FC_DECLINED, NULL, NULL, 0, "bad client_version"},
};

START_TEST(synthetic_ext)
{
    const ext_case_t *c = &ext_cases[_i];
    static bytes_t b;
    mk_hello(&b, c->ver, c->ext, c->delta);
    expect_parse(&b, c->rc, c->sni, c->alpn, c->version, c->error);
    if (c->rc == FC_OK)
        expect_prefixes_again(&b);
}
END_TEST

/* Server names at the limits: 255 bytes pass, 256 do not. */
START_TEST(sni_length_limit)
{
    static bytes_t b;
    char name[300], ext[1200], *p = ext;
    size_t n = (size_t) (FC_TLS_SNI_MAX + _i); /* 255, then 256 */
    memset(name, 'x', n);
    name[n] = '\0';
    p += sprintf(p, "0000 %04zx %04zx 00 %04zx ", n + 5, n + 3, n);
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "78");
    mk_hello(&b, "0303", ext, 0);
    if (_i == 0)
        expect_parse(&b, FC_OK, name, NULL, 0x0303, NULL);
    else
        expect_parse(&b, FC_DECLINED, NULL, NULL, 0, "SNI hostname is invalid");
}
END_TEST

/* ---- the message and the records ----------------------------------------- */

typedef struct {
    const char *name;
    const char *hex;  /* the whole input, or NULL: */
    const char *body; /* a ClientHello body, framed (lengths computed) into one record */
    int rc;
    unsigned version;
    const char *error;
} raw_case_t;

#define REC(len) "16 0301 " len " "
#define HEAD "0303" RANDOM32 /* client_version and random */

static const raw_case_t raw_cases[] = {
    {"nothing yet", "", NULL, FC_AGAIN, 0, NULL},
    {"record type only", "16", NULL, FC_AGAIN, 0, NULL},
    {"record header cut", "16 03", NULL, FC_AGAIN, 0, NULL},
    {"record header cut 4", "16 0301 00", NULL, FC_AGAIN, 0, NULL},
    {"record payload cut", REC("0010") "01 00000c 0303", NULL, FC_AGAIN, 0, NULL},
    {"HTTP request", "474554202f20485454502f312e310d0a", NULL, FC_DECLINED, 0, "not a handshake"},
    {"one plain byte", "47", NULL, FC_DECLINED, 0, "not a handshake"},
    {"SSH banner", "5353482d322e302d", NULL, FC_DECLINED, 0, "not a handshake"},
    {"NUL byte", "00", NULL, FC_DECLINED, 0, "not a handshake"},
    {"alert record", "15 0301 0002 0232", NULL, FC_DECLINED, 0, "not a handshake"},
    {"application data record", "17 0303 0001 00", NULL, FC_DECLINED, 0, "not a handshake"},
    {"record major 4", "16 04", NULL, FC_DECLINED, 0, "unsupported SSL version"},
    {"record major 2", "16 0200 0005", NULL, FC_DECLINED, 0, "unsupported SSL version"},
    {"empty record", REC("0000"), NULL, FC_DECLINED, 0, "bad record length"},
    {"record over 2^14", REC("4001"), NULL, FC_DECLINED, 0, "bad record length"},
    {"server hello", REC("0004") "02 000000", NULL, FC_DECLINED, 0, "not a client hello"},
    {"hello header split over records", REC("0002") "0100" REC("0002") "0000", NULL, FC_DECLINED, 0,
     "bad client_version"},
    {"empty client hello", REC("0004") "01 000000", NULL, FC_DECLINED, 0, "bad client_version"},
    {"hello longer than what came", REC("0006") "01 000100 0303", NULL, FC_AGAIN, 0, NULL},
    {"truncated random", NULL, "0303 0000000000000000000000000000", FC_DECLINED, 0,
     "truncated random"},
    {"session id of 33", NULL, HEAD "21" RANDOM32 "00", FC_DECLINED, 0, "bad session_id"},
    {"session id past the end", NULL, HEAD "05 0000", FC_DECLINED, 0, "bad session_id"},
    {"no session id length", NULL, HEAD, FC_DECLINED, 0, "bad session_id"},
    {"odd cipher_suites", NULL, HEAD "00 0003 130113 0100", FC_DECLINED, 0, "bad cipher_suites"},
    {"no cipher_suites", NULL, HEAD "00 0000 0100", FC_DECLINED, 0, "bad cipher_suites"},
    {"cipher_suites past the end", NULL, HEAD "00 0010 1301", FC_DECLINED, 0, "bad cipher_suites"},
    {"no compression methods", NULL, HEAD "00 0002 1301 00", FC_DECLINED, 0,
     "bad compression_methods"},
    {"compression past the end", NULL, HEAD "00 0002 1301 02 00", FC_DECLINED, 0,
     "bad compression_methods"},
    {"one-byte extensions block", NULL, HEAD "00 0002 1301 0100 00", FC_DECLINED, 0,
     "extensions length mismatch"},
    {"bytes after the extensions", NULL, HEAD "00 0002 1301 0100 0000 00", FC_DECLINED, 0,
     "extensions length mismatch"},
    {"minimal hello", NULL, HEAD "00 0002 1301 0100", FC_OK, 0x0303, NULL},
    {"SSLv2 hello", "802e 01 0002 0003", NULL, FC_OK, 0x0002, NULL},
    {"SSLv2-framed TLS 1.0 hello", "802e 01 0301 0003", NULL, FC_OK, 0x0301, NULL},
    {"SSLv2 header cut", "802e 01 03", NULL, FC_AGAIN, 0, NULL},
    {"SSLv2 framing, not a hello", "802e 02 0301 0003", NULL, FC_DECLINED, 0, "not a handshake"},
    {"SSLv2 framing, bad version", "802e 01 0201 0003", NULL, FC_DECLINED, 0, "not a handshake"},
};

START_TEST(raw)
{
    const raw_case_t *c = &raw_cases[_i];
    static bytes_t b, body, msg;
    b.n = body.n = msg.n = 0;
    if (c->hex) {
        put_hex(&b, c->hex);
    } else {
        put_hex(&body, c->body);
        put_hello_msg(&msg, &body);
        put_records(&b, msg.b, msg.n, FC_TLS_RECORD_MAX);
    }
    expect_parse(&b, c->rc, NULL, NULL, c->version, c->error);
}
END_TEST

START_TEST(scratch_too_small)
{
    static bytes_t b;
    real_bytes(0, &b);
    static unsigned char scratch[MAXIN];
    fc_stream_tls_hello_t h;
    ck_assert_int_eq(fc_stream_tls_hello_parse(b.b, b.n, scratch, b.n - 1, &h), FC_ERROR);
    ck_assert_int_eq(fc_stream_tls_hello_parse(b.b, b.n, scratch, b.n, &h), FC_OK);
}
END_TEST

START_TEST(version_names)
{
    static const struct {
        unsigned v;
        const char *name;
    } t[] = {{0x0002, "SSLv2"},   {0x0300, "SSLv3"},   {0x0301, "TLSv1"},
             {0x0302, "TLSv1.1"}, {0x0303, "TLSv1.2"}, {0x0304, "TLSv1.3"},
             {0x0305, NULL},      {0, NULL},           {0x7f1c, NULL}};
    for (size_t i = 0; i < fc_nelems(t); i++) {
        const char *got = fc_stream_tls_version_name(t[i].v);
        if (t[i].name == NULL)
            ck_assert_ptr_null(got);
        else
            ck_assert_str_eq(got, t[i].name);
    }
}
END_TEST

/* ---- random mutations -------------------------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* What a successful parse returns must lie in the scratch buffer and be well formed. */
static void
check_result(const fc_stream_tls_hello_t *h, const unsigned char *scratch, size_t n)
{
    const fc_str_t *s[2] = {&h->server_name, &h->alpn};
    for (int k = 0; k < 2; k++) {
        if (s[k]->len == 0)
            continue;
        ck_assert(s[k]->data >= scratch && s[k]->data + s[k]->len <= scratch + n);
    }
    ck_assert_uint_le(h->server_name.len, FC_TLS_SNI_MAX);
    if (h->server_name.len)
        ck_assert_ptr_null(memchr(h->server_name.data, '\0', h->server_name.len));
    /* ALPN names are any bytes (commas too), as nginx passes them on: bounds only. */
}

START_TEST(mutations)
{
    static bytes_t orig, b;
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t) (_i + 1);
    real_bytes(_i, &orig);
    unsigned ok = 0, declined = 0;
    for (int iter = 0; iter < 3000; iter++) {
        b = orig;
        unsigned flips = 1 + (unsigned) (rnd(&seed) % 4);
        for (unsigned f = 0; f < flips; f++)
            b.b[rnd(&seed) % b.n] = (unsigned char) rnd(&seed);
        if (rnd(&seed) % 4 == 0)
            b.n = (size_t) (rnd(&seed) % (b.n + 1));
        fc_stream_tls_hello_t h;
        unsigned char *scratch;
        int rc = parse(b.b, b.n, &h, &scratch);
        ck_assert(rc == FC_OK || rc == FC_AGAIN || rc == FC_DECLINED);
        if (rc == FC_OK) {
            check_result(&h, scratch, b.n);
            ok++;
            if (ok % 50 == 1)
                expect_prefixes_monotone(&b);
        }
        if (rc == FC_DECLINED) {
            ck_assert_ptr_nonnull(h.error);
            declined++;
        }
        free(scratch);
    }
    /* Flips in random bytes and padding keep a hello; flips in lengths break it. */
    ck_assert_uint_gt(ok, 100);
    ck_assert_uint_gt(declined, 100);
}
END_TEST

/* Garbage inside plausible framing: every verdict must come from bytes in bounds. */
START_TEST(garbage)
{
    uint64_t seed = 12345;
    static bytes_t b, body, msg;
    for (int iter = 0; iter < 5000; iter++) {
        b.n = body.n = msg.n = 0;
        size_t n = (size_t) (rnd(&seed) % 600);
        if (iter % 2)
            put_hex(&body, HEAD "00"); /* past the fixed part, into the lengths */
        while (body.n < n)
            body.b[body.n++] = (unsigned char) rnd(&seed);
        put_hello_msg(&msg, &body);
        put_records(&b, msg.b, msg.n, 1 + (size_t) (rnd(&seed) % 300));
        fc_stream_tls_hello_t h;
        unsigned char *scratch;
        int rc = parse(b.b, b.n, &h, &scratch);
        ck_assert(rc == FC_OK || rc == FC_DECLINED);
        if (rc == FC_OK)
            check_result(&h, scratch, b.n);
        free(scratch);
    }
}
END_TEST

int
main(void)
{
    const int nreal = (int) fc_nelems(real_cases);
    const fc_unit_case_t cases[] = {
        {"real hellos whole", real_whole, nreal},
        {"real hellos cut at every byte", real_truncated, nreal},
        {"real hellos in small records", real_fragmented, nreal * (int) fc_nelems(frag_sizes)},
        {"extensions", synthetic_ext, (int) fc_nelems(ext_cases)},
        {"server name length", sni_length_limit, 2},
        {"records and message", raw, (int) fc_nelems(raw_cases)},
        {"scratch too small", scratch_too_small, 1},
        {"version names", version_names, 1},
        {"mutated real hellos", mutations, nreal},
        {"garbage hellos", garbage, 1},
    };
    return fc_unit_run(fc_unit_suite("ssl_preread", cases, fc_nelems(cases), NULL, NULL));
}
