// HTTP requests over libcurl with RAII handles: TLS verification on, connect and low-speed
// timeouts (no total timeout, so a large payload can take as long as it needs), bodies either
// in memory (JSON) or streamed to a file (payloads).
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
};

struct Response {
  long status = 0;
  std::string body;                            // the error body when streaming to a file
  std::map<std::string, std::string> headers;  // names in lower case
  const std::string* header(const std::string& lower_name) const;
};

// A failure below HTTP: no connection, a timeout, TLS, a local file error.
struct TransportError {
  std::string message;
  bool local = false;  // the local side failed (disk); retrying the network will not help
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
