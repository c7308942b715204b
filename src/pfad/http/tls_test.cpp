// The server over HTTPS, with a certificate made here by OpenSSL for 127.0.0.1,
// and pfad's own client (libcurl) trusting it through a CA file.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "pfad/common/http_client.h"
#include "pfad/http/server.h"

namespace pfad::http {
namespace {

namespace fs = std::filesystem;

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// A self-signed certificate for 127.0.0.1 and its key, as PEM files in a fresh directory.
class SelfSigned {
 public:
  SelfSigned() : dir_(fs::temp_directory_path() / ("pfad-tls-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (const char* ext : {"subjectAltName=IP:127.0.0.1", "basicConstraints=critical,CA:TRUE"}) {
      const std::string text(ext);
      const auto eq = text.find('=');
      X509_EXTENSION* e =
          X509V3_EXT_conf(nullptr, &ctx, text.substr(0, eq).c_str(), text.substr(eq + 1).c_str());
      X509_add_ext(cert.get(), e, -1);
      X509_EXTENSION_free(e);
    }
    X509_sign(cert.get(), key.get(), EVP_sha256());
    std::unique_ptr<FILE, FileCloser> c(std::fopen(cert_file().c_str(), "w"));
    PEM_write_X509(c.get(), cert.get());
    std::unique_ptr<FILE, FileCloser> k(std::fopen(key_file().c_str(), "w"));
    PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  ~SelfSigned() { fs::remove_all(dir_); }
  [[nodiscard]] std::string cert_file() const { return (dir_ / "cert.pem").string(); }
  [[nodiscard]] std::string key_file() const { return (dir_ / "key.pem").string(); }

 private:
  fs::path dir_;
};

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.tls_cert_file = pem_.cert_file();
    o.tls_key_file = pem_.key_file();
    o.max_body_bytes = 8 << 20;
    server_ = std::make_unique<Server>(o);
    server_->Post("/echo", [](const Request& req) {
      Response r;
      r.content_type = "application/octet-stream";
      r.body = req.body;
      return r;
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override { server_->Stop(); }
  [[nodiscard]] HttpRequest Echo(std::string scheme, std::string body) const {
    HttpRequest r;
    r.method = "POST";
    r.url = scheme + "://127.0.0.1:" + std::to_string(server_->port()) + "/echo";
    r.body = std::move(body);
    r.max_attempts = 1;
    return r;
  }

  SelfSigned pem_;
  std::unique_ptr<Server> server_;
};

TEST_F(HttpsServerTest, AnswersAClientThatTrustsItsCertificate) {
  HttpRequest request = Echo("https", "hello over TLS");
  request.ca_file = pem_.cert_file();
  auto response = SendHttp(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello over TLS");
}

TEST_F(HttpsServerTest, LargeBodiesCrossManyRecordsBothWays) {
  std::string body(5 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  HttpRequest request = Echo("https", body);
  request.ca_file = pem_.cert_file();
  request.timeout = std::chrono::seconds(30);
  auto response = SendHttp(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->body == body) << "echoed " << response->body.size() << " bytes";
}

TEST_F(HttpsServerTest, AClientThatDoesNotTrustTheCertificateGetsACertificateError) {
  auto response = SendHttp(Echo("https", "x"));  // the system's CAs only
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("certificate"), std::string::npos)
      << response.status().ToString();
}

TEST_F(HttpsServerTest, PlainHttpIsNotAnswered) {
  HttpRequest request = Echo("http", "x");
  request.timeout = std::chrono::seconds(5);
  auto response = SendHttp(request);
  EXPECT_FALSE(response.ok() && response->status == 200);
}

TEST(HttpsServer, UnusableCertificateOrKeyIsAClearError) {
  const SelfSigned pem;
  ServerOptions o;
  o.tls_cert_file = pem.cert_file();
  Server only_cert(o);
  EXPECT_NE(only_cert.Start().message().find("both a TLS certificate and its key"), std::string::npos);
  o.tls_key_file = pem.cert_file();  // a certificate where the key should be
  Server wrong_key(o);
  const Status st = wrong_key.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(pem.cert_file()), std::string::npos) << st.ToString();
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = pem.key_file();
  Server missing(o);
  EXPECT_NE(missing.Start().message().find("/nonexistent/cert.pem"), std::string::npos);
}

}  // namespace
}  // namespace pfad::http
