/* labels.c - class names for what the commands print: a built-in table
 * (fashion-mnist), a file with one name per line, or the names a text
 * classifier keeps in its metadata. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const cli_fashion_mnist_labels[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

void cli_labels_free(cli_labels *l)
{
    if (l->text) free(l->names); /* the built-in table is static */
    free(l->text);
}

/* Splits l->text (owned) into one name per line. */
static int labels_split(cli_labels *l, size_t n)
{
    l->names = malloc(sizeof(char *) * (n + 1));
    if (!l->names) return cli_error("out of memory");
    for (char *line = strtok(l->text, "\r\n"); line; line = strtok(NULL, "\r\n"))
        l->names[l->count++] = line;
    return CLI_OK;
}

int cli_labels_load(const char *spec, const lam_model *m, cli_labels *l)
{
    memset(l, 0, sizeof *l);
    if (!spec) {
        const char *names = m ? lam_model_metadata(m, CLI_CLASS_NAMES_KEY) : NULL;
        if (!names) return CLI_OK;
        size_t n = strlen(names);
        if (!(l->text = malloc(n + 1))) return cli_error("out of memory");
        memcpy(l->text, names, n + 1);
        return labels_split(l, n);
    }
    if (!strcmp(spec, "fashion-mnist")) {
        l->names = (char **)cli_fashion_mnist_labels;
        l->count = 10;
        return CLI_OK;
    }
    FILE *f = fopen(spec, "rb");
    if (!f) return cli_error("%s: cannot open labels file: %s", spec, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    l->text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!l->text || fread(l->text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(l->text);
        l->text = NULL;
        return cli_error("%s: cannot read labels file", spec);
    }
    fclose(f);
    l->text[n] = '\0';
    return labels_split(l, (size_t)n);
}

const char *cli_label(const cli_labels *l, int64_t k)
{
    return k >= 0 && k < l->count ? l->names[k] : NULL;
}
