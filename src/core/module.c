/* module.c: numbering the compiled-in modules. */
#include "core/fc_core.h"
#include "core/cycle.h"

size_t
fc_modules_init(void)
{
    size_t counts[8] = {0};
    size_t i = 0;
    for (; fc_modules[i]; i++) {
        fc_module_t *m = fc_modules[i];
        m->index = i;
        m->ctx_index = counts[m->type & 7]++;
    }
    return i;
}

size_t
fc_modules_count(unsigned type)
{
    size_t n = 0;
    for (size_t i = 0; fc_modules[i]; i++)
        n += fc_modules[i]->type == type;
    return n;
}
