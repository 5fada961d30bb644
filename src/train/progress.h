/* progress.h - the built-in progress display (verbose 1 and 2). */
#ifndef LAM_TRAIN_PROGRESS_H
#define LAM_TRAIN_PROGRESS_H

#include "internal.h"

typedef struct lam_display {
    FILE *out;
    int verbose;
    bool tty;
    double last_draw;
} lam_display;

void lam_display_init(lam_display *d, FILE *out, int verbose);
/* A lam_progress_fn; user is a lam_display. */
void lam_display_progress(const lam_progress *p, void *user);

#endif
