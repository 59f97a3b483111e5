#include "tools/exchange-sim/server.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <iostream>
#include <thread>
#include <variant>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "tools/exchange-sim/answer.h"
#include "tools/exchange-sim/messages.h"
#include "tools/exchange-sim/payload.h"
#include "tools/exchange-sim/receipts.h"
#include "tools/exchange-sim/tls.h"

namespace fep::sim {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;
using httplib::Request;
using httplib::Response;

constexpr std::size_t kMaxLimit = 1000;

std::optional<std::uint64_t> parse_param(const Request& req, const char* key, std::uint64_t def) {
  if (!req.has_param(key)) return def;
  const std::string text = req.get_param_value(key);
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return n;
}

// httplib 0.11 slices every answer by the request's Range (error bodies too) and gets the edge
// cases wrong (no 416 at the end, no If-Range). The payload route handles ranges itself, so the
// parsed ranges are dropped before routing. The Request object is not const where httplib owns it.
void drop_builtin_ranges(const Request& req) {
  const_cast<Request&>(req).ranges.clear();
}

// The JSON error for answers httplib makes itself (no route, body too large, bad Range).
Answer fallback_error(int status) {
  if (status == 404) return error_answer(status, "NOT_FOUND", "no such endpoint");
  if (status == 413) return error_answer(status, "TOO_LARGE", "request body too large");
  if (status == 416) return error_answer(status, "RANGE_NOT_SATISFIABLE", "bad Range");
  return error_answer(status, status >= 500 ? "INTERNAL" : "BAD_REQUEST",
                      "request failed with HTTP " + std::to_string(status));
}

// Fault short_body for an answer held in memory: the same status and headers, a Content-Length
// of the whole body, and the connection closed after half of it.
void cut_body_short(Response& res) {
  if (res.body.empty()) return;
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");
  const size_t half = body->size() / 2;
  res.set_content_provider(body->size(), type,
                           [body, half](size_t offset, size_t, httplib::DataSink& sink) {
                             if (offset >= half) return false;
                             return sink.write(body->data() + offset, half - offset);
                           });
}

class ExchangeServer {
 public:
  ExchangeServer(const ServeOptions& opts, FaultPlan faults)
      : opts_(opts),
        store_(opts.root),
        receipts_(store_),
        faults_(std::move(faults)),
        server_(make_http_server(opts)),
        http_(*server_) {}

  Status setup();
  httplib::Server& http() { return http_; }

 private:
  using RouteHandler = std::function<void(const Request&, Response&, const std::string& node,
                                          RequestFaults& faults)>;
  // Checks credentials and the fault plan, then runs `handler`.
  httplib::Server::Handler guarded(Route route, RouteHandler handler);
  std::optional<Answer> authorize(const Request& req) const;
  // Fault forbidden_resources: the 403 a platform gives a node that may not read the resource.
  std::optional<Answer> forbidden(const std::string& resource_id, RequestFaults& faults) const;
  // Fault receipt_status: the error a platform gives a receipt for one of these batches.
  std::optional<Answer> refused_receipt(const std::string& body) const;
  std::optional<Answer> require_subscribed(const std::string& resource_id) const;
  // The batch named by the path, or the answer to give instead.
  std::variant<BatchInfo, Answer> lookup_batch(const std::string& batch_id);

  void subscriptions(Response& res, const std::string& node);
  void batch_list(const Request& req, Response& res, RequestFaults& faults);
  void heartbeat(const Request& req, Response& res, const std::string& node);

  ServeOptions opts_;
  Store store_;
  ReceiptBook receipts_;
  FaultPlan faults_;
  std::unique_ptr<httplib::Server> server_;  // plain or TLS (tls.h)
  httplib::Server& http_;
};

std::optional<Answer> ExchangeServer::authorize(const Request& req) const {
  auto token = read_secret_file(opts_.token_file);
  if (!token) return error_answer(500, "INTERNAL", token.error().message);
  const std::string auth = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  std::string given = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0
                          ? auth.substr(prefix.size())
                          : std::string();
  if (given.size() != token->size() || CRYPTO_memcmp(given.data(), token->data(), given.size()))
    return error_answer(401, "UNAUTHORIZED", "missing or wrong bearer token");
  const std::string node = req.get_header_value("X-FEP-Node");
  if (!is_valid_id(node)) return error_answer(400, "BAD_REQUEST", "X-FEP-Node missing or invalid");
  if (opts_.node && node != *opts_.node)
    return error_answer(403, "FORBIDDEN", "this exchange serves node " + *opts_.node);
  return std::nullopt;
}

httplib::Server::Handler ExchangeServer::guarded(Route route, RouteHandler handler) {
  return [this, route, handler](const Request& req, Response& res) {
    if (auto denied = authorize(req)) return send(res, *denied);
    const std::string id = req.matches.size() > 1 ? req.matches[1].str() : std::string();
    RequestFaults faults = faults_.decide(route, id, req);
    if (const auto& fault = faults.answer) {
      if (fault->retry_after) res.set_header("Retry-After", std::to_string(*fault->retry_after));
      send(res, error_answer(fault->status, fault->code, fault->message));
    } else {
      handler(req, res, req.get_header_value("X-FEP-Node"), faults);
      // httplib leaves the status at -1 until the answer goes out (200 then).
      const bool ok = res.status == 200 || res.status == -1;
      if (faults.short_body && route != Route::kPayload) {
        if (ok && !res.body.empty())
          cut_body_short(res);
        else
          faults.short_body = false;
      }
    }
    faults_.record(route, id, req, faults);
  };
}

std::optional<Answer> ExchangeServer::refused_receipt(const std::string& body) const {
  const FaultConfig* fc = faults_.config();
  if (!fc || fc->receipt_status.empty()) return std::nullopt;
  const auto receipt = nlohmann::json::parse(body, nullptr, false);
  if (!receipt.is_object() || !receipt.contains("batch_id") || !receipt["batch_id"].is_string())
    return std::nullopt;
  const auto it = fc->receipt_status.find(receipt["batch_id"].get<std::string>());
  if (it == fc->receipt_status.end()) return std::nullopt;
  return error_answer(it->second, "UNPROCESSABLE", "fault receipt_status: refused");
}

std::optional<Answer> ExchangeServer::forbidden(const std::string& resource_id,
                                                RequestFaults& faults) const {
  const FaultConfig* fc = faults_.config();
  if (!fc || !fc->forbidden_resources.count(resource_id)) return std::nullopt;
  RequestFaults only;  // the answer replaces everything else the plan drew for the request
  only.n = faults.n;
  only.forbidden = true;
  faults = only;
  return error_answer(403, "FORBIDDEN",
                      "injected fault: this node may not read resource " + resource_id);
}

std::optional<Answer> ExchangeServer::require_subscribed(const std::string& resource_id) const {
  auto sub = store_.subscription(resource_id);
  if (!sub) return error_answer(500, "INTERNAL", sub.error().message);
  if (!*sub || (*sub)->status != "approved")
    return error_answer(404, "NOT_SUBSCRIBED", resource_id + " is not approved for this node");
  return std::nullopt;
}

std::variant<BatchInfo, Answer> ExchangeServer::lookup_batch(const std::string& batch_id) {
  if (!is_valid_id(batch_id)) return error_answer(404, "NOT_FOUND", "unknown batch " + batch_id);
  auto batch = store_.find_batch(batch_id);
  if (!batch) return error_answer(500, "INTERNAL", batch.error().message);
  if (!*batch) return error_answer(404, "NOT_FOUND", "unknown batch " + batch_id);
  if (auto denied = require_subscribed((*batch)->resource_id)) return *denied;
  return **batch;
}

void ExchangeServer::subscriptions(Response& res, const std::string& node) {
  auto subs = store_.subscriptions();
  if (!subs) return send(res, error_answer(500, "INTERNAL", subs.error().message));
  ojson list = ojson::array();
  for (const auto& s : *subs) list.push_back(to_json(s));
  res.set_content(to_text(ojson{{"node", node}, {"subscriptions", list}}), "application/json");
}

void ExchangeServer::batch_list(const Request& req, Response& res, RequestFaults& faults) {
  const std::string resource_id = req.matches[1].str();
  if (auto denied = forbidden(resource_id, faults)) return send(res, *denied);
  if (auto denied = require_subscribed(resource_id)) return send(res, *denied);
  auto after = parse_param(req, "after", 0);
  auto limit = parse_param(req, "limit", 100);
  if (!after || !limit || *limit == 0 || *after > INT64_MAX)
    return send(res, error_answer(400, "BAD_REQUEST",
                                  "after and limit are non-negative integers, "
                                  "limit at least 1"));
  std::size_t cap = std::min<std::size_t>(*limit, kMaxLimit);
  if (const FaultConfig* fc = faults_.config(); fc && fc->max_page > 0)
    cap = std::min(cap, fc->max_page);
  auto page = store_.list_batches(resource_id, static_cast<std::int64_t>(*after), cap);
  if (!page) return send(res, error_answer(500, "INTERNAL", page.error().message));
  if (faults.duplicate_listing) {
    // As a platform that takes `after` as inclusive would: the batch with seq == after opens the
    // page again; on a first page (no such batch), the page's last batch is listed twice.
    auto at = *after > 0
                  ? store_.list_batches(resource_id, static_cast<std::int64_t>(*after) - 1, 1)
                  : Expected<BatchPage>(BatchPage{});
    if (at && !at->batches.empty() && at->batches.front().seq == static_cast<std::int64_t>(*after))
      page->batches.insert(page->batches.begin(), at->batches.front());
    else if (!page->batches.empty())
      page->batches.push_back(page->batches.back());
    else
      faults.duplicate_listing = false;  // nothing to list twice
  }
  ojson list = ojson::array();
  for (const auto& b : page->batches)
    list.push_back(
        {{"batch_id", b.batch_id}, {"seq", b.seq}, {"mode", b.mode}, {"created_at", b.created_at}});
  ojson body = {{"resource_id", resource_id}, {"batches", list}, {"more", page->more}};
  res.set_content(to_text(body), "application/json");
}

void ExchangeServer::heartbeat(const Request& req, Response& res, const std::string& node) {
  json hb = json::parse(req.body, nullptr, false);
  Answer answer{200, {{"ok", true}}};
  if (hb.is_discarded())
    answer = error_answer(400, "BAD_REQUEST", "body is not JSON");
  else if (auto st = check_heartbeat(hb, node); !st)
    answer = error_answer(400, "BAD_REQUEST", st.error().message);
  json line = {{"at", rfc3339_now()},
               {"status", answer.status},
               {"answer", answer.body},
               {"heartbeat", hb.is_discarded() ? json(req.body) : hb}};
  if (auto st = store_.append_line(store_.heartbeats_log(), to_text(line)); !st)
    answer = error_answer(500, "INTERNAL", st.error().message);
  send(res, answer);
}

Status ExchangeServer::setup() {
  if (auto st = receipts_.load(); !st) return st;
  http_.set_payload_max_length(4 << 20);
  http_.set_pre_routing_handler([](const Request& req, Response&) {
    drop_builtin_ranges(req);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        drop_builtin_ranges(req);
        send(res, fallback_error(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send(res, error_answer(500, "INTERNAL", what));
  });
  http_.set_logger([](const Request& req, const Response& res) {
    if (res.status >= 400 && res.get_header_value("Content-Type") == "application/json")
      spdlog::info("{} {} {} {}", req.method, req.path, res.status, res.body);
    else
      spdlog::info("{} {} {}", req.method, req.path, res.status);
  });

  const std::string id = "([^/]+)";
  http_.Get(
      "/v1/subscriptions",
      guarded(Route::kSubscriptions, [this](const Request&, Response& res, const std::string& node,
                                            RequestFaults&) { subscriptions(res, node); }));
  http_.Get(
      "/v1/resources/" + id + "/batches",
      guarded(Route::kBatchList, [this](const Request& req, Response& res, const std::string&,
                                        RequestFaults& faults) { batch_list(req, res, faults); }));
  auto batch_route = [this](auto answer) {
    return [this, answer](const Request& req, Response& res, const std::string&,
                          RequestFaults& faults) {
      auto found = lookup_batch(req.matches[1].str());
      if (auto* denied = std::get_if<Answer>(&found)) return send(res, *denied);
      const auto& batch = std::get<BatchInfo>(found);
      if (auto denied = forbidden(batch.resource_id, faults)) return send(res, *denied);
      answer(req, res, batch, faults);
    };
  };
  // Manifest and signature: the stored bytes exactly as published. A missing manifest is the
  // server's fault (every listed batch has one); a missing signature means the batch is unsigned.
  auto file_answer = [](const char* name, int missing_status, const char* missing_code,
                        const char* missing) {
    return [=](const Request&, Response& res, const BatchInfo& b, const RequestFaults&) {
      const auto path = b.dir / name;
      auto present = path_exists(path);
      if (!present) return send(res, error_answer(500, "INTERNAL", present.error().message));
      if (!*present)
        return send(res, error_answer(missing_status, missing_code,
                                      "batch " + b.batch_id + ": " + missing));
      auto bytes = read_file(path, kMaxOwnFileBytes);
      if (!bytes) return send(res, error_answer(500, "INTERNAL", bytes.error().message));
      res.set_content(*bytes, "application/json");
    };
  };
  http_.Get("/v1/batches/" + id + "/manifest",
            guarded(Route::kManifest,
                    batch_route(file_answer("manifest.json", 500, "INTERNAL",
                                            "manifest.json is missing from the published batch"))));
  http_.Get("/v1/batches/" + id + "/signature",
            guarded(Route::kSignature, batch_route(file_answer("signature.json", 404, "NOT_SIGNED",
                                                               "the batch is not signed"))));
  http_.Get("/v1/batches/" + id + "/payload",
            guarded(Route::kPayload, batch_route([this](const Request& req, Response& res,
                                                        const BatchInfo& b, RequestFaults& faults) {
                      const FaultConfig* fc = faults_.config();
                      answer_payload(req, res, b, faults, fc ? fc->drip_pieces : 1,
                                     fc ? fc->drip_pause_ms : 0);
                    })));
  http_.Post("/v1/receipts",
             guarded(Route::kReceipt, [this](const Request& req, Response& res,
                                             const std::string& node, RequestFaults& faults) {
               if (auto refused = refused_receipt(req.body)) return send(res, *refused);
               const Answer answer = receipts_.submit(req.body, node);
               send(res, answer);
               // Fault lose_receipt_answer: the receipt is stored (and logged), then the
               // connection closes before any byte of the answer is sent. Only accepted
               // receipts lose their answer.
               int fd = -1;
               if (faults.lose_receipt_answer && (answer.status == 200 || answer.status == 201))
                 fd = connection_fd(req);
               if (fd >= 0)
                 ::shutdown(fd, SHUT_RDWR);
               else
                 faults.lose_receipt_answer = false;
             }));
  http_.Post(
      "/v1/heartbeat",
      guarded(Route::kHeartbeat, [this](const Request& req, Response& res, const std::string& node,
                                        RequestFaults&) { heartbeat(req, res, node); }));
  return {};
}

}  // namespace

int serve(const ServeOptions& opts, FaultPlan faults) {
  // SIGINT and SIGTERM are blocked in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error on write, not a signal

  if (auto token = read_secret_file(opts.token_file); !token) {
    spdlog::error("{}", token.error().message);
    return 1;
  }
  if (auto st = check_tls_options(opts); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  ExchangeServer server(opts, std::move(faults));
  if (auto st = server.setup(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  if (!server.http().is_valid()) {
    spdlog::error("cannot serve TLS: OpenSSL refused --tls-cert, --tls-key or --client-ca");
    return 1;
  }
  auto& http = server.http();
  int port = opts.port;
  if (port == 0)
    port = http.bind_to_any_port(opts.host);
  else if (!http.bind_to_port(opts.host, port))
    port = -1;
  if (port <= 0) {
    spdlog::error("cannot listen on {}:{}", opts.host, opts.port);
    return 1;
  }
  std::cout << "listening on " << opts.host << ":" << port << std::endl;

  std::atomic<bool> finished{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (finished) return;
    spdlog::info("signal {}: stopping", sig);
    // stop() is a no-op until the accept loop runs; wait for it to start.
    while (!http.is_running() && !finished)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    http.stop();
  });
  const bool ok = http.listen_after_bind();
  finished = true;
  ::kill(::getpid(), SIGTERM);  // wakes the waiter if no signal came; blocked, so harmless
  waiter.join();
  spdlog::info("stopped");
  return ok ? 0 : 1;
}

}  // namespace fep::sim
