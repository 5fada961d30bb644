/* cmd_desensitize.c - `lamina desensitize`: a CSV table with per-column rules
 * applied (drop, keyed hash, bins, suppression of rare values) and a summary
 * of what was done. A thin client of lamina_desensitize.h; the hash key comes
 * from the environment (key.c), never from an argument. */
#include "cli.h"

#include <cjson/cJSON.h>

static const char USAGE[] =
    "usage: lamina desensitize IN.csv --out OUT.csv --rules RULES.txt [--json]\n"
    "\n"
    "Writes IN.csv with per-column rules applied. RULES.txt has one rule a line\n"
    "(`#` comments):\n"
    "  name: drop              remove the column\n"
    "  email: hash             keyed pseudonym: 32 hex digits, the same for the same value\n"
    "                          under one key (joins still work); needs LAMINA_KEY_FILE or\n"
    "                          LAMINA_KEY (lamina keygen FILE makes a key file)\n"
    "  age: bin:0,18,30,50,70  numbers into intervals \"[18, 30)\" (below the first edge\n"
    "                          \"(-inf, 0)\", from the last \"[70, inf)\")\n"
    "  income: bin:10000       equal-width intervals from 0\n"
    "  zip: suppress:5         values found in fewer than 5 rows become \"*\"\n"
    "  id: keep                the default for columns without a rule\n"
    "\n"
    "  --out OUT.csv      the desensitised table (written atomically)\n"
    "  --rules RULES.txt  the rules\n"
    "  --json             print the summary as one JSON object\n";

int cmd_desensitize(int argc, char **argv)
{
    const char *out = NULL, *rules_path = NULL;
    bool json = false;
    const cli_option opts[] = {
        {"--out", OPT_STR, &out, NULL},
        {"--rules", OPT_STR, &rules_path, NULL},
        {"--json", OPT_FLAG, &json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("desensitize", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("desensitize", "expected one input file IN.csv");
    if (!out) return cli_usage_error("desensitize", "--out is required");
    if (!rules_path) return cli_usage_error("desensitize", "--rules is required");

    lam_desens_rules *rules = NULL;
    if (lam_desens_rules_load(rules_path, &rules) != LAM_OK) return cli_lib_error();
    lam_key *key = NULL;
    if (lam_desens_rules_need_key(rules)) {
        rc = cli_env_key(&key);
        if (rc == CLI_OK && !key)
            rc = cli_error("%s: the hash rule needs a secret key: set LAMINA_KEY_FILE to a key "
                           "file (lamina keygen FILE makes one) or LAMINA_KEY to 64 hex digits",
                           rules_path);
        if (rc != CLI_OK) {
            lam_desens_rules_free(rules);
            return rc;
        }
    }
    lam_desens_summary sum;
    lam_status st = lam_desensitize_csv(pos[0], out, rules, key, &sum);
    lam_key_free(key);
    lam_desens_rules_free(rules);
    if (st != LAM_OK) return cli_lib_error();

    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", pos[0]);
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddNumberToObject(o, "rows", (double)sum.rows);
        cJSON_AddNumberToObject(o, "columns", sum.columns);
        cJSON_AddNumberToObject(o, "columns_out", sum.columns_out);
        cJSON_AddNumberToObject(o, "dropped", sum.dropped);
        cJSON_AddNumberToObject(o, "hashed", sum.hashed);
        cJSON_AddNumberToObject(o, "binned", sum.binned);
        cJSON_AddNumberToObject(o, "suppressed", sum.suppressed);
        cJSON_AddNumberToObject(o, "cells_suppressed", (double)sum.cells_suppressed);
        cJSON_AddNumberToObject(o, "rows_suppressed", (double)sum.rows_suppressed);
        cJSON_AddNumberToObject(o, "rows_changed", (double)sum.rows_changed);
        cJSON *cols = cJSON_AddArrayToObject(o, "per_column");
        for (int c = 0; c < sum.columns; c++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", sum.column[c].name);
            cJSON_AddStringToObject(e, "rule", lam_desens_kind_name(sum.column[c].kind));
            cJSON_AddNumberToObject(e, "cells_changed", (double)sum.column[c].cells_changed);
            cJSON_AddItemToArray(cols, e);
        }
        cli_json_print(o);
    } else {
        printf("%s -> %s: %lld rows, %d of %d columns written\n", pos[0], out,
               (long long)sum.rows, sum.columns_out, sum.columns);
        printf("  %d dropped, %d hashed, %d binned, %d with rare values suppressed\n",
               sum.dropped, sum.hashed, sum.binned, sum.suppressed);
        for (int c = 0; c < sum.columns; c++)
            if (sum.column[c].kind != LAM_DESENS_KEEP && sum.column[c].kind != LAM_DESENS_DROP)
                printf("  %-20s %-8s %lld cells changed\n", sum.column[c].name,
                       lam_desens_kind_name(sum.column[c].kind),
                       (long long)sum.column[c].cells_changed);
        printf("  %lld cells suppressed in %lld rows; %lld rows changed in all\n",
               (long long)sum.cells_suppressed, (long long)sum.rows_suppressed,
               (long long)sum.rows_changed);
    }
    lam_desens_summary_free(&sum);
    return CLI_OK;
}
