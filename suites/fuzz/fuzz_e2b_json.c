/* Fuzz target: every E2B control-plane and envd REST/RPC response parser
 * (providers/e2b_json.c) and the Connect error body reader (providers/connect.c). The first
 * byte picks the parser; the rest is the response body. */
#include <stdlib.h>

#include "connect.h"
#include "e2b.h"
#include "fuzz.h"

static void parse(unsigned which, const char *body, size_t len, struct sp_error *err)
{
    char path[1024];
    struct e2b_sandbox_info info;
    struct e2b_list list;
    struct sp_file_entry entry, *entries = NULL;
    size_t n = 0;
    memset(&list, 0, sizeof(list));
    switch (which) {
    case 0:
        sp__e2b_parse_sandbox(body, len, &info, err);
        break;
    case 1:
        sp__e2b_parse_list(body, len, NULL, NULL, &list, err);
        sp__e2b_parse_list(body, len, "sandprobe_run", "r1", &list, err);
        break;
    case 2:
        sp__e2b_parse_error(body, len, path, sizeof(path));
        break;
    case 3:
        sp__e2b_is_proxy_not_found(body, len);
        break;
    case 4:
        sp__e2b_parse_list_dir(body, len, &entries, &n, err);
        free(entries);
        break;
    case 5:
        sp__e2b_parse_entry(body, len, &entry, path, sizeof(path), err);
        break;
    case 6:
        sp__e2b_parse_upload(body, len, path, sizeof(path), err);
        break;
    default: {
        struct sp_http_rsp rsp;
        sp_http_rsp_init(&rsp);
        rsp.status = 400 + (int)(len % 200);
        sp_buf_append(&rsp.body, body, len);
        sp_connect_fail(&rsp, err);
        sp_http_rsp_cleanup(&rsp);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run_parser(data, size, 8, parse);
}
