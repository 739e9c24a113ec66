/* Fuzz target: the OpenHands action-server client's observation parsers
 * (providers/action_server_json.c): run, read/write, list, upload and error details. The
 * first byte picks the parser; the rest is the response body. */
#include <stdlib.h>

#include "action_server.h"
#include "fuzz.h"

static void parse(unsigned which, const char *body, size_t len, struct sp_error *err)
{
    struct sp_exec x;
    struct sp_files files;
    char detail[256];
    switch (which) {
    case 0:
        sp_exec_init(&x, "true");
        sp_as_parse_run(body, len, &x, err);
        sp_exec_cleanup(&x);
        break;
    case 1:
    case 2:
    case 3:
    case 4:
        sp_files_init(&files, SP_FILE_READ, "/workspace/a.txt");
        if (which == 1)
            sp_as_parse_file_obs(body, len, "read", "/workspace/a.txt", &files, err);
        else if (which == 2)
            sp_as_parse_file_obs(body, len, "write", "/workspace/a.txt", &files, err);
        else if (which == 3)
            sp_as_parse_list(body, len, &files, err);
        else
            sp_as_parse_upload(body, len, &files, err);
        sp_files_cleanup(&files);
        break;
    default:
        sp_as_parse_detail(body, len, detail, sizeof(detail));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run_parser(data, size, 6, parse);
}
