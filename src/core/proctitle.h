/* proctitle.h: "fulcrum: master process ..." / "fulcrum: worker process" in ps. */
#ifndef FC_PROCTITLE_H
#define FC_PROCTITLE_H

/* Remembers the command line and moves environ out of the way; call first in main(). */
void fc_proctitle_init(int argc, char **argv);
/* Sets the title to "fulcrum: WHAT" (the master's also shows its command line). */
void fc_proctitle_set(const char *what);

#endif
