#include "COpenSSLShims.h"

int mg_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
int mg_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_max_proto_version(ctx, version); }
long mg_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
uint64_t mg_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) { return SSL_CTX_set_options(ctx, options); }
long mg_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
int mg_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
size_t mg_BIO_pending(BIO *bio) { return (size_t)BIO_pending(bio); }
long mg_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
void mg_OPENSSL_free(void *ptr) { OPENSSL_free(ptr); }
int mg_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
X509 *mg_sk_X509_value(const STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }
void mg_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
int mg_sk_GENERAL_NAME_num(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
GENERAL_NAME *mg_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int index) { return sk_GENERAL_NAME_value(names, index); }

const int mg_TLS1_1_VERSION = TLS1_1_VERSION;
const int mg_TLS1_2_VERSION = TLS1_2_VERSION;
const int mg_TLS1_3_VERSION = TLS1_3_VERSION;
const uint64_t mg_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
const uint64_t mg_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
const uint64_t mg_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
const uint64_t mg_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
const long mg_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
const long mg_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
const long mg_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
