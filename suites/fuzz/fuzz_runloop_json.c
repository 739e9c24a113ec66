/* Fuzz target: every Runloop response parser (providers/runloop_json.c) and its one builder
 * that carries arbitrary bytes (write_file_contents). The first byte picks the parser; the
 * rest is the response body, NUL-terminated with its length as the transport delivers it.
 * Properties checked: a list never matches more devboxes than it saw, a parsed tunnel URL is
 * http(s) without a trailing slash, and a built write body parses back to the same contents. */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "runloop.h"

/* build_file accepts exactly the text JSON can carry, and then round-trips it. */
static void write_body(const char *data, size_t len)
{
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    sp_error_clear(&err);
    if (sp__runloop_build_file("file_path", "/home/user/f", data, len, &out, &err) == SP_E_OK) {
        cJSON *o = cJSON_ParseWithLength(out.data, out.len);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "contents");
        FZ_CHECK(cJSON_IsString(c), "a built write body parses back");
        FZ_CHECK(strlen(c->valuestring) == len && memcmp(c->valuestring, data, len) == 0,
                 "a built write body carries the contents unchanged");
        cJSON_Delete(o);
    } else {
        FZ_CHECK(err.code == SP_E_UNSUPPORTED || err.code == SP_E_INTERNAL,
                 "a refused write says why");
    }
    sp_buf_cleanup(&out);
}

static void lists(const char *body, size_t n, struct sp_error *err)
{
    struct runloop_list by_name = {.key = RUNLOOP_SESSION_KEY, .value = "sess-1"};
    struct runloop_list by_md = {.key = SP_RUN_LABEL, .value = "r1"};
    sp__runloop_parse_list(body, n, &by_name, err);
    sp__runloop_parse_list(body, n, &by_name, err); /* pages accumulate */
    sp__runloop_parse_list(body, n, &by_md, err);
    FZ_CHECK(by_name.matches <= by_name.seen && by_md.matches <= by_md.seen,
             "a list matches no more devboxes than it saw");
    struct sp_list l;
    struct runloop_list page = {0};
    sp_list_init(&l);
    sp__runloop_parse_listing(body, n, NULL, NULL, &l, &page, err);
    sp__runloop_parse_listing(body, n, SP_RUN_LABEL, "r1", &l, &page, err);
    FZ_CHECK(l.n <= page.seen, "a listing keeps no more devboxes than it saw");
    for (size_t i = 0; i < l.n; i++)
        FZ_CHECK(strcmp(l.items[i].state, "shutdown") != 0, "a listing leaves shut down ones out");
    sp_list_cleanup(&l);
}

static void parse(unsigned which, const char *body, size_t len, struct sp_error *err)
{
    char url[512];
    struct runloop_devbox d;
    struct runloop_execution e;
    struct sp_exec x;
    switch (which) {
    case 0:
        sp__runloop_parse_devbox(body, len, &d, err);
        break;
    case 1:
        lists(body, len, err);
        break;
    case 2:
        if (sp__runloop_parse_tunnel_url(body, len, url, sizeof(url), err) == SP_E_OK)
            FZ_CHECK((strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
                         url[strlen(url) - 1] != '/',
                     "a tunnel URL is http(s) without a trailing slash");
        break;
    case 3:
        memset(&d, 0, sizeof(d));
        sp__runloop_parse_tunnel_view(body, len, &d, err);
        break;
    case 4:
        sp_exec_init(&x, "true");
        sp__runloop_parse_execution(body, len, &e, NULL, err);
        sp__runloop_parse_execution(body, len, &e, &x, err);
        sp_exec_cleanup(&x);
        break;
    case 5:
        sp__runloop_parse_error(body, len, url, sizeof(url));
        break;
    default:
        write_body(body, len);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run_parser(data, size, 7, parse);
}
