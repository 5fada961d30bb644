/* test_curves.c - learning curves in and out (src/io/curves.c): a CSVLogger
 * file as lamina and Keras write it read back value for value (NA and empty
 * fields as NaN, blank lines skipped, ';' separators); a model's history
 * recorded after two runs, the second resumed from an earlier epoch,
 * replacing what came after it and adding the quantity it newly logs; and
 * malformed logs and histories refused with the line or key named. */
#include "lamina.h"
#include "io/curves.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[256];

static lam_status read_text(const char *text, lam_curves **c)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    return lam_curves_read(path, c);
}

static double at(const lam_curves *c, const char *name, int i)
{
    const int k = lam_curves_column(c, name);
    return k < 0 ? -999 : c->values[(size_t)k * c->epochs + i];
}

static void test_csv(void)
{
    lam_curves *c = NULL;
    /* As lam_csv_logger writes: keys sorted, epochs from 0, shortest doubles. */
    CHECK_OK(read_text("epoch,accuracy,loss,val_accuracy,val_loss\r\n"
                       "0,0.5,1.25,0.75,1.0\r\n"
                       "\n"
                       "1,0.625,0.875,NA,\r\n"
                       "2,0.75,0.5,0.875,0.25\n", &c));
    if (!c) return;
    CHECK(c->epochs == 3 && c->columns == 4, "%d epochs, %d columns", c->epochs, c->columns);
    CHECK(c->epoch[0] == 0 && c->epoch[2] == 2, "epochs %d..%d", c->epoch[0], c->epoch[2]);
    CHECK(at(c, "loss", 0) == 1.25 && at(c, "loss", 1) == 0.875 && at(c, "loss", 2) == 0.5,
          "loss %g %g %g", at(c, "loss", 0), at(c, "loss", 1), at(c, "loss", 2));
    CHECK(isnan(at(c, "val_accuracy", 1)) && isnan(at(c, "val_loss", 1)),
          "NA and an empty field are NaN: %g %g", at(c, "val_accuracy", 1), at(c, "val_loss", 1));
    CHECK(at(c, "val_loss", 2) == 0.25 && at(c, "accuracy", 2) == 0.75, "last row");
    CHECK(lam_curves_column(c, "epoch") == -1 && lam_curves_column(c, "val_loss") == 3,
          "columns");
    lam_curves_free(c);

    CHECK_OK(read_text("epoch;loss\n0;2\n1;1\n", &c));
    CHECK(c && c->columns == 1 && at(c, "loss", 1) == 1, "';' separated");
    lam_curves_free(c);

    CHECK_FAILS(read_text("step,loss\n0,1\n", &c), LAM_ERR_FORMAT, "does not start with \"epoch\"");
    CHECK(c == NULL, "no curves after a failure");
    CHECK_FAILS(read_text("epoch,loss\n0,1\n1,1,2\n", &c), LAM_ERR_FORMAT, "line 3: 3 fields");
    CHECK_FAILS(read_text("epoch,loss\n0,x\n", &c), LAM_ERR_FORMAT, "\"x\" in column loss");
    CHECK_FAILS(read_text("epoch,loss\n0.5,1\n", &c), LAM_ERR_FORMAT, "epoch 0.5");
    CHECK_FAILS(read_text("epoch,loss\n-1,1\n", &c), LAM_ERR_FORMAT, "epoch -1");
    CHECK_FAILS(read_text("epoch,loss,loss\n0,1,1\n", &c), LAM_ERR_FORMAT, "\"loss\" twice");
    CHECK_FAILS(read_text("epoch,,acc\n0,1,1\n", &c), LAM_ERR_FORMAT, "column name of 0 bytes");
    CHECK_FAILS(read_text("epoch,loss\n", &c), LAM_ERR_FORMAT, "a header and no epochs");
    CHECK_FAILS(read_text("", &c), LAM_ERR_FORMAT, "empty");
    CHECK_FAILS(read_text("epoch,l\xff\n0,1\n", &c), LAM_ERR_FORMAT, "not UTF-8");
    CHECK_FAILS(lam_curves_read("/nonexistent/log.csv", &c), LAM_ERR_IO, "/nonexistent/log.csv");
    CHECK(c == NULL, "no curves after a failure");
}

static lam_epoch_log epoch_log(double loss, double val_loss, bool has_val)
{
    return (lam_epoch_log){.loss = loss, .accuracy = 1 - loss, .val_loss = val_loss,
                           .val_accuracy = 1 - val_loss, .has_accuracy = true,
                           .has_val = has_val, .learning_rate = 0.001, .epsilon = NAN};
}

static void test_history(void)
{
    lam_model *m = lam_sequential("s");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){4}));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_curves *c = NULL;
    CHECK_FAILS(lam_model_history(m, &c), LAM_ERR_ARG, "no training history");

    /* Three epochs without validation... */
    lam_epoch_log run1[3] = {epoch_log(0.9, 0, false), epoch_log(0.7, 0, false),
                             epoch_log(0.6, 0, false)};
    lam_history h1 = {.epochs = 3, .log = run1};
    CHECK_OK(lam_model_record_history(m, &h1, 0));
    CHECK_OK(lam_model_history(m, &c));
    if (c) {
        CHECK(c->epochs == 3 && c->epoch[2] == 2, "run 1: %d epochs", c->epochs);
        CHECK(lam_curves_column(c, "val_loss") < 0, "run 1 logged no validation");
        CHECK(at(c, "loss", 1) == 0.7 && at(c, "accuracy", 1) == 1 - 0.7, "run 1 values %.17g %.17g", at(c, "loss", 1), at(c, "accuracy", 1));
        CHECK(at(c, "learning_rate", 0) == 0.001, "learning_rate %g", at(c, "learning_rate", 0));
        CHECK(lam_curves_column(c, "epsilon") < 0, "no DP, no epsilon");
    }
    lam_curves_free(c);
    /* ...then resumed from epoch 2 (a checkpoint after two epochs) with
     * validation for two more: epoch 2 is replaced, val_loss is new and null
     * for the epochs before it. */
    lam_epoch_log run2[2] = {epoch_log(0.5, 0.55, true), epoch_log(0.4, 0.45, true)};
    lam_history h2 = {.epochs = 2, .log = run2};
    CHECK_OK(lam_model_record_history(m, &h2, 2));
    CHECK_OK(lam_model_history(m, &c));
    if (c) {
        CHECK(c->epochs == 4 && c->epoch[0] == 0 && c->epoch[3] == 3, "%d epochs, last %d",
              c->epochs, c->epochs ? c->epoch[c->epochs - 1] : -1);
        CHECK(at(c, "loss", 2) == 0.5 && at(c, "loss", 3) == 0.4, "epoch 2 replaced: %g",
              at(c, "loss", 2));
        CHECK(isnan(at(c, "val_loss", 0)) && isnan(at(c, "val_loss", 1)) &&
                  at(c, "val_loss", 2) == 0.55 && at(c, "val_loss", 3) == 0.45,
              "val_loss %g %g %g %g", at(c, "val_loss", 0), at(c, "val_loss", 1),
              at(c, "val_loss", 2), at(c, "val_loss", 3));
    }
    lam_curves_free(c);
    /* It is kept in the file. */
    snprintf(path + strlen(path), 16, ".st");
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_save(m, path));
    lam_model *back = NULL;
    CHECK_OK(lam_model_load(path, &back));
    CHECK_OK(back ? lam_model_history(back, &c) : LAM_ERR_STATE);
    CHECK(c && c->epochs == 4 && at(c, "val_loss", 3) == 0.45, "history after a save and load");
    lam_curves_free(c);
    lam_model_free(back);
    unlink(path);
    path[strlen(path) - 3] = '\0';

    /* A history that is not one. */
    CHECK_OK(lam_model_set_metadata(m, LAM_HISTORY_METADATA_KEY, "{\"epoch\": [0, 1], "
                                    "\"loss\": [1]}"));
    CHECK_FAILS(lam_model_history(m, &c), LAM_ERR_FORMAT, "\"loss\" is not an array of 2");
    CHECK_OK(lam_model_set_metadata(m, LAM_HISTORY_METADATA_KEY, "{\"loss\": [1]}"));
    CHECK_FAILS(lam_model_history(m, &c), LAM_ERR_FORMAT, "no \"epoch\" array");
    CHECK_OK(lam_model_set_metadata(m, LAM_HISTORY_METADATA_KEY, "{\"epoch\": [0], "
                                    "\"loss\": [\"a\"]}"));
    CHECK_FAILS(lam_model_history(m, &c), LAM_ERR_FORMAT, "\"loss\"[0] is not a number");
    CHECK_OK(lam_model_set_metadata(m, LAM_HISTORY_METADATA_KEY, "{\"epoch\": [0"));
    CHECK_FAILS(lam_model_history(m, &c), LAM_ERR_FORMAT, "not JSON");
    /* Recording over a broken history says so rather than dropping it. */
    CHECK_FAILS(lam_model_record_history(m, &h2, 0), LAM_ERR_FORMAT, "not JSON");
    CHECK(c == NULL, "no curves after a failure");
    lam_model_free(m);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/lamina-curves-%ld.csv", base && *base ? base : "/tmp",
             (long)getpid());
    test_csv();
    test_history();
    unlink(path);
    return test_summary("test_curves");
}
