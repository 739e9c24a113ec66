/* Fuzz target: every Daytona response parser (providers/daytona_json.c). The first byte
 * picks the parser; the rest is the response body. Parsers get the body as the transport
 * delivers it: NUL-terminated, with its length. */
#include <stdlib.h>

#include "daytona.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned which = fz_byte(&f) % 8;
    char *body = malloc(f.n + 1);
    if (body == NULL)
        return 0;
    memcpy(body, f.p, f.n);
    body[f.n] = '\0';
    struct sp_error err;
    sp_error_clear(&err);
    char a[512], b[512];
    struct daytona_sandbox sb;
    struct daytona_list list;
    struct sp_exec x;
    struct sp_files files;
    memset(&list, 0, sizeof(list));
    switch (which) {
    case 0:
        sp__daytona_parse_sandbox(body, f.n, &sb, &err);
        break;
    case 1:
        sp__daytona_parse_list(body, f.n, &list, &err);
        sp__daytona_parse_list(body, f.n, &list, &err); /* pages accumulate */
        break;
    case 2:
        sp__daytona_parse_preview(body, f.n, a, sizeof(a), b, sizeof(b), &err);
        break;
    case 3:
        sp__daytona_parse_error(body, f.n, a, sizeof(a));
        break;
    case 4:
        sp_exec_init(&x, "true");
        sp__daytona_parse_execute(body, f.n, &x, &err);
        sp_exec_cleanup(&x);
        break;
    case 5:
    case 6:
        sp_files_init(&files, SP_FILE_LIST, "/");
        if (which == 5)
            sp__daytona_parse_file_list(body, f.n, &files, &err);
        else
            sp__daytona_parse_file_info(body, f.n, &files, &err);
        sp_files_cleanup(&files);
        break;
    default:
        sp__daytona_parse_project_dir(body, f.n, a, sizeof(a), &err);
        break;
    }
    free(body);
    return 0;
}
