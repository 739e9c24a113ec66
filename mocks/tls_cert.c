/* The mock's throw-away CA (see tls_cert.h): ECDSA P-256 keys and X.509 v3 certificates
 * through GnuTLS's x509 API. The CA is marked CA:TRUE with keyCertSign and a subject key id;
 * the server certificate carries serverAuth, the SANs asked for and 127.0.0.1, and the CA's
 * key id as its authority key id, which OpenSSL (curl, Node) and GnuTLS all verify. */
#define _GNU_SOURCE /* mkdtemp */
#include "tls_cert.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct mock_tls {
    char dir[64];
    char ca_file[96];
    char *cert_pem, *key_pem;
};

static gnutls_x509_privkey_t new_key(void)
{
    gnutls_x509_privkey_t k;
    if (gnutls_x509_privkey_init(&k) != 0)
        return NULL;
    if (gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) != 0) {
        gnutls_x509_privkey_deinit(k);
        return NULL;
    }
    return k;
}

/* The fields both certificates share: v3, a random positive serial, the validity, the DN and
 * the public key. */
static int crt_common(gnutls_x509_crt_t c, gnutls_x509_privkey_t key, const char *dn)
{
    unsigned char serial[16];
    if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)) != 0)
        return -1;
    serial[0] &= 0x7f;
    time_t now = time(NULL);
    const char *bad = NULL;
    return gnutls_x509_crt_set_version(c, 3) ||
                   gnutls_x509_crt_set_serial(c, serial, sizeof(serial)) ||
                   gnutls_x509_crt_set_activation_time(c, now - 3600) ||
                   gnutls_x509_crt_set_expiration_time(c, now + 30 * 86400) ||
                   gnutls_x509_crt_set_dn(c, dn, &bad) || gnutls_x509_crt_set_key(c, key)
               ? -1
               : 0;
}

static char *pem_of(int rc, gnutls_datum_t *d)
{
    if (rc != 0)
        return NULL;
    char *s = malloc(d->size + 1);
    if (s != NULL) {
        memcpy(s, d->data, d->size);
        s[d->size] = '\0';
    }
    gnutls_free(d->data);
    return s;
}

static int
make_ca(gnutls_x509_crt_t ca, gnutls_x509_privkey_t key, unsigned char *kid, size_t *klen)
{
    if (crt_common(ca, key, "CN=sandprobe mock CA,O=sandprobe") != 0 ||
        gnutls_x509_crt_set_basic_constraints(ca, 1, -1) != 0 ||
        gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) != 0 ||
        gnutls_x509_crt_get_key_id(ca, GNUTLS_KEYID_USE_SHA1, kid, klen) != 0 ||
        gnutls_x509_crt_set_subject_key_id(ca, kid, *klen) != 0)
        return -1;
    return gnutls_x509_crt_sign2(ca, ca, key, GNUTLS_DIG_SHA256, 0) == 0 ? 0 : -1;
}

static int make_leaf(gnutls_x509_crt_t leaf,
                     gnutls_x509_privkey_t key,
                     gnutls_x509_crt_t ca,
                     gnutls_x509_privkey_t cakey,
                     const unsigned char *kid,
                     size_t klen,
                     const char *const *names)
{
    static const unsigned char loopback[4] = {127, 0, 0, 1};
    if (crt_common(leaf, key, "CN=localhost,O=sandprobe mock") != 0 ||
        gnutls_x509_crt_set_basic_constraints(leaf, 0, -1) != 0 ||
        gnutls_x509_crt_set_key_usage(leaf, GNUTLS_KEY_DIGITAL_SIGNATURE) != 0 ||
        gnutls_x509_crt_set_key_purpose_oid(leaf, GNUTLS_KP_TLS_WWW_SERVER, 0) != 0 ||
        gnutls_x509_crt_set_authority_key_id(leaf, kid, klen) != 0 ||
        gnutls_x509_crt_set_subject_alt_name(leaf, GNUTLS_SAN_IPADDRESS, loopback, sizeof(loopback),
                                             GNUTLS_FSAN_APPEND) != 0)
        return -1;
    for (size_t i = 0; names && names[i]; i++)
        if (gnutls_x509_crt_set_subject_alt_name(leaf, GNUTLS_SAN_DNSNAME, names[i],
                                                 (unsigned)strlen(names[i]),
                                                 GNUTLS_FSAN_APPEND) != 0)
            return -1;
    return gnutls_x509_crt_sign2(leaf, ca, cakey, GNUTLS_DIG_SHA256, 0) == 0 ? 0 : -1;
}

static int write_ca(struct mock_tls *t, gnutls_x509_crt_t ca)
{
    gnutls_datum_t d;
    char *pem = pem_of(gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &d), &d);
    snprintf(t->dir, sizeof(t->dir), "/tmp/sandprobe-ca-XXXXXX");
    if (pem == NULL || mkdtemp(t->dir) == NULL) {
        t->dir[0] = '\0';
        free(pem);
        return -1;
    }
    snprintf(t->ca_file, sizeof(t->ca_file), "%s/ca.pem", t->dir);
    FILE *f = fopen(t->ca_file, "w");
    int rc = f && fputs(pem, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(pem);
    return rc;
}

struct mock_tls *mock_tls_new(const char *const *names)
{
    struct mock_tls *t = calloc(1, sizeof(*t));
    gnutls_x509_privkey_t cakey = new_key(), key = new_key();
    gnutls_x509_crt_t ca = NULL, leaf = NULL;
    unsigned char kid[64];
    size_t klen = sizeof(kid);
    int rc = t && cakey && key && gnutls_x509_crt_init(&ca) == 0 && gnutls_x509_crt_init(&leaf) == 0
                 ? 0
                 : -1;
    if (rc == 0)
        rc = make_ca(ca, cakey, kid, &klen);
    if (rc == 0)
        rc = make_leaf(leaf, key, ca, cakey, kid, klen, names);
    gnutls_datum_t d;
    if (rc == 0)
        t->cert_pem = pem_of(gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_PEM, &d), &d);
    if (rc == 0)
        t->key_pem = pem_of(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
                                                              GNUTLS_PKCS_PLAIN, &d),
                            &d);
    if (rc == 0 && (t->cert_pem == NULL || t->key_pem == NULL || write_ca(t, ca) != 0))
        rc = -1;
    if (ca)
        gnutls_x509_crt_deinit(ca);
    if (leaf)
        gnutls_x509_crt_deinit(leaf);
    if (cakey)
        gnutls_x509_privkey_deinit(cakey);
    if (key)
        gnutls_x509_privkey_deinit(key);
    if (rc != 0) {
        mock_tls_free(t);
        return NULL;
    }
    return t;
}

void mock_tls_free(struct mock_tls *t)
{
    if (t == NULL)
        return;
    if (t->ca_file[0])
        unlink(t->ca_file);
    if (t->dir[0])
        rmdir(t->dir);
    if (t->key_pem)
        memset(t->key_pem, 0, strlen(t->key_pem));
    free(t->key_pem);
    free(t->cert_pem);
    free(t);
}

const char *mock_tls_ca_file(const struct mock_tls *t)
{
    return t->ca_file;
}

const char *mock_tls_cert_pem(const struct mock_tls *t)
{
    return t->cert_pem;
}

const char *mock_tls_key_pem(const struct mock_tls *t)
{
    return t->key_pem;
}
