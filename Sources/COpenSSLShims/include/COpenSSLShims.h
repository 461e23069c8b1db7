#ifndef MTLS_GUARD_COPENSSL_SHIMS_H
#define MTLS_GUARD_COPENSSL_SHIMS_H
/*
 * C wrappers for the OpenSSL API that Swift cannot import because it is made of macros.
 * One function per macro, named mg_<macro>. Area-specific shims live in their own
 * header/source pair in this target (e.g. COpenSSLShims_x509.h + x509.c).
 */
#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

int mg_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int mg_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
long mg_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
uint64_t mg_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options);
long mg_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
int mg_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
size_t mg_BIO_pending(BIO *bio);
long mg_BIO_get_mem_data(BIO *bio, char **data);
void mg_OPENSSL_free(void *ptr);
int mg_sk_X509_num(const STACK_OF(X509) *stack);
X509 *mg_sk_X509_value(const STACK_OF(X509) *stack, int index);
void mg_sk_X509_pop_free(STACK_OF(X509) *stack);
int mg_sk_GENERAL_NAME_num(const GENERAL_NAMES *names);
GENERAL_NAME *mg_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index);

/* Constants that Swift imports poorly (macros of casts or wide types). */
extern const int mg_TLS1_2_VERSION;
extern const int mg_TLS1_3_VERSION;
extern const int mg_TLS1_1_VERSION;
extern const uint64_t mg_SSL_OP_NO_RENEGOTIATION;
extern const uint64_t mg_SSL_OP_NO_COMPRESSION;
extern const uint64_t mg_SSL_OP_CIPHER_SERVER_PREFERENCE;
extern const uint64_t mg_SSL_OP_NO_TICKET;
extern const long mg_SSL_MODE_ENABLE_PARTIAL_WRITE;
extern const long mg_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
extern const long mg_SSL_MODE_RELEASE_BUFFERS;

#endif
