/* Fuzz target: every Daytona response parser (providers/daytona_json.c). The first byte
 * picks the parser; the rest is the response body. Parsers get the body as the transport
 * delivers it: NUL-terminated, with its length. */
#include <stdlib.h>

#include "daytona.h"
#include "fuzz.h"

static void parse(unsigned which, const char *body, size_t len, struct sp_error *err)
{
    char a[512], b[512];
    struct daytona_sandbox sb;
    struct daytona_list list;
    struct sp_exec x;
    struct sp_files files;
    memset(&list, 0, sizeof(list));
    switch (which) {
    case 0:
        sp__daytona_parse_sandbox(body, len, &sb, err);
        break;
    case 1:
        sp__daytona_parse_list(body, len, &list, err);
        sp__daytona_parse_list(body, len, &list, err); /* pages accumulate */
        break;
    case 2:
        sp__daytona_parse_preview(body, len, a, sizeof(a), b, sizeof(b), err);
        break;
    case 3:
        sp__daytona_parse_error(body, len, a, sizeof(a));
        break;
    case 4:
        sp_exec_init(&x, "true");
        sp__daytona_parse_execute(body, len, &x, err);
        sp_exec_cleanup(&x);
        break;
    case 5:
    case 6:
        sp_files_init(&files, SP_FILE_LIST, "/");
        if (which == 5)
            sp__daytona_parse_file_list(body, len, &files, err);
        else
            sp__daytona_parse_file_info(body, len, &files, err);
        sp_files_cleanup(&files);
        break;
    default:
        sp__daytona_parse_project_dir(body, len, a, sizeof(a), err);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run_parser(data, size, 8, parse);
}
