/* json_out.c - the --json output: exactly one JSON object on stdout, written
 * with cJSON so that escaping is never hand-rolled. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

void cli_json_print(cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        cJSON_free(text);
    } else {
        /* Only an allocation failure gets here; still print one object. */
        fputs("{}\n", stdout);
    }
    cJSON_Delete(obj);
}

void cli_json_number(cJSON *obj, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(obj, key, v);
    else cJSON_AddNullToObject(obj, key);
}
