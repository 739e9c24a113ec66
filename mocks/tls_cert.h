/* A throw-away certificate authority for a mock's TLS listeners (tls_cert.c): a CA and one
 * server certificate it signs, made with GnuTLS when the mock starts, the CA written to a
 * file so clients can trust it (SSL_CERT_FILE for sandprobe, NODE_EXTRA_CA_CERTS for Node).
 * Vendor-neutral: the caller names the host names the certificate covers. */
#ifndef SP_MOCK_TLS_CERT_H
#define SP_MOCK_TLS_CERT_H

struct mock_tls;

/* Makes the CA and a server certificate for 127.0.0.1 and the DNS names in names (NULL
 * ended; "*.x.localhost" wildcards allowed), valid from an hour ago for 30 days, and writes
 * the CA (PEM) to a file in a new private temporary directory. Returns NULL on failure. */
struct mock_tls *mock_tls_new(const char *const *names);
/* Removes the CA file and its directory. NULL is a no-op. */
void mock_tls_free(struct mock_tls *t);
/* The CA file's path; the server certificate and its key (PKCS #8), PEM. */
const char *mock_tls_ca_file(const struct mock_tls *t);
const char *mock_tls_cert_pem(const struct mock_tls *t);
const char *mock_tls_key_pem(const struct mock_tls *t);

#endif
