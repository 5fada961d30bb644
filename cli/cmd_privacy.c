/* cmd_privacy.c - `lamina privacy`: the epsilon that DP-SGD with a given noise
 * multiplier, sample rate and number of steps spends at delta, or the noise
 * multiplier for a target epsilon (like TF Privacy's compute_dp_sgd_privacy
 * and Opacus's get_noise_multiplier). A thin client of lamina_privacy.h. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina privacy (--noise-multiplier S | --target-epsilon E)\n"
    "                      (--sample-rate Q | --batch-size B --samples N)\n"
    "                      (--steps T | --epochs E) --delta D [--accountant rdp|prv] [--json]\n"
    "\n"
    "Prints the epsilon spent at delta by T steps of DP-SGD with Poisson sampling at rate Q\n"
    "and Gaussian noise of S times the clipping norm; with --target-epsilon, prints the\n"
    "smallest noise multiplier (to Opacus's bisection tolerance 0.01 in epsilon) that keeps\n"
    "epsilon at or below E.\n"
    "\n"
    "  --noise-multiplier S  sigma > 0 (noise standard deviation / clipping norm)\n"
    "  --target-epsilon E    instead of --noise-multiplier: the budget to calibrate for\n"
    "  --sample-rate Q       probability that a sample is in a batch, 0 < Q <= 1\n"
    "  --batch-size B        with --samples N: Q = B / N\n"
    "  --samples N           the training set size\n"
    "  --steps T             number of steps\n"
    "  --epochs E            instead of --steps: T = ceil(E / Q) (ceil(E * N / B))\n"
    "  --delta D             0 < D < 1, usually below 1 / N\n"
    "  --accountant A        rdp (default; Renyi DP with Opacus's orders) or prv (privacy\n"
    "                        random variables: tighter, reported as its upper bound,\n"
    "                        estimate + 0.01)\n"
    "  --json                print one JSON object\n";

typedef struct privacy_args {
    double sigma, target, q, epochs, delta;
    long steps, batch, samples;
    const char *accountant;
    bool json;
    bool has_sigma, has_target, has_q, has_epochs, has_delta, has_steps, has_batch, has_samples;
} privacy_args;

/* A bad argument (LAM_ERR_ARG: sigma, delta, a budget no noise reaches) is the user's:
 * exit 2 with the library's message; anything else is a failure (exit 1). */
static int lib_failure(lam_status s)
{
    if (s == LAM_ERR_ARG) return cli_usage_error("privacy", "%s", lam_last_error());
    return cli_lib_error();
}

int cmd_privacy(int argc, char **argv)
{
    privacy_args a = {.accountant = "rdp"};
    const cli_option opts[] = {
        {"--noise-multiplier", OPT_FLOAT, &a.sigma, &a.has_sigma},
        {"--target-epsilon", OPT_FLOAT, &a.target, &a.has_target},
        {"--sample-rate", OPT_FLOAT, &a.q, &a.has_q},
        {"--batch-size", OPT_INT, &a.batch, &a.has_batch},
        {"--samples", OPT_INT, &a.samples, &a.has_samples},
        {"--steps", OPT_INT, &a.steps, &a.has_steps},
        {"--epochs", OPT_FLOAT, &a.epochs, &a.has_epochs},
        {"--delta", OPT_FLOAT, &a.delta, &a.has_delta},
        {"--accountant", OPT_STR, &a.accountant, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("privacy", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;

    lam_accountant_kind kind;
    if (lam_accountant_parse(a.accountant, &kind) != LAM_OK)
        return cli_usage_error("privacy", "--accountant %s: expected rdp or prv", a.accountant);
    if (a.has_sigma == a.has_target)
        return cli_usage_error("privacy", "give exactly one of --noise-multiplier and "
                                          "--target-epsilon");
    if (a.has_q && (a.has_batch || a.has_samples))
        return cli_usage_error("privacy", "give --sample-rate or --batch-size with --samples, "
                                          "not both");
    if (!a.has_q) {
        if (!a.has_batch || !a.has_samples)
            return cli_usage_error("privacy", "give --sample-rate, or --batch-size and --samples");
        if (a.batch < 1 || a.samples < 1 || a.batch > a.samples)
            return cli_usage_error("privacy", "--batch-size %ld --samples %ld: expected "
                                   "1 <= batch size <= samples", a.batch, a.samples);
        a.q = (double)a.batch / (double)a.samples;
    }
    if (a.has_steps == a.has_epochs)
        return cli_usage_error("privacy", "give exactly one of --steps and --epochs");
    if (!a.has_delta) return cli_usage_error("privacy", "--delta is required");
    if (!(a.q > 0 && a.q <= 1))
        return cli_usage_error("privacy", "--sample-rate %g: expected 0 < Q <= 1", a.q);
    int64_t steps = a.steps;
    if (a.has_epochs) {
        if (!(a.epochs > 0))
            return cli_usage_error("privacy", "--epochs %g: expected > 0", a.epochs);
        /* E / Q in floating point can land a hair above an integer (1 / 0.01 =
         * 100.00000000000001); the relative 1e-12 keeps that from adding a step. */
        double x = a.has_q ? a.epochs / a.q : a.epochs * (double)a.samples / (double)a.batch;
        steps = (int64_t)ceil(x * (1 - 1e-12));
    }
    if (steps < 0) return cli_usage_error("privacy", "--steps %lld: expected >= 0", (long long)steps);

    double eps = NAN, order = NAN, sigma = a.sigma;
    lam_prv_result prv = {NAN, NAN, NAN, 0};
    lam_status s;
    if (a.has_target) {
        s = lam_privacy_noise_multiplier(kind, a.target, a.delta, a.q, steps, 0.01, &sigma);
        if (s != LAM_OK) return lib_failure(s);
    }
    s = lam_privacy_epsilon(kind, sigma, a.q, steps, a.delta, &eps, &order);
    if (s != LAM_OK) return lib_failure(s);
    if (kind == LAM_ACCOUNTANT_PRV && steps > 0) {
        lam_privacy_steps run = {sigma, a.q, steps};
        s = lam_prv_epsilon(&run, 1, a.delta, LAM_PRV_EPS_ERROR,
                            a.delta * LAM_PRV_DELTA_ERROR_FRACTION, &prv);
        if (s != LAM_OK) return lib_failure(s);
    }

    if (a.json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_number(o, "epsilon", eps);
        cli_json_number(o, "delta", a.delta);
        cli_json_number(o, "noise_multiplier", sigma);
        cli_json_number(o, "sample_rate", a.q);
        cJSON_AddNumberToObject(o, "steps", (double)steps);
        cJSON_AddStringToObject(o, "accountant", lam_accountant_name(kind));
        if (kind == LAM_ACCOUNTANT_RDP) cli_json_number(o, "optimal_order", order);
        if (kind == LAM_ACCOUNTANT_PRV) {
            cli_json_number(o, "epsilon_estimate", prv.eps_estimate);
            cli_json_number(o, "epsilon_lower", prv.eps_lower);
        }
        if (a.has_target) cli_json_number(o, "target_epsilon", a.target);
        cli_json_print(o);
        return CLI_OK;
    }
    if (a.has_target)
        printf("noise multiplier %.6g: epsilon %.6g <= %g at delta %g\n", sigma, eps, a.target,
               a.delta);
    else
        printf("epsilon %.6g at delta %g\n", eps, a.delta);
    printf("  %s accountant", kind == LAM_ACCOUNTANT_RDP ? "RDP" : "PRV");
    if (kind == LAM_ACCOUNTANT_RDP && !isnan(order)) printf(", optimal order %g", order);
    if (kind == LAM_ACCOUNTANT_PRV && steps > 0)
        printf(", estimate %.6g, bounds [%.6g, %.6g]", prv.eps_estimate, prv.eps_lower,
               prv.eps_upper);
    printf("; sigma %.6g, sample rate %.6g, %lld steps\n", sigma, a.q, (long long)steps);
    return CLI_OK;
}
