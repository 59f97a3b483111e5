#include "adapters/http/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace fep::http {
namespace {

struct CurlEasyCleanup {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Where the body of the transfer goes, decided once the status line is known.
struct Sink {
  CURL* curl = nullptr;
  Response* response = nullptr;
  std::FILE* file = nullptr;  // for downloads: 2xx bodies go here
  bool file_error = false;
  int file_errno = 0;  // errno of the failed write, before curl's own calls can change it
  bool started = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
  if (sink->file && status >= 200 && status < 300) {
    // A 200 is the whole body from its start (the server did not take our Range): drop what
    // the file held instead of appending the whole payload after the partial one.
    if (!sink->started && status == 200 &&
        (std::fflush(sink->file) != 0 || ::ftruncate(::fileno(sink->file), 0) != 0 ||
         std::fseek(sink->file, 0, SEEK_SET) != 0)) {
      sink->file_error = true;
      sink->file_errno = errno;
      return 0;
    }
    sink->started = true;
    if (std::fwrite(data, 1, n, sink->file) != n) {
      sink->file_error = true;
      sink->file_errno = errno;
      return 0;  // aborts the transfer
    }
    return n;
  }
  // Error bodies are small; cap them so a misbehaving server cannot fill memory.
  if (sink->response->body.size() < (1u << 20)) sink->response->body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<Response*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) response->headers.clear();  // a new response (redirect, 100)
  auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto value_start = line.find_first_not_of(" \t", colon + 1);
  auto value_end = line.find_last_not_of(" \t\r\n");
  response->headers[name] = value_start == std::string::npos || value_end < value_start
                                ? std::string()
                                : line.substr(value_start, value_end - value_start + 1);
  return n;
}

// Which TLS problem a failed transfer had, from curl's code and (for alerts the server sent,
// which curl reports as plain send/receive errors) OpenSSL's text.
TlsProblem classify_tls(CURLcode rc, const std::string& detail) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
      // curl reports a name mismatch with the same code as an untrusted chain.
      return detail.find("subject name") != std::string::npos ||
                     detail.find("host name") != std::string::npos
                 ? TlsProblem::host_mismatch
                 : TlsProblem::peer_untrusted;
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return TlsProblem::pin_mismatch;
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
      return TlsProblem::local_setup;
    default:
      break;
  }
  for (const char* alert :
       {"alert certificate required", "alert handshake failure", "alert bad certificate",
        "alert unknown ca", "alert certificate unknown", "alert access denied"})
    if (detail.find(alert) != std::string::npos) return TlsProblem::refused;
  return TlsProblem::none;
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace

const std::string* Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? nullptr : &it->second;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {}

namespace {

HttpExpected<Response> perform(const ClientOptions& options, const std::string& method,
                               const std::string& url, const std::vector<std::string>& headers,
                               const std::string* body, std::FILE* file,
                               const std::string& file_name) {
  std::unique_ptr<CURL, CurlEasyCleanup> curl(curl_easy_init());
  if (!curl) return Unexpected{TransportError{"curl_easy_init failed", true}};
  std::unique_ptr<curl_slist, CurlSlistFree> list;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (!next) return Unexpected{TransportError{"out of memory building headers", true}};
    (void)list.release();
    list.reset(next);
  }

  Response response;
  Sink sink{curl.get(), &response, file};
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_bytes);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  // The protocol is HTTP/1.1; libcurl would otherwise take HTTP/2 where a server offers it.
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  if (options.ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file->c_str());
  if (options.client_cert) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, options.client_cert->c_str());
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (options.client_key) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, options.client_key->c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (options.key_password) curl_easy_setopt(c, CURLOPT_KEYPASSWD, options.key_password->c_str());
  const std::string pins = join(options.pinned_pubkeys, ";");
  if (!pins.empty()) curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pins.c_str());
  // "" turns proxies off, environment variables included: a proxy is used only when configured.
  curl_easy_setopt(c, CURLOPT_PROXY, options.proxy ? options.proxy->c_str() : "");
  if (!options.user_agent.empty())
    curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }

  CURLcode rc = curl_easy_perform(c);
  if (sink.file_error)
    return Unexpected{
        TransportError{"cannot write " + file_name + ": " + std::strerror(sink.file_errno), true}};
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    TlsProblem tls = classify_tls(rc, detail);
    // A server that rejects the client's certificate may close the connection before its alert
    // is read (curl then reports a send or receive error, or getpeername() failing).
    curl_off_t connected_us = 0;
    if (tls == TlsProblem::none && url.rfind("https://", 0) == 0 && response.headers.empty() &&
        (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
         rc == CURLE_GOT_NOTHING) &&
        curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected_us) == CURLE_OK &&
        connected_us > 0)
      tls = TlsProblem::dropped;
    return Unexpected{TransportError{method + " " + url + ": " + detail, false, tls}};
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace

HttpExpected<Response> Client::get(const std::string& url,
                                   const std::vector<std::string>& headers) {
  return perform(options_, "GET", url, headers, nullptr, nullptr, "");
}

HttpExpected<Response> Client::post(const std::string& url, const std::vector<std::string>& headers,
                                    const std::string& body) {
  return perform(options_, "POST", url, headers, &body, nullptr, "");
}

HttpExpected<Response> Client::download(const std::string& url,
                                        const std::vector<std::string>& headers,
                                        const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileClose> f(std::fopen(file.c_str(), "ab"));
  if (!f)
    return Unexpected{TransportError{
        "cannot open " + file.string() + " for writing: " + std::strerror(errno), true}};
  auto result = perform(options_, "GET", url, headers, nullptr, f.get(), file.string());
  if (!result && result.error().local) return result;
  // A payload is only as durable as its last fsync; the caller checks size and digest anyway.
  if (std::fflush(f.get()) != 0)
    return Unexpected{
        TransportError{"cannot write " + file.string() + ": " + std::strerror(errno), true}};
  return result;
}

}  // namespace fep::http
