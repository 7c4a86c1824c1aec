/* conf_lex.h: the tokenizer behind conf_parse.c (internal to the config code). */
#ifndef FC_CONF_LEX_H
#define FC_CONF_LEX_H

enum {
    FC_CONF_TOKEN_DIRECTIVE = 0, /* arguments ended by ";" */
    FC_CONF_TOKEN_BLOCK_START,   /* arguments ended by "{" */
    FC_CONF_TOKEN_BLOCK_DONE,    /* "}" */
    FC_CONF_TOKEN_FILE_DONE,     /* end of the file or string */
    FC_CONF_TOKEN_ERROR          /* a syntax error, already logged */
};

/*
 * Reads the next directive's words into cf->args (name first), unquoting
 * and unescaping them into cf->pool; sets cf->dir_file/dir_line to where the
 * directive starts.
 */
int fc_conf_read_token(fc_conf_t *cf);

#endif
