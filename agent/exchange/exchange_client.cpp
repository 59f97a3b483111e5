#include "agent/exchange/exchange_client.h"

#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>
#include <system_error>

namespace fep {
namespace {

using nlohmann::json;

bool is_transient_status(long status) {
  return status == 408 || status == 429 || status >= 500;
}

std::optional<std::chrono::seconds> parse_retry_after(const http::Response& r) {
  const std::string* v = r.header("retry-after");
  if (!v) return std::nullopt;
  long secs = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), secs);
  if (ec == std::errc() && p == v->data() + v->size() && secs >= 0)
    return std::chrono::seconds(secs);
  // The HTTP-date form: "Wed, 21 Oct 2026 07:28:00 GMT".
  std::tm tm{};
  const char* end = strptime(v->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto wait = std::chrono::ceil<std::chrono::seconds>(at - std::chrono::system_clock::now());
  return std::max(wait, std::chrono::seconds(0));
}

std::string body_excerpt(const std::string& body) {
  constexpr size_t kMax = 200;
  return body.size() <= kMax ? body : body.substr(0, kMax) + "...";
}

ExchangeError make_error(Failure failure, long http_status, std::string message) {
  ExchangeError e;
  e.failure = failure;
  e.http_status = http_status;
  e.message = std::move(message);
  return e;
}

ExchangeError protocol_error(const std::string& what, const std::string& detail) {
  return make_error(Failure::permanent, 0, what + ": " + detail);
}

std::string string_field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

ExchangeError error_from_response(const std::string& what, const http::Response& response) {
  ExchangeError e;
  e.http_status = response.status;
  const bool credentials = response.status == 401 || response.status == 403;
  e.failure = credentials                            ? Failure::credentials
              : is_transient_status(response.status) ? Failure::transient
                                                     : Failure::permanent;
  e.retry_after = parse_retry_after(response);
  std::string detail;
  auto body = json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.contains("error") &&
      body["error"].is_object()) {
    e.code = string_field(body["error"], "code");
    detail = string_field(body["error"], "message");
  }
  e.message = what + ": HTTP " + std::to_string(response.status);
  if (!e.code.empty()) e.message += " " + e.code;
  if (!detail.empty())
    e.message += ": " + detail;
  else if (!response.body.empty() && e.code.empty())
    e.message += ": " + body_excerpt(response.body);
  if (response.status == 401)
    e.message += " (the node token was refused: check exchange.token_file and node.id)";
  else if (response.status == 403)
    e.message +=
        " (the platform does not allow this node this request: check node.id and the node's "
        "rights on the platform)";
  // Not retried, and shown as is: the operator has to act on the platform or the token.
  if (credentials) e.message = "credentials rejected: " + e.message;
  return e;
}

ExchangeError error_from_transport(const http::TransportError& error) {
  ExchangeError e = make_error(error.local ? Failure::local : Failure::transient, 0, error.message);
  const char* hint = nullptr;
  switch (error.tls) {
    case http::TlsProblem::none:
      return e;
    case http::TlsProblem::peer_untrusted:
      hint =
          "the exchange's TLS certificate does not chain to a trusted CA: exchange.ca_file, or "
          "the system's CAs when it is not set";
      break;
    case http::TlsProblem::host_mismatch:
      hint = "the exchange's TLS certificate is not for the host name in exchange.url";
      break;
    case http::TlsProblem::pin_mismatch:
      hint = "the exchange's public key is none of exchange.pinned_pubkey";
      break;
    case http::TlsProblem::local_setup:
      hint =
          "check exchange.ca_file, exchange.client_cert, exchange.client_key and "
          "exchange.key_password_file";
      break;
    case http::TlsProblem::refused:
      hint =
          "the exchange refused the TLS handshake; if it requires a client certificate, set "
          "exchange.client_cert and exchange.client_key (and check the platform accepts them)";
      break;
    case http::TlsProblem::dropped:
      // Perhaps only the network: retried like any dropped connection, with the likely cause.
      e.message +=
          " (the exchange closed the TLS connection before answering; if it requires a "
          "client certificate, set exchange.client_cert and exchange.client_key, and "
          "check the platform accepts them)";
      return e;
  }
  e.failure = Failure::permanent;
  e.message += " (" + std::string(hint) + ")";
  return e;
}

http::ClientOptions http_options(const ExchangeConfig& exchange) {
  http::ClientOptions o;
  o.connect_timeout = exchange.connect_timeout;
  o.low_speed_bytes = exchange.low_speed_bytes;
  o.low_speed_time = exchange.low_speed_time;
  o.user_agent = "fep-agent/" FEP_VERSION;
  o.ca_file = exchange.ca_file;
  o.client_cert = exchange.client_cert;
  o.client_key = exchange.client_key;
  o.key_password = exchange.key_password;
  o.pinned_pubkeys = exchange.pinned_pubkeys;
  o.proxy = exchange.proxy;
  return o;
}

ExchangeClient::ExchangeClient(const Config& config, const StopSource& stop)
    : config_(config),
      stop_(stop),
      http_(http_options(config.exchange)),
      backoff_(config.exchange.retry_base, config.exchange.retry_cap) {}

std::vector<std::string> ExchangeClient::headers(std::string_view accept) const {
  return {"Authorization: Bearer " + config_.exchange.token, "X-FEP-Node: " + config_.node.id,
          "Accept: " + std::string(accept)};
}

template <class F>
auto ExchangeClient::with_retries(const std::string& what, F&& attempt) -> decltype(attempt()) {
  for (int n = 1;; ++n) {
    auto result = noted(attempt());
    if (result.ok() || result.error().failure != Failure::transient ||
        n >= config_.exchange.max_attempts || stop_.stop_requested())
      return result;
    auto wait = backoff_.delay(n, result.error().retry_after);
    (void)what;
    if (!wait || !stop_.sleep_for(*wait)) return result;
  }
}

ExchangeExpected<http::Response> ExchangeClient::get_json(const std::string& path) {
  return with_retries(path, [&]() -> ExchangeExpected<http::Response> {
    auto r = http_.get(config_.exchange.url + path, headers());
    if (!r) return Unexpected{error_from_transport(r.error())};
    if (r->status != 200) return Unexpected{error_from_response("GET " + path, *r)};
    return std::move(r).value();
  });
}

ExchangeExpected<std::vector<store::Subscription>> ExchangeClient::subscriptions() {
  const std::string what = "GET /v1/subscriptions";
  auto r = get_json("/v1/subscriptions");
  if (!r) return Unexpected{r.error()};
  auto body = json::parse(r->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("subscriptions") ||
      !body["subscriptions"].is_array())
    return Unexpected{protocol_error(what, "the answer has no \"subscriptions\" array")};
  std::vector<store::Subscription> out;
  for (const auto& s : body["subscriptions"]) {
    if (!s.is_object() || !s.contains("resource_id") || !s["resource_id"].is_string())
      return Unexpected{protocol_error(what, "a subscription has no resource_id")};
    out.push_back({string_field(s, "resource_id"), string_field(s, "name"), string_field(s, "kind"),
                   string_field(s, "provider"), string_field(s, "share_type"),
                   string_field(s, "status")});
  }
  return out;
}

ExchangeExpected<BatchPage> ExchangeClient::list_batches(const std::string& resource_id,
                                                         int64_t after, int limit) {
  const std::string path = "/v1/resources/" + resource_id +
                           "/batches?after=" + std::to_string(after) +
                           "&limit=" + std::to_string(limit);
  auto r = get_json(path);
  if (!r) return Unexpected{r.error()};
  auto page = parse_batch_page(r->body, resource_id);
  if (!page) return Unexpected{protocol_error("GET " + path, page.error().message)};
  return std::move(page).value();
}

ExchangeExpected<std::string> ExchangeClient::manifest(const std::string& batch_id) {
  auto r = get_json("/v1/batches/" + batch_id + "/manifest");
  if (!r) return Unexpected{r.error()};
  return std::move(r->body);
}

ExchangeExpected<std::optional<Signature>> ExchangeClient::signature(const std::string& batch_id) {
  const std::string path = "/v1/batches/" + batch_id + "/signature";
  return with_retries(path, [&]() -> ExchangeExpected<std::optional<Signature>> {
    auto r = http_.get(config_.exchange.url + path, headers());
    if (!r) return Unexpected{error_from_transport(r.error())};
    if (r->status == 200) return std::optional<Signature>(parse_signature(r->body));
    auto e = error_from_response("GET " + path, *r);
    // 404 is "not signed"; NOT_SUBSCRIBED is the protocol's other 404, and not that.
    if (r->status == 404 && e.code != "NOT_SUBSCRIBED") return std::optional<Signature>();
    return Unexpected{std::move(e)};
  });
}

ExchangeExpected<bool> ExchangeClient::download_payload(const std::string& batch_id,
                                                        const std::string& sha256, uint64_t size,
                                                        const std::filesystem::path& spool) {
  const std::string path = "/v1/batches/" + batch_id + "/payload";
  bool joined = false;  // the file holds bytes kept from an earlier transfer
  auto done = with_retries(path, [&]() -> ExchangeExpected<void> {
    std::error_code ec;
    uint64_t have = std::filesystem::exists(spool, ec) ? std::filesystem::file_size(spool, ec) : 0;
    if (ec)
      return Unexpected{make_error(
          Failure::local, 0, "cannot read the size of " + spool.string() + ": " + ec.message())};
    if (have > size) {  // not this payload: start again
      std::filesystem::remove(spool, ec);
      have = 0;
    }
    if (have > 0) joined = true;
    if (have == size && size > 0) return {};
    auto hdrs = headers("application/octet-stream, */*");
    if (have > 0) {
      hdrs.push_back("Range: bytes=" + std::to_string(have) + "-");
      hdrs.push_back("If-Range: \"" + sha256 + "\"");
    }
    auto r = http_.download(config_.exchange.url + path, hdrs, spool);
    if (!r) {
      auto e = error_from_transport(r.error());
      // A full or failing spool disk: what was written stays, and a later download resumes
      // after it.
      if (e.failure == Failure::local)
        e.message = "batch " + batch_id + ": " + e.message +
                    " (the download resumes where it stopped once the spool can be written)";
      return Unexpected{std::move(e)};
    }
    if (r->status == 206) {
      // The part must start where the file ends and belong to a payload of the expected size.
      // The complete length may be given as "*" (RFC 9110, 14.4): the range alone then says it.
      const std::string* range = r->header("content-range");
      const std::string span = "bytes " + std::to_string(have) + "-" + std::to_string(size - 1);
      const std::string expected = span + "/" + std::to_string(size);
      if (!range || (*range != expected && *range != span + "/*")) {
        std::filesystem::resize_file(spool, have, ec);
        return Unexpected{make_error(Failure::transient, 206,
                                     "GET " + path + ": Content-Range \"" +
                                         (range ? *range : std::string()) + "\", expected \"" +
                                         expected + "\"")};
      }
    }
    if (r->status == 416) {
      std::filesystem::remove(spool, ec);
      return Unexpected{make_error(Failure::transient, 416,
                                   "GET " + path + ": resume offset refused, starting over")};
    }
    if (r->status != 200 && r->status != 206)
      return Unexpected{error_from_response("GET " + path, *r)};
    uint64_t now_have = std::filesystem::file_size(spool, ec);
    // A whole answer (its end marked by Content-Length or chunking) that is short of the size:
    // the payload is not the manifest's, and the size check rejects it after one fresh
    // download. Fetching it again and again would never get a different answer.
    const bool whole_answer =
        r->status == 200 && (r->header("content-length") || r->header("transfer-encoding"));
    if (now_have < size && whole_answer) return {};
    if (now_have < size)  // the connection closed early: resume on the next attempt
      return Unexpected{make_error(Failure::transient, r->status,
                                   "GET " + path + ": the transfer stopped at " +
                                       std::to_string(now_have) + " of " + std::to_string(size) +
                                       " bytes")};
    return {};
  });
  if (!done) return Unexpected{std::move(done.error())};
  return joined;
}

ExchangeExpected<ReceiptAnswer> ExchangeClient::post_receipt(const std::string& receipt_id,
                                                             const std::string& body) {
  return noted(post_receipt_once(receipt_id, body));
}

ExchangeExpected<ReceiptAnswer> ExchangeClient::post_receipt_once(const std::string& receipt_id,
                                                                  const std::string& body) {
  auto hdrs = headers();
  hdrs.push_back("Content-Type: application/json");
  auto r = http_.post(config_.exchange.url + "/v1/receipts", hdrs, body);
  if (!r) return Unexpected{error_from_transport(r.error())};
  if (r->status != 200 && r->status != 201)
    return Unexpected{error_from_response("POST /v1/receipts", *r)};
  // Only the platform's acknowledgement of this receipt counts (not, say, a proxy's page).
  auto answer = json::parse(r->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() ||
      string_field(answer, "receipt_id") != receipt_id || !answer.contains("accepted") ||
      answer["accepted"] != true)
    return Unexpected{make_error(Failure::transient, r->status,
                                 "POST /v1/receipts: HTTP " + std::to_string(r->status) +
                                     " without the acknowledgement of receipt " + receipt_id)};
  return ReceiptAnswer{r->status};
}

ExchangeExpected<void> ExchangeClient::heartbeat(const std::string& body) {
  auto hdrs = headers();
  hdrs.push_back("Content-Type: application/json");
  auto r = http_.post(config_.exchange.url + "/v1/heartbeat", hdrs, body);
  if (!r) return noted(ExchangeExpected<void>(Unexpected{error_from_transport(r.error())}));
  if (r->status != 200)
    return noted(ExchangeExpected<void>(Unexpected{error_from_response("POST /v1/heartbeat", *r)}));
  return {};
}

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::transient:
      return "transient";
    case Failure::permanent:
      return "permanent";
    case Failure::credentials:
      return "credentials";
    case Failure::local:
      return "local";
  }
  return "transient";
}

std::map<std::string, int64_t> RequestErrors::snapshot() const {
  std::map<std::string, int64_t> out;
  for (auto f : {Failure::transient, Failure::permanent, Failure::credentials, Failure::local})
    out[std::string(to_string(f))] =
        counts_[static_cast<size_t>(f)].load(std::memory_order_relaxed);
  return out;
}

}  // namespace fep
