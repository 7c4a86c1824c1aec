/*
 * fc_core.h: the one header every fulcrum source includes. It pulls in the
 * system headers we use everywhere and the small core headers, in an order
 * that lets each of them rely on the ones before it.
 */
#ifndef FC_CORE_H
#define FC_CORE_H

#include "fc_config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <unistd.h>

/* Return codes shared by every layer. Syscall wrappers return -errno. */
#define FC_OK 0
#define FC_ERROR -1
#define FC_AGAIN -2
#define FC_BUSY -3
#define FC_DONE -4
#define FC_DECLINED -5
#define FC_ABORT -6

#define FC_UNSET -1
#define FC_UNSET_PTR ((void *) -1)
#define FC_UNSET_SIZE ((size_t) -1)
#define FC_UNSET_MSEC ((fc_msec_t) -1)

typedef int64_t fc_msec_t;

typedef struct fc_pool_s fc_pool_t;
typedef struct fc_log_s fc_log_t;
typedef struct fc_cycle_s fc_cycle_t;
typedef struct fc_module_s fc_module_t;
typedef struct fc_conf_s fc_conf_t;
typedef struct fc_command_s fc_command_t;
typedef struct fc_event_s fc_event_t;
typedef struct fc_connection_s fc_connection_t;

#define fc_min(a, b) ((a) < (b) ? (a) : (b))
#define fc_max(a, b) ((a) > (b) ? (a) : (b))
#define fc_nelems(a) (sizeof(a) / sizeof((a)[0]))
#define fc_align(n, a) (((n) + ((a) - 1)) & ~((size_t) (a) - 1))
#define fc_unused(x) ((void) (x))

#define FC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/*
 * Cheap assertions stay on in release builds: a broken invariant in a proxy
 * is better as a logged abort of one worker than as silent corruption.
 */
#define FC_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (__builtin_expect(!(cond), 0))                                                          \
            fc_assert_fail(#cond, __FILE__, __LINE__);                                             \
    } while (0)

/* Prints the failed assertion to stderr and aborts. */
__attribute__((noreturn)) void fc_assert_fail(const char *cond, const char *file, int line);

#include "core/str.h"
#include "core/pool.h"
#include "core/array.h"
#include "core/log.h"
#include "core/time.h"

#endif
