#include "pfad/http/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <climits>

namespace pfad::http {
namespace {

// OpenSSL's queued errors as one line (and the queue emptied).
std::string OpenSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

int Clamp(size_t size) { return static_cast<int>(std::min<size_t>(size, INT_MAX)); }

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::UnknownError("cannot create a TLS context: ", OpenSslErrors());
  std::shared_ptr<TlsContext> context(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A client that closes without close_notify has closed, as over plain TCP
  // (HTTP framing, not TLS, tells a complete answer from a cut one).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  // The connection's output buffer grows while a write waits, and a write may
  // send part of it: both are fine for the event loop.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Status::Invalid("TLS certificate ", cert_file,
                           " cannot be used (expected a PEM certificate): ", OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Invalid("TLS key ", key_file,
                           " cannot be used (expected a PEM private key): ", OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Invalid("TLS key ", key_file, " does not belong to the certificate ", cert_file);
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsSession>> TlsSession::Accept(const TlsContext& context, int fd) {
  SSL* ssl = SSL_new(context.ctx_);
  if (ssl == nullptr) return Status::UnknownError("cannot start a TLS session: ", OpenSslErrors());
  std::unique_ptr<TlsSession> session(new TlsSession(ssl));
  if (SSL_set_fd(ssl, fd) != 1) return Status::UnknownError("cannot start a TLS session: ", OpenSslErrors());
  SSL_set_accept_state(ssl);
  return session;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

ssize_t TlsSession::Failed(int result, bool& waits_for_other, int other_direction) {
  const int error = SSL_get_error(ssl_, result);
  waits_for_other = error == other_direction;
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (errno == 0) errno = ECONNRESET;
      return -1;
    default:
      ERR_clear_error();
      errno = EPROTO;
      return -1;
  }
}

ssize_t TlsSession::Read(char* buffer, size_t size) {
  ERR_clear_error();
  const int n = SSL_read(ssl_, buffer, Clamp(size));
  if (n > 0) {
    read_waits_for_write_ = false;
    return n;
  }
  return Failed(n, read_waits_for_write_, SSL_ERROR_WANT_WRITE);
}

ssize_t TlsSession::Write(const char* data, size_t size) {
  ERR_clear_error();
  const int n = SSL_write(ssl_, data, Clamp(size));
  if (n > 0) {
    write_waits_for_read_ = false;
    return n;
  }
  return Failed(n, write_waits_for_read_, SSL_ERROR_WANT_READ);
}

void TlsSession::Shutdown() {
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
  ERR_clear_error();
}

}  // namespace pfad::http
