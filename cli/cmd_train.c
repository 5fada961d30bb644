/* cmd_train.c - `lamina train`: model.compile + model.fit + model.evaluate.
 *
 * Epoch counting follows Keras's fit(epochs=, initial_epoch=): with --resume,
 * --epochs is the TOTAL number of epochs wanted, so a model saved after 2
 * epochs resumed with --epochs 3 trains 1 more. lam_fit counts the epochs to
 * run from initial_epoch, so the command converts. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina train --model SPEC.json|MODEL.safetensors --data SOURCE [options]\n"
    "       lamina train --resume MODEL.safetensors --data SOURCE [--epochs TOTAL] [options]\n"
    "\n"
    "Trains a model and, when the data source has a test split (Fashion-MNIST, an IDX folder\n"
    "with t10k-* files) or --test is given, evaluates it on that split afterwards.\n"
    "\n"
    "  --model FILE          a Keras model.to_json() spec (*.json; compiled with the options\n"
    "                        below) or a saved lamina model (trained further for --epochs)\n"
    "  --resume FILE         continue a saved model: weights, optimizer state, epoch, step\n"
    "                        and random state; --epochs is then the total epoch count (Keras\n"
    "                        initial_epoch semantics; default: one more epoch); the result is\n"
    "                        saved back to FILE unless --out is given\n"
    "  --data SOURCE         training data (see `lamina --help`)\n"
    "  --test SOURCE         evaluate on this data after training (default: the source's\n"
    "                        test split, if any)\n"
    "  --epochs N            default 1\n"
    "  --batch-size N        default 32\n"
    "  --validation-split F  the last fraction F of the training data, as Keras (default 0)\n"
    "  --optimizer NAME      adam (default), adamw, sgd, rmsprop, adagrad, adamax, nadam\n"
    "  --lr F  --beta1 F  --beta2 F  --epsilon F  --momentum F  --nesterov  --rho F\n"
    "  --amsgrad  --centered  --initial-accumulator F\n"
    "                        optimizer settings (Keras defaults otherwise); --lr is also\n"
    "                        allowed with a saved model: a constant rate from its current\n"
    "                        step on, replacing its schedule\n"
    "  --weight-decay F  --clipnorm F  --clipvalue F  --global-clipnorm F\n"
    "  --exclude-from-weight-decay NAMES  weights not decayed, e.g. bias,gamma,beta\n"
    "                        Keras's decoupled weight decay and gradient clipping (one of\n"
    "                        the three clips at most)\n"
    "  --lr-schedule SPEC    the learning rate as a function of the step, from --lr:\n"
    "                          exponential:decay_steps=N,decay_rate=F[,staircase=1]\n"
    "                          inverse_time:decay_steps=N,decay_rate=F[,staircase=1]\n"
    "                          cosine:decay_steps=N[,alpha=F][,warmup_target=F,warmup_steps=N]\n"
    "                          piecewise:boundaries=N/N/...,values=F/F/...\n"
    "  --loss NAME           default sparse_categorical_crossentropy; also\n"
    "                        categorical_crossentropy, binary_crossentropy, mse\n"
    "  --seed N              weight initialisation, shuffling, dropout (default 42)\n"
    "  --threads N           0 = all cores (default)\n"
    "  --verbose 0|1|2       progress: 0 none, 1 bar, 2 a line per epoch (default 1; 0 with\n"
    "                        --json, where progress goes to stderr)\n"
    "  --limit N             train on the first N samples only\n"
    "  --test-limit N        evaluate on the first N test samples only\n"
    "  --no-shuffle          keep the sample order (Keras shuffle=False)\n"
    "  --prefetch, --no-prefetch  gather the next batch on a background thread (default: on\n"
    "                        for memory-mapped data, docs/STREAMING.md; same results either way)\n"
    "  --standardize         put a Keras Normalization layer after the input of a JSON spec\n"
    "                        and fit it to the training data (without the validation split):\n"
    "                        mean 0, standard deviation 1 per feature of the input's last axis\n"
    "                        (per channel of an image); saved with the model, so evaluate,\n"
    "                        predict and explain apply it to raw data\n"
    "  --minmax              the same, scaling each feature to [0, 1] instead\n"
    "  --label-column C      CSV: label column name or index (default 0)\n"
    "  --no-header           CSV: no header row\n"
    "  --block T             text:PATH: window length (default: the model's input length)\n"
    "  --max-len N           textcls:DIR: tokens per sample (default: the model's input length)\n"
    "  --min-class-samples N textcls:DIR: only the classes with at least N samples\n"
    "  --tokenizer char|bpe:VOCAB  text sources: the tokenizer to train when the model has\n"
    "                        none (default char); it is saved in the model's metadata\n"
    "  --out FILE            save the trained model (safetensors); written atomically at the\n"
    "                        start (to check the path), after every epoch, every\n"
    "                        --checkpoint-every steps, and on Ctrl-C\n"
    "  --checkpoint-every N  also save every N optimizer steps inside an epoch; resuming\n"
    "                        continues from the next batch, with the same sample order\n"
    "  --encrypt             write --out, checkpoints and --save-best encrypted and\n"
    "                        authenticated with the key in LAMINA_KEY_FILE (a key file, see\n"
    "                        `lamina keygen`) or LAMINA_KEY (64 hex digits); a model read\n"
    "                        from an encrypted file is always saved encrypted\n"
    "  --json                print one JSON object: history, test result, output file\n"
    "\n"
    "Data-parallel training over processes (MPI; docs/SCALE_OUT.md):\n"
    "  --dist mpi|none       `mpirun -np N lamina train ...` trains one model on N processes,\n"
    "                        each computing 1/N of every batch (--batch-size is the global\n"
    "                        batch); default: mpi when started by Open MPI's mpirun\n"
    "                        (OMPI_COMM_WORLD_SIZE is set), else none. Only rank 0 prints\n"
    "                        and writes files\n"
  "  --dist-timeout S      a rank waiting more than S seconds for the others (a rank\n"
  "                        killed, a host cut off) fails the job; 0: wait forever\n"
  "                        (default 60)\n"
    "\n"
    "Differential privacy (DP-SGD: per-sample clipping, Gaussian noise, Poisson batches):\n"
    "  --dp-clip C           clip each sample's gradient to L2 norm C (turns DP-SGD on)\n"
    "  --dp-noise SIGMA      noise multiplier: noise std SIGMA * C on the clipped sum\n"
    "  --dp-epsilon E        or: the SIGMA that spends at most E by the run's end (q = batch\n"
    "                        / training samples, steps = epochs * ceil(1 / q)), counting\n"
    "                        what a resumed model spent before\n"
    "  --dp-delta D          delta of the (epsilon, delta) guarantee (required)\n"
    "  --dp-accountant rdp|prv  default rdp\n"
    "  --dp-shuffle          shuffled fixed-size batches instead of Poisson sampling: the\n"
    "                        reported epsilon then does NOT hold\n"
    "  --dp-seeded-noise     noise from --seed's generator (reproducible, NOT private)\n"
    "  --dp-per-layer        clip each layer's part of a sample's gradient to C / sqrt(layers)\n"
    "                        instead of the whole to C (the same sensitivity C)\n"
    "\n"
    "Callbacks (Keras's, run at the end of every epoch):\n"
    "  --early-stopping N    stop after N epochs without improvement of --monitor\n"
    "  --restore-best-weights  with --early-stopping: end with the best epoch's weights\n"
    "  --reduce-lr-on-plateau N  multiply the learning rate by --lr-factor (0.1) after N\n"
    "                        epochs without improvement; --min-lr F (0), --cooldown N (0)\n"
    "  --save-best FILE      save the model whenever --monitor improves (ModelCheckpoint\n"
    "                        with save_best_only; FILE may hold {epoch:02d}, {val_loss:.4f})\n"
    "  --csv-log FILE        one CSV row per epoch (CSVLogger); --csv-append keeps old rows\n"
    "  --terminate-on-nan    end quietly at a non-finite loss, with the weights before it\n"
    "  --monitor NAME        loss, accuracy, val_loss (default), val_accuracy\n"
    "  --min-delta F         the least change that counts as an improvement\n";

typedef struct train_args {
    const char *model, *resume, *data, *test, *out, *optimizer, *loss, *label_column;
    const char *tokenizer, *dist;
    double dist_timeout;
    bool seen_dist_timeout;
    long block, max_len, min_class_samples;
    long epochs, batch_size, seed, threads, verbose, limit, test_limit, checkpoint_every;
    const char *lr_schedule, *exclude_wd;
    double validation_split, lr, beta1, beta2, epsilon, momentum, rho, initial_accumulator;
    double weight_decay, clipnorm, clipvalue, global_clipnorm;
    bool nesterov, amsgrad, centered, json, no_header, no_shuffle, encrypt;
    bool prefetch, no_prefetch;
    bool standardize, minmax; /* a Normalization after the input of a spec */
    /* DP-SGD. */
    double dp_clip, dp_noise, dp_epsilon, dp_delta;
    const char *dp_accountant;
    bool dp_shuffle, dp_seeded_noise, dp_per_layer, seen_dp_clip, seen_dp_noise, seen_dp_epsilon,
        seen_dp_delta, seen_dp_accountant;
    /* Callbacks. */
    long early_stopping, reduce_lr, cooldown;
    double lr_factor, min_lr, min_delta;
    const char *monitor, *save_best, *csv_log;
    bool restore_best, csv_append, terminate_on_nan, seen_early_stopping, seen_reduce_lr,
        seen_min_delta;
    bool seen_epochs, seen_verbose, seen_optimizer, seen_lr, seen_beta1, seen_beta2,
        seen_epsilon, seen_momentum, seen_nesterov, seen_rho, seen_loss, seen_seed,
        seen_amsgrad, seen_centered, seen_initial_accumulator, seen_weight_decay, seen_clipnorm,
        seen_clipvalue, seen_global_clipnorm, seen_lr_schedule, seen_exclude_wd;
} train_args;

static int parse_args(int argc, char **argv, train_args *a)
{
    *a = (train_args){.epochs = 1, .batch_size = 32, .seed = 42, .verbose = 1,
                      .optimizer = "adam", .loss = "sparse_categorical_crossentropy",
                      .lr_factor = 0.1, .monitor = "val_loss",
                      .dist_timeout = LAM_DIST_DEFAULT_TIMEOUT};
    const cli_option opts[] = {
        {"--model", OPT_STR, &a->model, NULL},
        {"--resume", OPT_STR, &a->resume, NULL},
        {"--data", OPT_STR, &a->data, NULL},
        {"--test", OPT_STR, &a->test, NULL},
        {"--out", OPT_STR, &a->out, NULL},
        {"--epochs", OPT_INT, &a->epochs, &a->seen_epochs},
        {"--batch-size", OPT_INT, &a->batch_size, NULL},
        {"--validation-split", OPT_FLOAT, &a->validation_split, NULL},
        {"--optimizer", OPT_STR, &a->optimizer, &a->seen_optimizer},
        {"--lr", OPT_FLOAT, &a->lr, &a->seen_lr},
        {"--beta1", OPT_FLOAT, &a->beta1, &a->seen_beta1},
        {"--beta2", OPT_FLOAT, &a->beta2, &a->seen_beta2},
        {"--epsilon", OPT_FLOAT, &a->epsilon, &a->seen_epsilon},
        {"--momentum", OPT_FLOAT, &a->momentum, &a->seen_momentum},
        {"--nesterov", OPT_FLAG, &a->nesterov, &a->seen_nesterov},
        {"--rho", OPT_FLOAT, &a->rho, &a->seen_rho},
        {"--amsgrad", OPT_FLAG, &a->amsgrad, &a->seen_amsgrad},
        {"--centered", OPT_FLAG, &a->centered, &a->seen_centered},
        {"--initial-accumulator", OPT_FLOAT, &a->initial_accumulator,
         &a->seen_initial_accumulator},
        {"--weight-decay", OPT_FLOAT, &a->weight_decay, &a->seen_weight_decay},
        {"--exclude-from-weight-decay", OPT_STR, &a->exclude_wd, &a->seen_exclude_wd},
        {"--clipnorm", OPT_FLOAT, &a->clipnorm, &a->seen_clipnorm},
        {"--clipvalue", OPT_FLOAT, &a->clipvalue, &a->seen_clipvalue},
        {"--global-clipnorm", OPT_FLOAT, &a->global_clipnorm, &a->seen_global_clipnorm},
        {"--lr-schedule", OPT_STR, &a->lr_schedule, &a->seen_lr_schedule},
        {"--loss", OPT_STR, &a->loss, &a->seen_loss},
        {"--seed", OPT_INT, &a->seed, &a->seen_seed},
        {"--threads", OPT_INT, &a->threads, NULL},
        {"--verbose", OPT_INT, &a->verbose, &a->seen_verbose},
        {"--limit", OPT_INT, &a->limit, NULL},
        {"--test-limit", OPT_INT, &a->test_limit, NULL},
        {"--label-column", OPT_STR, &a->label_column, NULL},
        {"--no-header", OPT_FLAG, &a->no_header, NULL},
        {"--block", OPT_INT, &a->block, NULL},
        {"--max-len", OPT_INT, &a->max_len, NULL},
        {"--min-class-samples", OPT_INT, &a->min_class_samples, NULL},
        {"--tokenizer", OPT_STR, &a->tokenizer, NULL},
        {"--no-shuffle", OPT_FLAG, &a->no_shuffle, NULL},
        {"--prefetch", OPT_FLAG, &a->prefetch, NULL},
        {"--no-prefetch", OPT_FLAG, &a->no_prefetch, NULL},
        {"--standardize", OPT_FLAG, &a->standardize, NULL},
        {"--minmax", OPT_FLAG, &a->minmax, NULL},
        {"--json", OPT_FLAG, &a->json, NULL},
        {"--encrypt", OPT_FLAG, &a->encrypt, NULL},
        {"--checkpoint-every", OPT_INT, &a->checkpoint_every, NULL},
        {"--early-stopping", OPT_INT, &a->early_stopping, &a->seen_early_stopping},
        {"--restore-best-weights", OPT_FLAG, &a->restore_best, NULL},
        {"--reduce-lr-on-plateau", OPT_INT, &a->reduce_lr, &a->seen_reduce_lr},
        {"--lr-factor", OPT_FLOAT, &a->lr_factor, NULL},
        {"--min-lr", OPT_FLOAT, &a->min_lr, NULL},
        {"--cooldown", OPT_INT, &a->cooldown, NULL},
        {"--save-best", OPT_STR, &a->save_best, NULL},
        {"--csv-log", OPT_STR, &a->csv_log, NULL},
        {"--csv-append", OPT_FLAG, &a->csv_append, NULL},
        {"--terminate-on-nan", OPT_FLAG, &a->terminate_on_nan, NULL},
        {"--monitor", OPT_STR, &a->monitor, NULL},
        {"--min-delta", OPT_FLOAT, &a->min_delta, &a->seen_min_delta},
        {"--dp-clip", OPT_FLOAT, &a->dp_clip, &a->seen_dp_clip},
        {"--dp-noise", OPT_FLOAT, &a->dp_noise, &a->seen_dp_noise},
        {"--dp-epsilon", OPT_FLOAT, &a->dp_epsilon, &a->seen_dp_epsilon},
        {"--dp-delta", OPT_FLOAT, &a->dp_delta, &a->seen_dp_delta},
        {"--dp-accountant", OPT_STR, &a->dp_accountant, &a->seen_dp_accountant},
        {"--dp-shuffle", OPT_FLAG, &a->dp_shuffle, NULL},
        {"--dp-seeded-noise", OPT_FLAG, &a->dp_seeded_noise, NULL},
        {"--dp-per-layer", OPT_FLAG, &a->dp_per_layer, NULL},
        {"--dist", OPT_STR, &a->dist, NULL},
        {"--dist-timeout", OPT_FLOAT, &a->dist_timeout, &a->seen_dist_timeout},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("train", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;
    if (!a->model && !a->resume) return cli_usage_error("train", "--model or --resume is required");
    if (a->model && a->resume) return cli_usage_error("train", "give --model or --resume, not both");
    if (!a->data) return cli_usage_error("train", "--data is required");
    if (a->checkpoint_every < 0)
        return cli_usage_error("train", "--checkpoint-every must be >= 0");
    if (a->checkpoint_every > 0 && !a->out && !a->resume)
        return cli_usage_error("train", "--checkpoint-every needs --out FILE to save to");
    if (a->epochs < 0 || a->batch_size < 1 || a->threads < 0 || a->limit < 0 ||
        a->test_limit < 0 || a->verbose < 0 || a->verbose > 2)
        return cli_usage_error("train", "--epochs, --limit, --test-limit, --threads must be >= 0, "
                               "--batch-size >= 1, --verbose 0, 1 or 2");
    if (a->block < 0 || a->max_len < 0 || a->min_class_samples < 0)
        return cli_usage_error("train", "--block and --max-len must be >= 1, "
                               "--min-class-samples >= 0");
    if (a->restore_best && !a->seen_early_stopping)
        return cli_usage_error("train", "--restore-best-weights needs --early-stopping N");
    if (a->encrypt && !a->out && !a->resume && !a->save_best)
        return cli_usage_error("train", "--encrypt needs a file to write: --out, --resume or "
                               "--save-best");
    if (a->csv_append && !a->csv_log)
        return cli_usage_error("train", "--csv-append needs --csv-log FILE");
    if ((a->seen_dp_noise || a->seen_dp_epsilon || a->seen_dp_delta || a->seen_dp_accountant ||
         a->dp_shuffle || a->dp_seeded_noise || a->dp_per_layer) && !a->seen_dp_clip)
        return cli_usage_error("train", "the --dp-* options need --dp-clip C");
    if (a->seen_dp_clip) {
        if (a->seen_dp_noise == a->seen_dp_epsilon)
            return cli_usage_error("train", "--dp-clip needs one of --dp-noise SIGMA and "
                                   "--dp-epsilon E");
        if (!a->seen_dp_delta)
            return cli_usage_error("train", "--dp-clip needs --dp-delta D");
        if (!(a->dp_clip > 0) || (a->seen_dp_noise && !(a->dp_noise >= 0)) ||
            (a->seen_dp_epsilon && !(a->dp_epsilon > 0)) ||
            !(a->dp_delta > 0 && a->dp_delta < 1))
            return cli_usage_error("train", "--dp-clip must be > 0, --dp-noise >= 0, "
                                   "--dp-epsilon > 0 and 0 < --dp-delta < 1");
    }
    if (a->dist && strcmp(a->dist, "mpi") != 0 && strcmp(a->dist, "none") != 0)
        return cli_usage_error("train", "--dist is mpi or none, not \"%s\"", a->dist);
    /* Under Open MPI's mpirun every rank has OMPI_COMM_WORLD_SIZE. */
    if (!a->dist) a->dist = getenv("OMPI_COMM_WORLD_SIZE") ? "mpi" : "none";
    if (!(a->dist_timeout >= 0))
        return cli_usage_error("train", "--dist-timeout must be >= 0 (0: no limit)");
    if (a->seen_dist_timeout && strcmp(a->dist, "mpi") != 0)
        return cli_usage_error("train", "--dist-timeout needs --dist mpi (or mpirun)");
    if (a->json && !a->seen_verbose) a->verbose = 0;
    /* A saved model carries its optimizer and state; compiling again would
     * reinitialise its weights, so these options only apply to a spec.
     * --lr is the exception: the schedule is a function of the saved step,
     * and a constant rate from that step on replaces it. */
    bool compile_opts = a->seen_optimizer || a->seen_beta1 || a->seen_beta2 ||
                        a->seen_epsilon || a->seen_momentum || a->seen_nesterov ||
                        a->seen_rho || a->seen_loss || a->seen_seed || a->seen_amsgrad ||
                        a->seen_centered || a->seen_initial_accumulator ||
                        a->seen_weight_decay || a->seen_clipnorm || a->seen_clipvalue ||
                        a->seen_global_clipnorm || a->seen_lr_schedule || a->seen_exclude_wd;
    const char *saved = a->resume ? a->resume : cli_is_spec(a->model) ? NULL : a->model;
    if (a->standardize && a->minmax)
        return cli_usage_error("train", "give --standardize or --minmax, not both");
    if (saved && (a->standardize || a->minmax))
        return cli_usage_error("train", "--standardize and --minmax add a Normalization layer to a "
                               "fresh model from a JSON spec; %s keeps the preprocessing it was "
                               "trained with", saved);
    if (saved && compile_opts)
        return cli_usage_error("train", "optimizer, schedule, loss and seed options apply to a "
                               "JSON spec; %s keeps the ones it was trained with (--lr may "
                               "replace its learning rate)", saved);
    return CLI_OK;
}

/* The optimizer named by --optimizer with the settings given overriding
 * Keras's defaults. */
static int make_optimizer(const train_args *a, lam_optimizer *opt)
{
    if (lam_optimizer_parse(a->optimizer, opt) != LAM_OK) return cli_lib_error();
    if (a->seen_lr) opt->learning_rate = (float)a->lr;
    if (a->seen_beta1) opt->beta_1 = (float)a->beta1;
    if (a->seen_beta2) opt->beta_2 = (float)a->beta2;
    if (a->seen_epsilon) opt->epsilon = (float)a->epsilon;
    if (a->seen_momentum) opt->momentum = (float)a->momentum;
    if (a->seen_nesterov) opt->nesterov = true;
    if (a->seen_rho) opt->rho = (float)a->rho;
    if (a->seen_amsgrad) opt->amsgrad = true;
    if (a->seen_centered) opt->centered = true;
    if (a->seen_initial_accumulator) opt->initial_accumulator_value = (float)a->initial_accumulator;
    if (a->seen_weight_decay) opt->weight_decay = (float)a->weight_decay;
    if (a->seen_exclude_wd) {
        if (strlen(a->exclude_wd) >= sizeof opt->exclude_from_weight_decay)
            return cli_usage_error("train", "--exclude-from-weight-decay is longer than 127 "
                                   "characters");
        strcpy(opt->exclude_from_weight_decay, a->exclude_wd);
    }
    if (a->seen_clipnorm) opt->clipnorm = (float)a->clipnorm;
    if (a->seen_clipvalue) opt->clipvalue = (float)a->clipvalue;
    if (a->seen_global_clipnorm) opt->global_clipnorm = (float)a->global_clipnorm;
    if (a->seen_lr_schedule && lam_schedule_parse(a->lr_schedule, &opt->schedule) != LAM_OK)
        return cli_lib_error();
    /* A piecewise schedule's values are its rates; the first is its initial one. */
    if (opt->schedule.kind == LAM_SCHEDULE_PIECEWISE_CONSTANT) {
        if (a->seen_lr)
            return cli_usage_error("train", "--lr does not apply to a piecewise schedule: its "
                                   "values are the rates");
        opt->learning_rate = opt->schedule.values[0];
    }
    return CLI_OK;
}

/* Opens the model and decides where its epochs start (Keras initial_epoch).
 * With --standardize or --minmax a spec gets a Normalization after its input,
 * *norm_layer (else -1), adapted once the data is read. */
static int prepare_model(const train_args *a, lam_model **m, int *initial_epoch, int *norm_layer)
{
    *initial_epoch = 0;
    *norm_layer = -1;
    const char *path = a->resume ? a->resume : a->model;
    if (cli_open_model(path, m) != CLI_OK) return CLI_FAIL;
    if (cli_is_spec(path)) {
        lam_model *with = NULL;
        if ((a->standardize || a->minmax) &&
            lam_model_prepend_normalization(*m, &with, norm_layer) != LAM_OK)
            return cli_lib_error();
        if (with) {
            lam_model_free(*m);
            *m = with;
        }
        lam_optimizer opt;
        lam_loss loss;
        if (make_optimizer(a, &opt) != CLI_OK) return CLI_FAIL;
        if (lam_loss_parse(a->loss, &loss) != LAM_OK) return cli_lib_error();
        lam_model_set_seed(*m, (uint64_t)a->seed);
        if (lam_model_compile(*m, &opt, loss) != LAM_OK) return cli_lib_error();
        return CLI_OK;
    }
    if (a->seen_lr && lam_model_set_learning_rate(*m, (float)a->lr) != LAM_OK)
        return cli_lib_error();
    lam_train_state st;
    lam_model_train_state(*m, &st);
    *initial_epoch = (int)st.epoch;
    return CLI_OK;
}

static int load_data(const train_args *a, lam_model *m, lam_dataset **train, lam_dataset **test)
{
    /* A text source trains a tokenizer unless the model has one, and keeps it
     * in the model (saved with it). */
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .model = m, .store_tokenizer = true, .tokenizer = a->tokenizer,
                             .block = a->block, .max_len = a->max_len,
                             .min_class_samples = a->min_class_samples};
    if (cli_load_data(a->data, &dopt, train, a->test ? NULL : test) != CLI_OK) return CLI_FAIL;
    if (a->test && cli_load_data(a->test, &dopt, NULL, test) != CLI_OK) return CLI_FAIL;
    if (a->limit > 0 && a->limit < lam_dataset_count(*train) &&
        lam_dataset_truncate(*train, a->limit) != LAM_OK)
        return cli_lib_error();
    if (*test && a->test_limit > 0 && a->test_limit < lam_dataset_count(*test) &&
        lam_dataset_truncate(*test, a->test_limit) != LAM_OK)
        return cli_lib_error();
    if (cli_fit_data_to_model(m, *train, a->data) != CLI_OK) return CLI_FAIL;
    if (*test && cli_fit_data_to_model(m, *test, a->test ? a->test : a->data) != CLI_OK)
        return CLI_FAIL;
    return CLI_OK;
}

/* Fits the Normalization of --standardize / --minmax on the samples lam_fit
 * trains on: the validation split (the last fraction) is left out. */
static int adapt_scaling(const train_args *a, lam_model *m, int layer, const lam_dataset *train)
{
    const int64_t n = lam_dataset_count(train);
    const int64_t fit_n = a->validation_split > 0
                              ? (int64_t)((double)n * (1.0 - (double)(float)a->validation_split))
                              : n;
    lam_dataset *part = NULL;
    if (fit_n < 1) return cli_error("%s: no training samples to fit the scaling on", a->data);
    if (lam_dataset_slice(train, 0, fit_n, &part) != LAM_OK) return cli_lib_error();
    const lam_status st = lam_model_adapt_normalization(
        m, layer, part, a->standardize ? LAM_SCALING_STANDARD : LAM_SCALING_MINMAX);
    lam_dataset_free(part);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

static void on_sigint(int sig)
{
    (void)sig;
    lam_request_stop(); /* lam_fit stops at the end of its step and checkpoints */
}

/* Where checkpoints go, and the key when they are encrypted. */
typedef struct checkpoint_target {
    const char *path;
    const lam_key *key;
} checkpoint_target;

/* lam_fit's checkpoint hook: an atomic save, so a kill at any moment leaves
 * the previous checkpoint or the new one, never a mix. */
static lam_status save_checkpoint(lam_model *m, void *user)
{
    const checkpoint_target *t = user;
    return t->key ? lam_model_save_encrypted(m, t->path, t->key) : lam_model_save(m, t->path);
}

/* The key to write with: --encrypt asks for it, and a model read from an
 * encrypted file is never written back in plaintext. NULL: write plaintext. */
static int output_key(const train_args *a, lam_key **key)
{
    *key = NULL;
    const char *in = a->resume ? a->resume : cli_is_spec(a->model) ? NULL : a->model;
    bool encrypted_in = false;
    if (in && lam_model_file_encrypted(in, &encrypted_in) != LAM_OK) return cli_lib_error();
    if (!a->encrypt && !encrypted_in) return CLI_OK;
    if (cli_env_key(key) != CLI_OK) return CLI_FAIL;
    if (!*key)
        return cli_error("--encrypt needs a key in the environment: LAMINA_KEY_FILE=KEYFILE "
                         "(`lamina keygen KEYFILE` makes one) or LAMINA_KEY=64 hex digits");
    return CLI_OK;
}

static cJSON *history_json(const lam_history *h, int initial_epoch)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; h && i < h->epochs; i++) {
        const lam_epoch_log *e = &h->log[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", initial_epoch + i + 1);
        cli_json_number(o, "loss", e->loss);
        if (e->has_accuracy) cli_json_number(o, "accuracy", e->accuracy);
        if (e->has_val) {
            cli_json_number(o, "val_loss", e->val_loss);
            if (e->has_accuracy) cli_json_number(o, "val_accuracy", e->val_accuracy);
        }
        cli_json_number(o, "learning_rate", e->learning_rate);
        if (!isnan(e->epsilon)) cli_json_number(o, "epsilon", e->epsilon);
        cli_json_number(o, "seconds", e->seconds);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The callbacks the options ask for, in Keras's usual order; returns how many. */
static int callbacks_from_args(const train_args *a, const lam_key *key, lam_callback *cb)
{
    int n = 0;
    if (a->terminate_on_nan) cb[n++] = lam_terminate_on_nan();
    if (a->seen_early_stopping) {
        cb[n] = lam_early_stopping();
        cb[n].patience = (int)a->early_stopping;
        cb[n].restore_best_weights = a->restore_best;
        cb[n].monitor = a->monitor;
        if (a->seen_min_delta) cb[n].min_delta = a->min_delta;
        n++;
    }
    if (a->seen_reduce_lr) {
        cb[n] = lam_reduce_lr_on_plateau();
        cb[n].patience = (int)a->reduce_lr;
        cb[n].factor = a->lr_factor;
        cb[n].min_lr = a->min_lr;
        cb[n].cooldown = (int)a->cooldown;
        cb[n].monitor = a->monitor;
        if (a->seen_min_delta) cb[n].min_delta = a->min_delta;
        n++;
    }
    if (a->save_best) {
        cb[n] = key ? lam_model_checkpoint_encrypted(a->save_best, key)
                    : lam_model_checkpoint(a->save_best);
        cb[n].save_best_only = true;
        cb[n].monitor = a->monitor;
        n++;
    }
    if (a->csv_log) {
        cb[n] = lam_csv_logger(a->csv_log);
        cb[n].append = a->csv_append;
        n++;
    }
    return n;
}

/* DP-SGD's privacy spent, from the model's metadata (the whole composition,
 * resumed runs included). */
static void report_privacy(const train_args *a, const lam_model *m, cJSON *root)
{
    const char *eps = lam_model_metadata(m, "dp.epsilon");
    const char *steps = lam_model_metadata(m, "dp.steps");
    if (!a->seen_dp_clip || !eps || !steps) return;
    const char *acc = lam_model_metadata(m, "dp.accountant");
    const char *sigma = lam_model_metadata(m, "dp.noise_multiplier");
    if (!root) {
        printf("privacy: epsilon %.4f at delta %g (%s accountant, noise multiplier %.4g, "
               "%s steps)%s\n", strtod(eps, NULL), a->dp_delta, acc ? acc : "?",
               sigma ? strtod(sigma, NULL) : NAN, steps,
               a->dp_shuffle ? "; shuffled batches: this accounting does NOT hold" : "");
        return;
    }
    cJSON *d = cJSON_AddObjectToObject(root, "privacy");
    cli_json_number(d, "epsilon", strtod(eps, NULL));
    cli_json_number(d, "delta", a->dp_delta);
    if (sigma) cli_json_number(d, "noise_multiplier", strtod(sigma, NULL));
    cli_json_number(d, "clip_norm", a->dp_clip);
    cJSON_AddNumberToObject(d, "steps", strtod(steps, NULL));
    if (acc) cJSON_AddStringToObject(d, "accountant", acc);
    cJSON_AddBoolToObject(d, "poisson", !a->dp_shuffle);
    cJSON_AddBoolToObject(d, "private_noise", !a->dp_seeded_noise);
}

static void report(const train_args *a, const lam_model *m, const lam_history *h,
                   int initial_epoch, const lam_eval_result *test, const char *out,
                   const lam_dist *dist)
{
    if (!a->json) {
        report_privacy(a, m, NULL);
        if (test) {
            printf("test loss: %.4f\n", test->loss);
            if (test->has_accuracy) printf("test accuracy: %.4f\n", test->accuracy);
        }
        if (h && h->stopped_by[0])
            printf("%s stopped training after epoch %d\n", h->stopped_by,
                   initial_epoch + h->stopped_epoch);
        if (out) printf("saved %s\n", out);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "history", history_json(h, initial_epoch));
    if (test) {
        cJSON *t = cJSON_AddObjectToObject(root, "test");
        cli_json_number(t, "loss", test->loss);
        if (test->has_accuracy) cli_json_number(t, "accuracy", test->accuracy);
        cli_json_number(t, "seconds", test->seconds);
    } else {
        cJSON_AddNullToObject(root, "test");
    }
    if (out) cJSON_AddStringToObject(root, "out", out);
    else cJSON_AddNullToObject(root, "out");
    report_privacy(a, m, root);
    if (dist) { /* rank 0's view: its seconds in collectives, waits included */
        cJSON *d = cJSON_AddObjectToObject(root, "dist");
        cJSON_AddNumberToObject(d, "ranks", lam_dist_size(dist));
        cli_json_number(d, "comm_seconds", lam_dist_comm_seconds(dist));
    }
    if (h && h->stopped_by[0]) {
        cJSON_AddStringToObject(root, "stopped_by", h->stopped_by);
        cJSON_AddNumberToObject(root, "stopped_epoch", initial_epoch + h->stopped_epoch);
    }
    cli_json_print(root);
}

/* DP-SGD's options; with --dp-epsilon, fit chooses sigma for this run's
 * steps after what the model spent before (the report prints it). */
static int dp_from_args(const train_args *a, lam_dp_options *dp)
{
    dp->clip_norm = a->dp_clip;
    dp->delta = a->dp_delta;
    dp->poisson = !a->dp_shuffle;
    dp->seeded_noise = a->dp_seeded_noise;
    dp->per_layer = a->dp_per_layer;
    if (a->seen_dp_accountant && lam_accountant_parse(a->dp_accountant, &dp->accountant))
        return CLI_FAIL;
    if (a->seen_dp_noise) dp->noise_multiplier = a->dp_noise;
    else dp->target_epsilon = a->dp_epsilon;
    return CLI_OK;
}

static int run(const train_args *a, lam_model *m, int initial_epoch, lam_dataset *train,
               lam_dataset *test, const lam_key *key, lam_dist *dist)
{
    lam_fit_options fo = lam_fit_defaults();
    fo.dist = dist;
    /* Data-parallel: ranks other than 0 write no files and evaluate nothing
     * (their weights are rank 0's); their stdout is closed in cmd_train. */
    const bool writer = lam_dist_rank(dist) == 0;
    if (!writer) test = NULL;
    fo.initial_epoch = initial_epoch;
    if (a->resume) {
        /* Keras: fit(epochs=TOTAL, initial_epoch=done); default one more. */
        long total = a->seen_epochs ? a->epochs : initial_epoch + 1;
        fo.epochs = total > initial_epoch ? (int)(total - initial_epoch) : 0;
        if (fo.epochs == 0)
            fprintf(stderr, "lamina: %s has already trained %d epochs (--epochs is the total); "
                    "nothing to train\n", a->resume, initial_epoch);
    } else {
        fo.epochs = (int)a->epochs;
    }
    fo.batch_size = (int)a->batch_size;
    fo.shuffle = !a->no_shuffle;
    fo.prefetch = !a->no_prefetch && (a->prefetch || lam_dataset_is_mapped(train));
    fo.validation_split = (float)a->validation_split;
    fo.verbose = (int)a->verbose;
    fo.out = a->json ? stderr : stdout; /* stdout holds only the JSON object */
    const char *out = !writer ? NULL : a->out ? a->out : a->resume;
    checkpoint_target target = {out, key};
    if (out) {
        /* An unwritable path or a full disk shows now, not after the training. */
        if (cli_save_model(m, out, key) != CLI_OK) return CLI_FAIL;
        fo.checkpoint = save_checkpoint;
        fo.checkpoint_user = &target;
        fo.checkpoint_every_steps = a->checkpoint_every;
    }
    lam_dp_options dp = lam_dp_defaults();
    if (a->seen_dp_clip) {
        if (dp_from_args(a, &dp) != CLI_OK)
            return cli_lib_error();
        fo.dp = &dp;
    }
    lam_callback callbacks[5];
    fo.callbacks = callbacks;
    fo.ncallbacks = callbacks_from_args(a, key, callbacks);
    if (!writer) /* the file-writing callbacks (--save-best, --csv-log) come last */
        while (fo.ncallbacks > 0 && (callbacks[fo.ncallbacks - 1].kind == LAM_CB_MODEL_CHECKPOINT ||
                                     callbacks[fo.ncallbacks - 1].kind == LAM_CB_CSV_LOGGER))
            fo.ncallbacks--;
    lam_history *h = NULL;
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    lam_status st = lam_fit(m, train, &fo, &h);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st != LAM_OK) {
        int rc = cli_lib_error();
        /* Interrupted: the checkpoint keeps the epochs completed so far in
         * its history too (what the resumed run appends to). */
        if (st == LAM_ERR_INTERRUPTED && out && h && h->epochs > 0) {
            if (lam_model_record_history(m, h, initial_epoch) != LAM_OK) cli_lib_error();
            else cli_save_model(m, out, key); /* prints its own failure */
        }
        lam_history_free(h);
        if (st == LAM_ERR_INTERRUPTED && out)
            fprintf(stderr, "lamina: checkpoint saved in %s; continue with "
                    "`lamina train --resume %s --data %s`\n", out, out, a->data);
        return st == LAM_ERR_INTERRUPTED ? 130 : rc;
    }
    /* The epochs' history goes into the model file (`lamina plot` draws it). */
    if (lam_model_record_history(m, h, initial_epoch) != LAM_OK) {
        lam_history_free(h);
        return cli_lib_error();
    }
    if (out && cli_save_model(m, out, key) != CLI_OK) {
        lam_history_free(h);
        return CLI_FAIL;
    }
    lam_eval_result res;
    if (test && lam_evaluate(m, test, (int)a->batch_size, 0, &res) != LAM_OK) {
        lam_history_free(h);
        return cli_lib_error();
    }
    report(a, m, h, initial_epoch, test ? &res : NULL, out, dist);
    lam_history_free(h);
    return CLI_OK;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    lam_set_threads((int)a.threads);
    lam_model *m = NULL;
    lam_dataset *train = NULL, *test = NULL;
    int initial_epoch = 0;
    lam_key *key = NULL;
    int norm_layer;
    lam_dist *dist = NULL;
    if (strcmp(a.dist, "mpi") == 0) {
        if (lam_dist_world(&dist) != LAM_OK) return cli_lib_error();
        if (lam_dist_set_timeout(dist, a.dist_timeout) != LAM_OK) return cli_lib_error();
        /* Only rank 0 prints; errors (stderr) show from every rank. */
        if (lam_dist_rank(dist) != 0 && !freopen("/dev/null", "w", stdout))
            return cli_error("cannot redirect rank %d's output", lam_dist_rank(dist));
    }
    rc = prepare_model(&a, &m, &initial_epoch, &norm_layer);
    if (rc == CLI_OK) rc = output_key(&a, &key);
    if (rc == CLI_OK) rc = load_data(&a, m, &train, &test);
    if (rc == CLI_OK && norm_layer >= 0) rc = adapt_scaling(&a, m, norm_layer, train);
    if (rc == CLI_OK) rc = run(&a, m, initial_epoch, train, test, key, dist);
    /* A failed rank exits without finalising MPI: mpirun then ends the job
     * (a finalize would wait for ranks that wait for this one). */
    if (rc == CLI_OK) lam_dist_free(dist);
    lam_key_free(key);
    lam_dataset_free(train);
    lam_dataset_free(test);
    lam_model_free(m);
    return rc;
}
