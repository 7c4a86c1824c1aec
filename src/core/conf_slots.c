/*
 * conf_slots.c: generic directive setters. Each writes the field at
 * cmd->offset inside the conf struct, rejects a second occurrence in the
 * same block with nginx's "is duplicate", and reports bad values.
 */
#include "core/fc_core.h"
#include "core/conf.h"

#define SLOT(type, conf, cmd) ((type *) ((char *) (conf) + (cmd)->offset))

static char *
slot_invalid(fc_conf_t *cf, const fc_command_t *cmd, const fc_str_t *v)
{
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\" in \"%s\" directive",
                      (int) v->len, v->data, cmd->name);
    return FC_CONF_ERROR;
}

char *
fc_conf_set_flag_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    int *fp = SLOT(int, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*fp != FC_UNSET)
        return "is duplicate";
    /* In any case, as nginx's flag slot (ngx_strcasecmp): "gzip On;" is on. */
    if (v->len == 2 && fc_strn_caseeq(v->data, (const unsigned char *) "on", 2)) {
        *fp = 1;
    } else if (v->len == 3 && fc_strn_caseeq(v->data, (const unsigned char *) "off", 3)) {
        *fp = 0;
    } else {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "invalid value \"%.*s\" in \"%s\" directive, it must be \"on\" or \"off\"",
                          (int) v->len, v->data, cmd->name);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

char *
fc_conf_set_str_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *sp = SLOT(fc_str_t, conf, cmd);
    if (sp->data)
        return "is duplicate";
    *sp = fc_conf_args(cf)[1];
    return FC_CONF_OK;
}

char *
fc_conf_set_num_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    int64_t *np = SLOT(int64_t, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*np != FC_UNSET)
        return "is duplicate";
    int64_t n = fc_atoi(v->data, v->len);
    if (n < 0)
        return "invalid number"; /* nginx: "\"NAME\" directive invalid number" */
    const fc_conf_bounds_t *b = cmd->post;
    if (b && (n < b->min || n > b->max)) {
        /* nginx's ngx_conf_check_num_bounds wording (the line names the directive) */
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "value must be between %" PRId64 " and %" PRId64,
                          b->min, b->max);
        return FC_CONF_ERROR;
    }
    *np = n;
    return FC_CONF_OK;
}

char *
fc_conf_set_size_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    size_t *sp = SLOT(size_t, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*sp != FC_UNSET_SIZE)
        return "is duplicate";
    int64_t n = fc_parse_size(v);
    if (n < 0)
        return "invalid value"; /* nginx: "\"NAME\" directive invalid value" */
    *sp = (size_t) n;
    return FC_CONF_OK;
}

char *
fc_conf_set_msec_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_msec_t *mp = SLOT(fc_msec_t, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*mp != FC_UNSET_MSEC)
        return "is duplicate";
    int64_t n = fc_parse_time(v, 1000); /* nginx: a value without a suffix means seconds */
    if (n < 0)
        return "invalid value";
    *mp = n;
    return FC_CONF_OK;
}

char *
fc_conf_set_sec_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_msec_t *mp = SLOT(fc_msec_t, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*mp != FC_UNSET_MSEC)
        return "is duplicate";
    int64_t n = fc_parse_time(v, 1000); /* a bare number is seconds; stored as ms */
    if (n < 0)
        return "invalid value";
    *mp = n;
    return FC_CONF_OK;
}

char *
fc_conf_set_enum_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    int *ep = SLOT(int, conf, cmd);
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (*ep != FC_UNSET)
        return "is duplicate";
    for (const fc_conf_enum_t *e = cmd->post; e->name; e++) {
        if (fc_str_eq_c(v, e->name)) {
            *ep = (int) e->value;
            return FC_CONF_OK;
        }
    }
    return slot_invalid(cf, cmd, v);
}

char *
fc_conf_set_bitmask_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    /* As nginx's: any case, and a repeated directive adds its values (no "is duplicate"). */
    unsigned *bp = SLOT(unsigned, conf, cmd);
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        fc_str_t *v = &fc_conf_args(cf)[i];
        const fc_conf_enum_t *e = cmd->post;
        for (; e->name; e++) {
            if (v->len == strlen(e->name) &&
                fc_strn_caseeq(v->data, (const unsigned char *) e->name, v->len))
                break;
        }
        if (e->name == NULL)
            return slot_invalid(cf, cmd, v);
        if (*bp & e->value) {
            fc_conf_log_error(FC_LOG_WARN, cf, 0, "duplicate value \"%.*s\"", (int) v->len,
                              v->data);
        }
        *bp |= e->value;
    }
    return FC_CONF_OK;
}

char *
fc_conf_set_str_array_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_array_t **ap = SLOT(fc_array_t *, conf, cmd);
    if (*ap == FC_UNSET_PTR || *ap == NULL) {
        *ap = fc_array_create(cf->pool, 4, sizeof(fc_str_t));
        if (*ap == NULL)
            return FC_CONF_ERROR;
    }
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        fc_str_t *s = fc_array_push(*ap);
        if (s == NULL)
            return FC_CONF_ERROR;
        *s = fc_conf_args(cf)[i];
    }
    return FC_CONF_OK;
}
