/*
 * cache_file.c: entry files. Names follow nginx (the MD5 of the key in hex,
 * under `levels` folders made of its last characters), so a cache folder
 * looks as an nginx user expects; the content is fulcrum's own: a fixed
 * header (cache.h), the key, the Vary names, the stored response head, the
 * body. Temp files sit next to their final name and are renamed into place
 * only when the whole body is in them.
 */
#include "cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

void
cache_key_hex(const unsigned char *key, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < CACHE_KEY_LEN; i++) {
        out[2 * i] = hex[key[i] >> 4];
        out[2 * i + 1] = hex[key[i] & 0xf];
    }
}

void
cache_md5(const fc_str_t *parts, size_t n, unsigned char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = CACHE_KEY_LEN;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        memset(out, 0, CACHE_KEY_LEN); /* never: MD5 is in OpenSSL's default provider */
        EVP_MD_CTX_free(md);
        return;
    }
    for (size_t i = 0; i < n; i++)
        EVP_DigestUpdate(md, parts[i].data, parts[i].len);
    EVP_DigestFinal_ex(md, out, &len);
    EVP_MD_CTX_free(md);
}

int
cache_file_path(const cache_path_t *cp, const unsigned char *key, char *buf, size_t size)
{
    char hex[2 * CACHE_KEY_LEN];
    cache_key_hex(key, hex);
    size_t off = (size_t) snprintf(buf, size, "%s/", cp->path.data);
    size_t pos = sizeof(hex);
    for (unsigned i = 0; i < cp->nlevels && off < size; i++) {
        pos -= cp->levels[i];
        off += (size_t) snprintf(buf + off, size - off, "%.*s/", (int) cp->levels[i], hex + pos);
    }
    if (off >= size)
        return FC_ERROR;
    off += (size_t) snprintf(buf + off, size - off, "%.*s", (int) sizeof(hex), hex);
    return off < size ? FC_OK : FC_ERROR;
}

char *
cache_file_name(fc_pool_t *pool, const cache_path_t *cp, const unsigned char *key)
{
    size_t size = cp->path.len + 2 * CACHE_KEY_LEN + 4 * CACHE_MAX_LEVELS + 2;
    char *p = fc_pnalloc(pool, size);
    if (p == NULL || cache_file_path(cp, key, p, size) != FC_OK)
        return NULL;
    return p;
}

uint64_t
cache_disk_size(int64_t bytes)
{
    return ((uint64_t) bytes + 4095) & ~(uint64_t) 4095;
}

/* mkdir -p of a NUL-terminated path (modifies it in place, restores it). */
static int
file_mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int
cache_path_create(const cache_path_t *cp, fc_log_t *log)
{
    char buf[FC_CACHE_PATH_MAX];
    if (cp->path.len >= sizeof(buf))
        return FC_ERROR;
    memcpy(buf, cp->path.data, cp->path.len + 1);
    if (file_mkdir_p(buf) < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "mkdir() \"%s\" failed", buf);
        return FC_ERROR;
    }
    return FC_OK;
}

int
cache_file_read(fc_pool_t *pool, int fd, size_t want, cache_file_read_t *out, fc_log_t *log,
                const char *name)
{
    cache_file_header_t *hdr = &out->hdr;
    want = fc_max(want, (size_t) 1024);
    unsigned char *buf = fc_pnalloc(pool, want);
    if (buf == NULL)
        return FC_ERROR;
    ssize_t n = pread(fd, buf, want, 0);
    if (n < 0) {
        fc_log_error(FC_LOG_CRIT, log, errno, "pread() \"%s\" failed", name);
        return FC_ERROR;
    }
    if ((size_t) n < sizeof(*hdr)) {
        fc_log_error(FC_LOG_CRIT, log, 0, "cache file \"%s\" is too small", name);
        return FC_DECLINED;
    }
    memcpy(hdr, buf, sizeof(*hdr));
    size_t rest = (size_t) hdr->key_len + hdr->vary_len + hdr->head_len;
    if (hdr->magic != CACHE_FILE_MAGIC || hdr->header_len != sizeof(*hdr) + rest ||
        rest > (1u << 20)) {
        fc_log_error(FC_LOG_CRIT, log, 0, "cache file \"%s\" has an invalid header", name);
        return FC_DECLINED;
    }
    if ((size_t) n < hdr->header_len) {
        /* A head longer than the first read: read it whole (rare). */
        unsigned char *big = fc_pnalloc(pool, hdr->header_len);
        if (big == NULL)
            return FC_ERROR;
        n = pread(fd, big, hdr->header_len, 0);
        if (n != (ssize_t) hdr->header_len) {
            fc_log_error(FC_LOG_CRIT, log, n < 0 ? errno : 0, "cache file \"%s\" is truncated",
                         name);
            return FC_DECLINED;
        }
        buf = big;
    }
    out->data = buf;
    out->len = (size_t) n;
    out->head = buf + sizeof(*hdr);
    return FC_OK;
}
