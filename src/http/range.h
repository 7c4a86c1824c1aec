/*
 * range.h: the range filter (range.c) and the not-modified filter
 * (not_modified.c), nginx's answers to Range and conditional requests on a
 * response that is a complete, known entity (r->allow_ranges,
 * r->allow_conditional: a cached one). What they decide is kept in plain
 * functions of their inputs, declared here so the unit tests drive them
 * without a request; docs/internals/range.md says why they work as they do.
 */
#ifndef FC_HTTP_RANGE_H
#define FC_HTTP_RANGE_H

#include "http/http.h"

#define FC_HTTP_PARTIAL_CONTENT 206
#define FC_HTTP_PRECONDITION_FAILED 412
#define FC_HTTP_RANGE_NOT_SATISFIABLE 416

/* ---- range ----------------------------------------------------------------------- */

/* One range of a Range field: bytes [start, end) of the entity. */
typedef struct {
    int64_t start;
    int64_t end;
    fc_str_t content_range; /* multipart: "START-LAST/LENGTH\r\n\r\n" of its part */
} fc_http_range_t;

/*
 * Parses a Range field's value against an entity of `length` bytes, by
 * nginx's rules: "bytes=" (any case) then "a-b", "a-" or "-n" specs split by
 * commas, spaces allowed around the numbers; a range past the end is cut
 * to it; an empty one is skipped. Appends the ranges to `ranges`
 * (fc_http_range_t, in the request's order, overlaps kept). Returns
 *   FC_OK                           ranges to serve
 *   FC_DECLINED                     serve the whole entity: not "bytes=", an
 *                                   empty entity, more ranges than
 *                                   max_ranges, or more bytes in all than the
 *                                   entity (overlaps)
 *   FC_HTTP_RANGE_NOT_SATISFIABLE   a syntax error, a number too large, or no
 *                                   range inside the entity
 *   FC_ERROR                        no memory
 */
int fc_http_range_parse(const fc_str_t *value, int64_t length, int64_t max_ranges,
                        fc_array_t *ranges);

/*
 * nginx's If-Range test: 1 when the ranges apply. A value ending in '"' is
 * an entity tag, which must equal the response's ETag byte for byte (NULL
 * etag: no); anything else is a date, which must equal last_modified
 * (-1: none, no).
 */
int fc_http_range_if_range(const fc_str_t *if_range, const fc_str_t *etag, time_t last_modified);

/*
 * Single range, body side: trims one body buffer to the range in place,
 * without copying (pos/last of a memory buffer, file_pos/file_last of a
 * file one); a buffer wholly outside is emptied. *offset is the entity
 * offset of the buffer's first byte and is moved past it. Returns -1 when
 * the buffer held none of the range, 0 when it holds some and the range
 * goes on, 1 when the range ends in it.
 */
int fc_http_range_trim(fc_buf_t *b, const fc_http_range_t *range, int64_t *offset);

/* Multipart state: the text around each part (built by fc_http_range_multipart_header). */
typedef struct {
    fc_str_t boundary_header; /* "\r\n--BOUNDARY\r\nContent-Type: T\r\nContent-Range: bytes " */
} fc_http_range_multipart_t;

/* The width of a boundary: nginx's, a counter printed with 20 digits. */
#define FC_HTTP_RANGE_BOUNDARY_LEN 20

/*
 * Multipart, header side: builds each part's header text for the ranges
 * (content_range of each, mp's boundary text) and the response's
 * Content-Type "multipart/byteranges; boundary=..." into *content_type
 * (content_type: the entity's, may be empty). Returns the length of the
 * whole multipart body, -1 on no memory. Everything lives in pool.
 */
int64_t fc_http_range_multipart_header(fc_pool_t *pool, fc_array_t *ranges, uint64_t boundary,
                                       int64_t length, fc_str_t *content_type,
                                       fc_http_range_multipart_t *mp);

/*
 * Multipart, body side: the parts of an entity that is whole in buffer b:
 * each range's header and its bytes, pointing into b (no copy), then the
 * closing boundary, which carries last_buf. The last part reuses b itself,
 * trimmed, so whoever owns b sees it consumed only once every part before
 * it went out. NULL on no memory.
 */
fc_chain_t *fc_http_range_multipart_body(fc_pool_t *pool, fc_array_t *ranges,
                                         const fc_http_range_multipart_t *mp, fc_buf_t *b);

/* ---- not modified ------------------------------------------------------------------ */

/* if_modified_since off | exact | before */
enum { FC_HTTP_IMS_OFF = 0, FC_HTTP_IMS_EXACT, FC_HTTP_IMS_BEFORE };

/*
 * nginx's entity-tag list test (If-Match, If-None-Match): 1 when the list
 * is "*" or names etag. weak: W/ prefixes are ignored on both sides (If-None-Match);
 * else the tags are compared byte for byte (If-Match). etag NULL: no tag.
 */
int fc_http_etag_match(const fc_str_t *list, const fc_str_t *etag, int weak);

/* The inputs of the conditional decision. The fields are NULL when absent. */
typedef struct {
    const fc_str_t *if_unmodified_since;
    const fc_str_t *if_match;
    const fc_str_t *if_modified_since;
    const fc_str_t *if_none_match;
    const fc_str_t *etag; /* the response's ETag, NULL: none */
    time_t last_modified; /* the response's, -1: none */
    int ims;              /* FC_HTTP_IMS_* of the location */
} fc_http_conditions_t;

/*
 * nginx's order: If-Unmodified-Since, then If-Match (either failing: 412);
 * then If-Modified-Since and If-None-Match, each present one having to say
 * "not modified" (304). Returns 412, 304, or 200: send the response.
 */
unsigned fc_http_conditions_eval(const fc_http_conditions_t *c);

#endif
