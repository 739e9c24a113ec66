/* Fuzz target: every E2B control-plane and envd REST/RPC response parser
 * (providers/e2b_json.c) and the Connect error body reader (providers/connect.c). The first
 * byte picks the parser; the rest is the response body. */
#include <stdlib.h>

#include "connect.h"
#include "e2b.h"
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
    char path[1024];
    struct e2b_sandbox_info info;
    struct e2b_list list;
    struct sp_file_entry entry, *entries = NULL;
    size_t n = 0;
    memset(&list, 0, sizeof(list));
    switch (which) {
    case 0:
        sp__e2b_parse_sandbox(body, f.n, &info, &err);
        break;
    case 1:
        sp__e2b_parse_list(body, f.n, NULL, NULL, &list, &err);
        sp__e2b_parse_list(body, f.n, "sandprobe_run", "r1", &list, &err);
        break;
    case 2:
        sp__e2b_parse_error(body, f.n, path, sizeof(path));
        break;
    case 3:
        sp__e2b_is_proxy_not_found(body, f.n);
        break;
    case 4:
        sp__e2b_parse_list_dir(body, f.n, &entries, &n, &err);
        free(entries);
        break;
    case 5:
        sp__e2b_parse_entry(body, f.n, &entry, path, sizeof(path), &err);
        break;
    case 6:
        sp__e2b_parse_upload(body, f.n, path, sizeof(path), &err);
        break;
    default: {
        struct sp_http_rsp rsp;
        sp_http_rsp_init(&rsp);
        rsp.status = 400 + (int)(f.n % 200);
        sp_buf_append(&rsp.body, body, f.n);
        sp_connect_fail(&rsp, &err);
        sp_http_rsp_cleanup(&rsp);
        break;
    }
    }
    free(body);
    return 0;
}
