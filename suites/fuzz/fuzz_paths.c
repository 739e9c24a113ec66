/* Fuzz target: the path, URL and shell-quoting helpers that untrusted strings go through:
 * the mocks' sandbox path mapping (mocks/store.c) and action-server Host routing
 * (mocks/action_server.c), the client's path join, shell quoting, URL encoding and base64
 * (providers/). Each result is checked, not only survived: a mapped path stays under the
 * root, a quoted word has no unquoted quote, an encoded URL part has only unreserved bytes. */
#include <ctype.h>
#include <stdlib.h>

#include "action_server.h"
#include "fuzz.h"
#include "mock_int.h"

static void check_host_path(const char *cwd, const char *path)
{
    static struct mock_sandbox sb = {.root = "/tmp/sp-root/sb"};
    char host[2048], guest[2048];
    if (mock_sandbox_host_path(&sb, cwd, path, host, sizeof(host)) != 0)
        return;
    size_t rl = strlen(sb.root);
    FZ_CHECK(strncmp(host, sb.root, rl) == 0 && (host[rl] == '\0' || host[rl] == '/'),
             "a mapped path stays under the root");
    FZ_CHECK(strstr(host + rl, "/../") == NULL && strstr(host + rl, "/./") == NULL,
             "a mapped path has no dot segments");
    mock_sandbox_guest_path(&sb, host, guest, sizeof(guest));
    FZ_CHECK(guest[0] == '/', "a guest path is absolute");
}

/* A word is left bare only when every byte is one the shell never splits or expands;
 * otherwise it is 'abc' or 'it'\''s', and undoing the quoting gives back the input. */
static void check_quote(const char *s)
{
    struct sp_buf b, back;
    sp_buf_init(&b, 0);
    sp_buf_init(&back, 0);
    if (sp_shell_quote(&b, s) == 0) {
        const char *p = sp_buf_str(&b);
        if (p[0] != '\'') {
            FZ_CHECK(strcmp(p, s) == 0 && p[0] != '\0' &&
                         strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_@%+=:,./-") == strlen(p),
                     "a bare word has only plain bytes");
        } else {
            bool in = false;
            for (; *p; p++) {
                if (*p == '\'') {
                    in = !in;
                    continue;
                }
                FZ_CHECK(in || (p[0] == '\\' && p[1] == '\''), "only \\' outside the quotes");
                p += !in;
                sp_buf_append(&back, p, 1);
            }
            FZ_CHECK(!in, "the quoted word is closed");
            FZ_CHECK(strcmp(sp_buf_str(&back), s) == 0, "unquoting gives back the input");
        }
    }
    sp_buf_cleanup(&back);
    sp_buf_cleanup(&b);
}

static void check_urlencode(const char *s)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    if (sp_buf_put_urlencoded(&b, s) == 0)
        for (const char *p = sp_buf_str(&b); *p; p++)
            FZ_CHECK(isalnum((unsigned char)*p) || strchr("-._~%", *p) != NULL,
                     "URL encoding leaves only unreserved bytes");
    sp_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char a[1025], b[1025], out[2048], id[64];
    unsigned port;
    fz_str(&f, a, 1024);
    fz_str(&f, b, 1024);
    check_host_path(a[0] ? a : NULL, b);
    check_host_path("/workspace", a);
    if (mock_host_target(a, &port, id, sizeof(id)))
        FZ_CHECK(port > 0 && port <= 65535 && id[0], "a routed host has a port and an id");
    sp_as_resolve_path("/workspace", a, out, sizeof(out));
    sp_as_resolve_path(a, b, out, sizeof(out));
    check_quote(a);
    check_urlencode(b);
    struct sp_buf dec;
    sp_buf_init(&dec, 4096);
    sp_base64_decode((const char *)f.p, f.n, &dec);
    sp_buf_cleanup(&dec);
    return 0;
}
