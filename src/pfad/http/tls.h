// TLS for the HTTP server (OpenSSL): the certificate a server presents, and
// one connection's TLS session over its non-blocking socket.
//
// A TlsSession reads and writes like recv/send on a non-blocking socket: bytes,
// 0 when the peer has closed, or -1 with errno EAGAIN while it waits for the
// socket. TLS may need the other direction to make progress (a handshake
// answers while the loop reads; a key update is read while it writes):
// read_waits_for_write() / write_waits_for_read() say which readiness the
// event loop must wait for before calling again. A handshake or protocol
// failure is -1 with errno EPROTO (the client did not trust the certificate,
// or did not speak TLS): the loop closes such a connection.
#pragma once

#include "pfad/common/status.h"

#include <sys/types.h>

#include <memory>
#include <string>

struct ssl_st;
struct ssl_ctx_st;

namespace pfad::http {

class TlsContext {
 public:
  // Loads a PEM certificate (chain) and its private key; Invalid naming the
  // file when one cannot be read, or when the key does not match the certificate.
  static Result<std::shared_ptr<TlsContext>> Load(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

 private:
  friend class TlsSession;
  explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

class TlsSession {
 public:
  // The server side of a TLS session on the accepted socket `fd` (which the
  // caller keeps owning); the handshake runs within the first reads.
  static Result<std::unique_ptr<TlsSession>> Accept(const TlsContext& context, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  ssize_t Read(char* buffer, size_t size);
  ssize_t Write(const char* data, size_t size);
  // Sends close_notify, as far as the socket takes it now (best effort).
  void Shutdown();

  [[nodiscard]] bool read_waits_for_write() const { return read_waits_for_write_; }
  [[nodiscard]] bool write_waits_for_read() const { return write_waits_for_read_; }

 private:
  explicit TlsSession(ssl_st* ssl) : ssl_(ssl) {}
  // The -1/0 answer to a failed SSL_read or SSL_write; `waits_for_other`
  // records whether it waits for the other direction.
  ssize_t Failed(int result, bool& waits_for_other, int other_direction);

  ssl_st* ssl_;
  bool read_waits_for_write_ = false;
  bool write_waits_for_read_ = false;
};

}  // namespace pfad::http
