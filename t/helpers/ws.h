/*
 * ws.h - WebSocket (RFC 6455) pieces shared by the wsecho backend and the
 * wsclient client of the test suite: the handshake's accept key and frame
 * headers. Include after helpers.h.
 */
#ifndef FC_T_WS_H
#define FC_T_WS_H

/* SHA-1 of data[0, n) into out[20] (for Sec-WebSocket-Accept only). */
HELPER_FN void
sha1(const unsigned char *data, size_t n, unsigned char out[20])
{
    unsigned int h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned int w[80], a, b, c, d, e, f, k, t;
    unsigned char blk[64];
    unsigned long long bits = (unsigned long long)n * 8;
    size_t off = 0, i, len;
    int last = 0, pad_done = 0;

    while (!last) {
        len = n - off < 64 ? n - off : 64;
        memset(blk, 0, sizeof(blk));
        memcpy(blk, data + off, len);
        off += len;
        if (len < 64) {
            if (!pad_done)
                blk[len] = 0x80;
            pad_done = 1;
            if (len < 56) {
                for (i = 0; i < 8; i++)
                    blk[63 - i] = (unsigned char)(bits >> (8 * i));
                last = 1;
            }
        }
        for (i = 0; i < 16; i++)
            w[i] = (unsigned)blk[4 * i] << 24 | (unsigned)blk[4 * i + 1] << 16
                 | (unsigned)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (i = 16; i < 80; i++) {
            t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            w[i] = t << 1 | t >> 31;
        }
        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (i = 0; i < 80; i++) {
            if (i < 20)
                f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40)
                f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60)
                f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else
                f = b ^ c ^ d, k = 0xCA62C1D6;
            t = (a << 5 | a >> 27) + f + e + k + w[i];
            e = d, d = c, c = b << 30 | b >> 2, b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (i = 0; i < 20; i++)
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Base64 of in[0, n) into out (4 * ceil(n / 3) + 1 bytes), NUL-terminated. */
HELPER_FN void
base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    unsigned v;

    for (i = 0; i + 2 < n; i += 3, out += 4) {
        v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[0] = tab[v >> 18], out[1] = tab[v >> 12 & 63], out[2] = tab[v >> 6 & 63];
        out[3] = tab[v & 63];
    }
    if (i < n) {
        v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[0] = tab[v >> 18], out[1] = tab[v >> 12 & 63];
        out[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[3] = '=';
        out += 4;
    }
    *out = '\0';
}

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (out: at least 29 bytes). */
HELPER_FN void
ws_accept(const char *key, size_t key_len, char *out)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char buf[256], dig[20];

    if (key_len > sizeof(buf) - sizeof(guid))
        key_len = sizeof(buf) - sizeof(guid);
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, guid, sizeof(guid) - 1);
    sha1(buf, key_len + sizeof(guid) - 1, dig);
    base64(dig, 20, out);
}

typedef struct {
    int fin, opcode, masked;
    unsigned char mask[4];
    unsigned long long len; /* payload length */
    size_t hdr;             /* header bytes before the payload */
} ws_frame_t;

/* Parse a frame header at p[0, n): 1 complete header in *f, 0 need more. */
HELPER_FN int
ws_frame_parse(const unsigned char *p, size_t n, ws_frame_t *f)
{
    size_t need = 2, i;

    if (n < 2)
        return 0;
    f->fin = p[0] >> 7;
    f->opcode = p[0] & 15;
    f->masked = p[1] >> 7;
    f->len = p[1] & 127;
    need += f->len == 126 ? 2 : f->len == 127 ? 8 : 0;
    need += f->masked ? 4 : 0;
    if (n < need)
        return 0;
    if (f->len >= 126) {
        size_t nb = f->len == 126 ? 2 : 8;
        f->len = 0;
        for (i = 0; i < nb; i++)
            f->len = f->len << 8 | p[2 + i];
    }
    if (f->masked)
        memcpy(f->mask, p + need - 4, 4);
    f->hdr = need;
    return 1;
}

/* Write a frame header for LEN payload bytes into out (<= 14 bytes); with a
 * mask, its 4 bytes follow the length.  Returns the header length. */
HELPER_FN size_t
ws_frame_header(unsigned char *out, int fin, int opcode, unsigned long long len,
                const unsigned char *mask)
{
    size_t h = 2, i;

    out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[1] = (unsigned char)len;
    } else if (len < 65536) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8), out[3] = (unsigned char)len;
        h = 4;
    } else {
        out[1] = 127;
        for (i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        h = 10;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

#endif
