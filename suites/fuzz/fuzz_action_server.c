/* Fuzz target: the OpenHands action-server client's observation parsers
 * (providers/action_server_json.c): run, read/write, list, upload and error details. The
 * first byte picks the parser; the rest is the response body. */
#include <stdlib.h>

#include "action_server.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned which = fz_byte(&f) % 6;
    char *body = malloc(f.n + 1);
    if (body == NULL)
        return 0;
    memcpy(body, f.p, f.n);
    body[f.n] = '\0';
    struct sp_error err;
    sp_error_clear(&err);
    struct sp_exec x;
    struct sp_files files;
    char detail[256];
    switch (which) {
    case 0:
        sp_exec_init(&x, "true");
        sp_as_parse_run(body, f.n, &x, &err);
        sp_exec_cleanup(&x);
        break;
    case 1:
    case 2:
    case 3:
    case 4:
        sp_files_init(&files, SP_FILE_READ, "/workspace/a.txt");
        if (which == 1)
            sp_as_parse_file_obs(body, f.n, "read", "/workspace/a.txt", &files, &err);
        else if (which == 2)
            sp_as_parse_file_obs(body, f.n, "write", "/workspace/a.txt", &files, &err);
        else if (which == 3)
            sp_as_parse_list(body, f.n, &files, &err);
        else
            sp_as_parse_upload(body, f.n, &files, &err);
        sp_files_cleanup(&files);
        break;
    default:
        sp_as_parse_detail(body, f.n, detail, sizeof(detail));
        break;
    }
    free(body);
    return 0;
}
