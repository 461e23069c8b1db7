#ifndef MTLS_GUARD_COPENSSL_SHIMS_TLS_H
#define MTLS_GUARD_COPENSSL_SHIMS_TLS_H
/*
 * TLS-handler helpers for OpenSSLTLS. They live in C because they install OpenSSL callbacks
 * (which Swift cannot express as C function pointers with context cheaply) or wrap macros.
 */
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Opaque server ALPN preference list, owned by the caller of mg_tls_alpn_new. */
typedef struct mg_tls_alpn mg_tls_alpn;

/* Copies `wire` (ALPN wire format: length-prefixed names) into a new list; NULL on failure. */
mg_tls_alpn *mg_tls_alpn_new(const unsigned char *wire, unsigned int len);
void mg_tls_alpn_free(mg_tls_alpn *alpn);
/* Server: select from the client's offer by our preference; no match means no ALPN, not failure.
 * `alpn` must outlive `ctx`. */
void mg_tls_ctx_set_alpn_select(SSL_CTX *ctx, mg_tls_alpn *alpn);

/* Client: configure peer identity checks. An IP literal is verified against IP SANs and sent
 * without SNI (RFC 6066 forbids IP literals in SNI); a DNS name sets SNI and SSL_set1_host.
 * Returns 1 on success, 0 on failure. */
int mg_tls_set_peer_name(SSL *ssl, const char *name, int verify);

/* Writes the RFC 2253 form of `name` into buf (NUL-terminated). Returns the full length needed
 * (excluding NUL), or -1 on failure. */
int mg_tls_name_rfc2253(const X509_NAME *name, char *buf, size_t cap);
/* Writes the subject CN (first one) into buf. Returns its length or -1 if absent. */
int mg_tls_subject_cn(X509 *cert, char *buf, size_t cap);
/* notAfter as seconds since the epoch. Returns 1 on success. */
int mg_tls_not_after(const X509 *cert, int64_t *out);
/* Serial number as upper-case hex; free with mg_OPENSSL_free. NULL on failure. */
char *mg_tls_serial_hex(X509 *cert);

#endif
