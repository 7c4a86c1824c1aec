/*
 * chain.h: chains of buffers, how bodies move through the output filters
 * and to upstreams. The bytes are never copied: a link points at a buffer
 * its owner keeps until the buffer's pos reaches last.
 */
#ifndef FC_HTTP_CHAIN_H
#define FC_HTTP_CHAIN_H

#include "event/conn.h"

/* ---- buffers and chains --------------------------------------------------- */

/* A link of a chain of buffers (fc_buf_t is in event/conn.h). */
typedef struct fc_chain_s {
    fc_buf_t *buf;
    struct fc_chain_s *next;
} fc_chain_t;

/* Allocates a link in pool memory (NULL on failure). */
fc_chain_t *fc_chain_alloc(fc_pool_t *pool);
/* A buffer of `size` bytes wrapped in a link: both in pool memory. */
fc_chain_t *fc_chain_buf(fc_pool_t *pool, size_t size);
/* A link to a buffer pointing at existing bytes (no copy). */
fc_chain_t *fc_chain_str(fc_pool_t *pool, const unsigned char *data, size_t len);
/* Bytes still to send in a chain (memory and file parts). */
int64_t fc_chain_size(const fc_chain_t *cl);
/*
 * Writes as much of a chain as the socket takes now (writev for memory
 * parts, sendfile for file parts), advancing each buffer's pos/file_pos.
 * Returns bytes written (>= 0; less than the chain when the socket is
 * full), or -errno. Links are not freed: skip those with nothing left.
 */
int64_t fc_chain_send(fc_connection_t *c, fc_chain_t *cl);

#endif
