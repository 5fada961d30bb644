/* cmd_compare.c - `lamina compare`: placeholder until the classic models
 * (SVM, linear) are implemented in the library; see docs/CLI.md. */
#include "cli.h"

static const char USAGE[] =
    "usage: lamina compare --data SOURCE [--models svm,tree,forest,linear,cnn,lstm] [--limit N]\n"
    "                      [--json]\n"
    "\n"
    "Not available yet in this build.\n";

int cmd_compare(int argc, char **argv)
{
    const cli_option opts[] = {{NULL, OPT_FLAG, NULL, NULL}};
    const char *pos[1];
    int npos;
    int rc = cli_parse("compare", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;
    return cli_error("compare is not available yet in this build");
}
