/* The Modal mock's TLS tunnels (mocks/tls_cert.c, the tunnel listener in mocks/modal.c):
 * the ready line names a CA file (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS) that exists while the
 * mock runs and is removed when it stops; our client, given that variable, starts a sandbox
 * whose data plane is an https tunnel and runs a command through it; the tunnel's certificate
 * verifies for the tunnel's host name against that CA and fails verification without it or
 * for a name it does not cover (curl against the tunnel, resolving the names to 127.0.0.1). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock.h"
#include "provider.h"

struct fx {
    struct sp_mock *m;
    struct sp_client *c;
    struct sp_sandbox *sb;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = "modal", .has_latency = true, .quiet = true};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->sb) {
        struct sp_error err;
        sp_sandbox_cleanup(f->sb, SP_CLEANUP_DELETE, &err);
        sp_sandbox_free(f->sb);
    }
    sp_client_free(f->c);
    sp_mock_stop(f->m);
    free(f);
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *user)
{
    (void)p, (void)user;
    return size * n;
}

/* GET url/alive dialling 127.0.0.1 for host:port; ca NULL = curl's default bundle. */
static CURLcode get_alive(const char *url, const char *ca, long *status)
{
    char host[256], target[512];
    unsigned port = 0;
    assert_int_equal(sscanf(url, "https://%255[^:]:%u", host, &port), 2);
    char resolve[320];
    snprintf(resolve, sizeof(resolve), "%s:%u:127.0.0.1", host, port);
    struct curl_slist *r = curl_slist_append(NULL, resolve);
    snprintf(target, sizeof(target), "%s/alive", url);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, target);
    curl_easy_setopt(e, CURLOPT_RESOLVE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    if (ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    CURLcode rc = curl_easy_perform(e);
    *status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(e);
    curl_slist_free_all(r);
    return rc;
}

static void test_ready_line_names_the_ca(void **state)
{
    struct fx *f = *state;
    const struct sp_kv *env = sp_mock_env(f->m);
    const char *ca = sp_kv_get(env, "SSL_CERT_FILE");
    assert_non_null(ca);
    assert_string_equal(sp_kv_get(env, "NODE_EXTRA_CA_CERTS"), ca);
    FILE *fp = fopen(ca, "r");
    assert_non_null(fp);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    assert_string_equal(line, "-----BEGIN CERTIFICATE-----\n");
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", ca);
    sp_mock_stop(f->m);
    f->m = NULL;
    assert_int_not_equal(access(copy, F_OK), 0); /* removed with the mock */
    struct sp_mock_config cfg = {.vendor = "modal", .has_latency = true, .quiet = true};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK); /* for teardown */
}

static void test_https_tunnel_verified(void **state)
{
    struct fx *f = *state;
    struct sp_error err;
    const struct sp_kv *env = sp_mock_env(f->m);
    assert_int_equal(sp_client_new("modal", env, NULL, &f->c, &err), SP_E_OK);
    struct sp_create_opts o = {0};
    assert_int_equal(sp_sandbox_create(f->c, &o, &f->sb, &err), SP_E_OK);
    assert_int_equal(sp_sandbox_startup(f->sb, &err), SP_E_OK);
    const char *url = sp_sandbox_data_url(f->sb);
    assert_int_equal(strncmp(url, "https://3000-", 13), 0);
    assert_non_null(strstr(url, ".tunnel.localhost:"));
    struct sp_exec x;
    sp_exec_init(&x, "echo over-tls");
    assert_int_equal(sp_exec(f->sb, &x, &err), SP_E_OK);
    assert_non_null(strstr(sp_buf_str(&x.out), "over-tls"));
    sp_exec_cleanup(&x);

    const char *ca = sp_kv_get(env, "SSL_CERT_FILE");
    long status;
    assert_int_equal(get_alive(url, ca, &status), CURLE_OK);
    assert_int_equal(status, 200);
    /* Clients lowercase host names (Node's URL does): the tunnel must still reach the
     * sandbox, whose V1 id has capitals (it answered 404 before the hosts were hex). */
    char lower[512];
    snprintf(lower, sizeof(lower), "%s", url);
    for (char *h = lower + 8; *h && *h != ':'; h++)
        *h = (char)tolower((unsigned char)*h);
    assert_int_equal(get_alive(lower, ca, &status), CURLE_OK);
    assert_int_equal(status, 200);
    /* Without the mock's CA the certificate is not trusted. */
    assert_int_equal(get_alive(url, "/dev/null", &status), CURLE_SSL_CACERT_BADFILE);
    CURLcode rc = get_alive(url, NULL, &status);
    assert_true(rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE);
    /* A name the certificate does not cover. */
    char other[256];
    const char *port = strrchr(url, ':');
    snprintf(other, sizeof(other), "https://elsewhere.example%s", port);
    assert_int_equal(get_alive(other, ca, &status), CURLE_PEER_FAILED_VERIFICATION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_line_names_the_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https_tunnel_verified, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
