// HTTP requests over libcurl with RAII handles: TLS verification on (optionally against a given
// CA, with a client certificate and pinned public keys), an explicit proxy or none, connect and
// low-speed timeouts (no total timeout, so a large payload can take as long as it needs), bodies
// either in memory (JSON) or streamed to a file (payloads).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::http {

struct ClientOptions {
  std::chrono::seconds connect_timeout{15};
  long low_speed_bytes = 1;
  std::chrono::seconds low_speed_time{60};
  std::string user_agent;
  std::optional<std::filesystem::path> ca_file;  // default: the system's trust store
  // A client certificate (PEM) and its private key (PEM), for servers that require one.
  std::optional<std::filesystem::path> client_cert;
  std::optional<std::filesystem::path> client_key;
  std::optional<std::string> key_password;  // the client key's passphrase; never logged
  // "sha256//<base64>" hashes of the server's SubjectPublicKeyInfo; when not empty, the server's
  // key must be one of them (on top of the usual verification).
  std::vector<std::string> pinned_pubkeys;
  // The proxy URL. None: no proxy at all, whatever http_proxy/https_proxy/all_proxy say.
  std::optional<std::string> proxy;
};

struct Response {
  long status = 0;
  std::string body;                            // the error body when streaming to a file
  std::map<std::string, std::string> headers;  // names in lower case
  const std::string* header(const std::string& lower_name) const;
};

// What kind of TLS failure a transport error is, so callers can point at the right setting.
enum class TlsProblem {
  none,
  peer_untrusted,  // the server's certificate chain did not verify
  host_mismatch,   // the server's certificate is for another host name
  pin_mismatch,    // the server's public key is none of the pinned ones
  local_setup,     // our CA file, client certificate or key could not be used
  refused,         // the server ended the handshake (e.g. it wants a client certificate)
  // An https connection closed during or right after the handshake, before any answer: often
  // a server refusing the client (certificate), but also any dropped connection.
  dropped,
};

// A failure below HTTP: no connection, a timeout, TLS, a local file error.
struct TransportError {
  std::string message;
  bool local = false;  // the local side failed (disk); retrying the network will not help
  TlsProblem tls = TlsProblem::none;
};

template <class T>
using HttpExpected = Expected<T, TransportError>;

class Client {
 public:
  explicit Client(ClientOptions options);

  HttpExpected<Response> get(const std::string& url, const std::vector<std::string>& headers);
  HttpExpected<Response> post(const std::string& url, const std::vector<std::string>& headers,
                              const std::string& body);
  // GET whose 2xx body is appended to `file` (opened for append); other bodies land in
  // Response::body so that error answers can be read.
  HttpExpected<Response> download(const std::string& url, const std::vector<std::string>& headers,
                                  const std::filesystem::path& file);

 private:
  ClientOptions options_;
};

}  // namespace fep::http
