/* args.c - option parsing and error reporting shared by the subcommands.
 *
 * A small table-driven parser rather than getopt_long: every subcommand lists
 * its options once, values are validated at parse time (so "--epochs x" is a
 * usage error naming the option), and unknown options are named. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_lib_error(void)
{
    const char *msg = lam_last_error();
    fprintf(stderr, "lamina: %s\n", msg && *msg ? msg : "unknown error");
    return CLI_FAIL;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lamina: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lamina %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see `lamina %s --help`)\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_shape_str(char *buf, size_t n, int rank, const int64_t *shape)
{
    int k = snprintf(buf, n, "(");
    for (int i = 0; i < rank && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if ((size_t)k < n) snprintf(buf + k, n - (size_t)k, rank == 1 ? ",)" : ")");
}

static const cli_option *find_option(const cli_option *opts, const char *name, size_t len)
{
    for (const cli_option *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    return NULL;
}

/* Stores text into the option's destination, checking its type. */
static int store_value(const char *cmd, const cli_option *o, const char *text)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (*text == '\0' || *end || errno)
            return cli_usage_error(cmd, "%s: \"%s\" is not an integer", o->name, text);
        *(long *)o->dst = v;
        break;
    }
    case OPT_FLOAT: {
        double v = strtod(text, &end);
        if (*text == '\0' || *end || errno || !isfinite(v))
            return cli_usage_error(cmd, "%s: \"%s\" is not a number", o->name, text);
        *(double *)o->dst = v;
        break;
    }
    case OPT_STR:
        *(const char **)o->dst = text;
        break;
    case OPT_FLAG:
        break;
    }
    return CLI_OK;
}

int cli_parse(const char *cmd, const char *usage, int argc, char **argv,
              const cli_option *opts, const char **pos, int max_pos, int *npos)
{
    *npos = 0;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (*npos >= max_pos)
                return cli_usage_error(cmd, "unexpected argument \"%s\"", a);
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_positional = true;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return -1;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const cli_option *o = find_option(opts, a, len);
        if (!o) return cli_usage_error(cmd, "unknown option '%.*s'", (int)len, a);
        if (o->seen) *o->seen = true;
        if (o->kind == OPT_FLAG) {
            if (eq) return cli_usage_error(cmd, "%s takes no value", o->name);
            *(bool *)o->dst = true;
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) return cli_usage_error(cmd, "%s needs a value", o->name);
            value = argv[++i];
        }
        int rc = store_value(cmd, o, value);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}
