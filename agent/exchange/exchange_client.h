// The agent's side of the exchange protocol (docs/protocol.md): one method per endpoint, with
// authentication, retries of transient failures and the platform's error bodies made readable.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/base/shutdown.h"
#include "adapters/http/http_client.h"
#include "agent/batch/manifest.h"
#include "agent/config/config.h"
#include "agent/exchange/manifest_signature.h"
#include "agent/exchange/retry.h"
#include "agent/store/state_store.h"

namespace fep {

// Every failed exchange call is one of these.
enum class Failure {
  transient,    // 408, 429, 5xx, connection errors, timeouts: try again later
  permanent,    // other 4xx, or an answer the protocol does not allow
  credentials,  // 401 or 403: the platform refuses this node's token or node id; never retried
                // here, the message starts with "credentials rejected:"
  local,        // our side failed (the spool's disk is full or failing), not the exchange
};

struct ExchangeError {
  Failure failure = Failure::transient;
  long http_status = 0;  // 0 when no answer came
  std::string code;      // the platform's error code, e.g. NOT_SUBSCRIBED
  std::string message;   // what the operator sees
  std::optional<std::chrono::seconds> retry_after;
};

template <class T>
using ExchangeExpected = Expected<T, ExchangeError>;

struct ReceiptAnswer {
  long http_status = 0;  // 200 or 201
};

std::string_view to_string(Failure failure);

// Failed requests to the exchange by class (every failed attempt counts), shared by the clients
// of one daemon for its /metrics. Thread-safe.
class RequestErrors {
 public:
  void count(Failure failure) {
    counts_[static_cast<size_t>(failure)].fetch_add(1, std::memory_order_relaxed);
  }
  // class name -> count, every class included.
  std::map<std::string, int64_t> snapshot() const;

 private:
  std::array<std::atomic<int64_t>, 4> counts_{};
};

class ExchangeClient {
 public:
  ExchangeClient(const Config& config, const StopSource& stop);
  // Counts this client's failed requests into `errors` from now on (it must outlive the client).
  void count_errors_in(RequestErrors* errors) { errors_ = errors; }

  ExchangeExpected<std::vector<store::Subscription>> subscriptions();
  ExchangeExpected<BatchPage> list_batches(const std::string& resource_id, int64_t after,
                                           int limit);
  // The manifest's exact bytes (a signature covers them).
  ExchangeExpected<std::string> manifest(const std::string& batch_id);
  // The manifest's detached signature; nothing when the batch is not signed (404). An answer
  // that is not a signature object comes back with Signature::malformed set (a bad signature).
  ExchangeExpected<std::optional<Signature>> signature(const std::string& batch_id);
  // Downloads into `spool`, resuming a partial file with Range/If-Range; stops at `size` bytes.
  // Checking size and digest is the caller's job.
  // True when the file joins bytes from more than one transfer (a resumed download).
  ExchangeExpected<bool> download_payload(const std::string& batch_id, const std::string& sha256,
                                          uint64_t size, const std::filesystem::path& spool);
  // One attempt: the outbox decides when to try again. Delivered only when the platform
  // answers 200/201 with {"receipt_id": receipt_id, "accepted": true}.
  ExchangeExpected<ReceiptAnswer> post_receipt(const std::string& receipt_id,
                                               const std::string& body);
  ExchangeExpected<void> heartbeat(const std::string& body);

 private:
  template <class F>
  auto with_retries(const std::string& what, F&& attempt) -> decltype(attempt());
  std::vector<std::string> headers(std::string_view accept = "application/json") const;
  ExchangeExpected<http::Response> get_json(const std::string& path);
  ExchangeExpected<ReceiptAnswer> post_receipt_once(const std::string& receipt_id,
                                                    const std::string& body);

  const Config& config_;
  const StopSource& stop_;
  http::Client http_;
  Backoff backoff_;
  RequestErrors* errors_ = nullptr;
  template <class T>
  T noted(T result) {
    if (!result && errors_) errors_->count(result.error().failure);
    return result;
  }
};

// Turns a non-2xx answer into an ExchangeError, reading {"error": {"code", "message"}}.
ExchangeError error_from_response(const std::string& what, const http::Response& response);

// Turns a failure below HTTP into an ExchangeError. TLS failures name the setting to check and
// are not retried (they do not go away within a run).
ExchangeError error_from_transport(const http::TransportError& error);

// The HTTP client's options from the exchange section (timeouts, TLS, proxy).
http::ClientOptions http_options(const ExchangeConfig& exchange);

}  // namespace fep
