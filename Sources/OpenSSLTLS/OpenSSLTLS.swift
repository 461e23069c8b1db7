// OpenSSLTLS module: see ../shared/DESIGN.md.
import COpenSSLShims
