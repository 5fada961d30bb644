/* curves.h - the learning-curve reader's limits and its entry point on
 * bytes (lam_curves_read and lam_model_history call it; so does the fuzz
 * target). */
#ifndef LAM_IO_CURVES_H
#define LAM_IO_CURVES_H

#include "internal.h"

#define LAM_CURVES_MAX_EPOCHS (1 << 20)
#define LAM_CURVES_MAX_COLUMNS 256
#define LAM_CURVES_MAX_NAME 64
#define LAM_CURVES_MAX_EPOCH 1000000000

/* A CSVLogger file's text (a header "epoch,<name>,...", then one row per
 * epoch; ',' or the header's ';' or tab between fields; empty, NA or nan for
 * a missing value) or a History JSON object ({"epoch": [...], "<name>":
 * [numbers or null], ...}), told apart by a leading '{'. source names the
 * text in errors. */
lam_status lam_curves_parse(const char *text, size_t len, const char *source, lam_curves **out);

#endif
