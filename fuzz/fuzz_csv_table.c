/* fuzz_csv_table.c - lam_desens_rules_parse and lam_desensitize_csv on
 * arbitrary bytes: the input up to its first NUL byte is the rules text, the
 * rest is the CSV table (RFC 4180 reader, rules checked against the header,
 * bins and suppression applied, the table written back). Without a NUL byte
 * the whole input is the table under no rules. Hash rules use a fixed key. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t rules_n = nul ? (size_t)(nul - data) : 0;
    const uint8_t *csv = nul ? nul + 1 : data;
    size_t csv_n = nul ? size - rules_n - 1 : size;
    char *rules_text = malloc(rules_n + 1);
    if (!rules_text) return 0;
    memcpy(rules_text, data, rules_n);
    rules_text[rules_n] = '\0';
    const char *in = fuzz_path(0, ".csv"), *out = fuzz_path(1, ".out.csv");
    fuzz_write(in, csv, csv_n);

    static lam_key *key;
    static const unsigned char raw[LAM_KEY_BYTES] = {7};
    if (!key) (void)lam_key_from_bytes(raw, &key); /* stays NULL without libsodium */

    lam_desens_rules *rules = NULL;
    lam_error_clear();
    lam_status s = lam_desens_rules_parse(rules_text, "rules", &rules);
    fuzz_check(s, rules, "lam_desens_rules_parse");
    free(rules_text);
    if (s != LAM_OK) return 0;
    lam_desens_summary sum;
    lam_error_clear();
    s = lam_desensitize_csv(in, out, rules, key, &sum);
    fuzz_check(s, s == LAM_OK ? &sum : NULL, "lam_desensitize_csv");
    if (s == LAM_OK) {
        if (sum.columns_out + sum.dropped != sum.columns || sum.rows_changed > sum.rows ||
            sum.rows_suppressed > sum.rows_changed) {
            fprintf(stderr, "inconsistent summary\n");
            abort();
        }
        /* What was written reads back with the same number of rows. */
        lam_desens_rules *none = NULL;
        lam_desens_summary again;
        if (lam_desens_rules_parse("", "none", &none) != LAM_OK ||
            lam_desensitize_csv(out, fuzz_path(2, ".again.csv"), none, NULL, &again) != LAM_OK ||
            again.rows != sum.rows || again.columns != sum.columns_out ||
            again.rows_changed != 0) {
            fprintf(stderr, "the written table does not read back: %s\n", lam_last_error());
            abort();
        }
        lam_desens_summary_free(&again);
        lam_desens_rules_free(none);
    }
    lam_desens_summary_free(&sum);
    lam_desens_rules_free(rules);
    return 0;
}
