#define _GNU_SOURCE
#include "COpenSSLShims_tls.h"
#include <string.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

struct mg_tls_alpn {
    unsigned int len;
    unsigned char data[];
};

mg_tls_alpn *mg_tls_alpn_new(const unsigned char *wire, unsigned int len) {
    mg_tls_alpn *alpn = malloc(sizeof(mg_tls_alpn) + len);
    if (alpn == NULL) return NULL;
    alpn->len = len;
    memcpy(alpn->data, wire, len);
    return alpn;
}

void mg_tls_alpn_free(mg_tls_alpn *alpn) { free(alpn); }

static int mg_tls_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                 const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    const mg_tls_alpn *alpn = arg;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, alpn->data, alpn->len, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    /* NOACK: carry on without ALPN rather than failing clients that offer only h2. */
    return SSL_TLSEXT_ERR_NOACK;
}

void mg_tls_ctx_set_alpn_select(SSL_CTX *ctx, mg_tls_alpn *alpn) {
    SSL_CTX_set_alpn_select_cb(ctx, mg_tls_alpn_select_cb, alpn);
}

int mg_tls_set_peer_name(SSL *ssl, const char *name, int verify) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) == 1) {
        return 1;
    }
    ERR_clear_error(); /* the failed IP parse leaves nothing useful on the queue */
    if (SSL_set_tlsext_host_name(ssl, name) != 1) return 0;
    if (verify && SSL_set1_host(ssl, name) != 1) return 0;
    return 1;
}

int mg_tls_name_rfc2253(const X509_NAME *name, char *buf, size_t cap) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return -1;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        BIO_free(bio);
        return -1;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0) { BIO_free(bio); return -1; }
    if (cap > 0) {
        size_t n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
        memcpy(buf, data, n);
        buf[n] = 0;
    }
    BIO_free(bio);
    return (int)len;
}

int mg_tls_subject_cn(X509 *cert, char *buf, size_t cap) {
    X509_NAME *name = X509_get_subject_name(cert);
    if (name == NULL) return -1;
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0) return -1;
    ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) return -1;
    if (cap > 0) {
        size_t n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
        memcpy(buf, utf8, n);
        buf[n] = 0;
    }
    OPENSSL_free(utf8);
    return len;
}

int mg_tls_not_after(const X509 *cert, int64_t *out) {
    const ASN1_TIME *t = X509_get0_notAfter(cert);
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

char *mg_tls_serial_hex(X509 *cert) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (bn == NULL) return NULL;
    char *hex = BN_bn2hex(bn);
    BN_free(bn);
    return hex;
}
