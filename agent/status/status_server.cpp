#include "agent/status/status_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>

#include "adapters/base/clock.h"
#include "agent/status/dashboard_page.h"
#include "agent/status/render.h"
#include "agent/status/state_reader.h"

namespace fep::status {
namespace {

using httplib::Request;
using httplib::Response;
using std::chrono::system_clock;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;
constexpr const char* kJson = "application/json; charset=utf-8";

// Host header without its port: "127.0.0.1:8470" -> 127.0.0.1, "[::1]:8470" -> ::1.
std::string host_of(const std::string& header) {
  if (!header.empty() && header[0] == '[') {
    auto end = header.find(']');
    return end == std::string::npos ? header : header.substr(1, end - 1);
  }
  auto colon = header.find(':');
  return colon == std::string::npos ? header : header.substr(0, colon);
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void send_json(Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, kJson);
}

}  // namespace

Expected<ListenAddress> parse_listen(const std::string& listen) {
  ListenAddress out;
  std::string port;
  if (!listen.empty() && listen[0] == '[') {
    const auto end = listen.find(']');
    if (end == std::string::npos || end + 1 >= listen.size() || listen[end + 1] != ':')
      return fail("status.listen \"" + listen + "\": expected [IPv6]:port");
    out.host = listen.substr(1, end - 1);
    port = listen.substr(end + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || listen.find(':') != colon)
      return fail("status.listen \"" + listen + "\": expected host:port (IPv6 in brackets)");
    out.host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  auto number = parse_int(port);
  if (!number || *number < 0 || *number > 65535)
    return fail("status.listen \"" + listen + "\": the port must be 0 to 65535");
  out.port = *number;
  return out;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct StatusServer::Impl {
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::filesystem::path state_db;
  AgentInfo agent;
  ListenAddress bound;
  bool check_host = true;

  LiveInfo live() const {
    if (!agent.live) return {};
    try {
      return agent.live();
    } catch (...) {  // the agent's callback must not take the server down
      return {};
    }
  }

  std::string state_dir() const { return state_db.parent_path().string(); }

  // The status document and whether the state database could be read.
  std::pair<std::string, bool> status_document() const {
    const auto now = system_clock::now();
    const LiveInfo info = live();
    Snapshot snapshot;
    std::optional<std::string> error;
    auto reader = StateReader::open(state_db);
    if (!reader) {
      error = reader.error().message;
    } else if (auto s = reader->snapshot(local_date(now, kChartDays - 1), kStatusEvents); !s) {
      error = s.error().message;
    } else {
      snapshot = std::move(*s);
    }
    return {status_json(View{snapshot, agent, info, now, state_dir()}, error), !error};
  }

  void page(const Request&, Response& res) const {
    const std::string nonce = new_uuid();
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" +
                       nonce +
                       "'; img-src data:; connect-src 'self'; base-uri 'none'; "
                       "form-action 'none'; frame-ancestors 'none'");
    res.set_content(dashboard_page(nonce, status_document().first), "text/html; charset=utf-8");
  }

  void status(const Request&, Response& res) const {
    auto [body, ok] = status_document();
    send_json(res, ok ? 200 : 503, body);
  }

  // Runs `f(reader)` over a fresh read-only connection; 503 when the database cannot be read.
  template <class F>
  void with_reader(Response& res, F&& f) const {
    auto reader = StateReader::open(state_db);
    if (!reader)
      return send_json(res, 503, error_json("STATE_UNAVAILABLE", reader.error().message));
    f(*reader);
  }

  void resources(const Request&, Response& res) const {
    const auto now = system_clock::now();
    const LiveInfo info = live();
    with_reader(res, [&](StateReader& reader) {
      auto s = reader.snapshot(local_date(now), 0);
      if (!s) return send_json(res, 503, error_json("STATE_UNAVAILABLE", s.error().message));
      send_json(res, 200, resources_json(View{*s, agent, info, now, state_dir()}));
    });
  }

  static std::optional<int> limit(const Request& req, Response& res) {
    if (!req.has_param("limit")) return kDefaultLimit;
    auto n = parse_int(req.get_param_value("limit"));
    if (!n || *n < 1 || *n > kMaxLimit) {
      send_json(res, 400,
                error_json("BAD_REQUEST",
                           "limit must be a whole number from 1 to " + std::to_string(kMaxLimit)));
      return std::nullopt;
    }
    return n;
  }

  void batches(const Request& req, Response& res) const {
    const std::string id = req.matches[1].str();
    auto n = limit(req, res);
    if (!n) return;
    with_reader(res, [&](StateReader& reader) {
      auto list = reader.batches(id, *n);
      if (!list) return send_json(res, 503, error_json("STATE_UNAVAILABLE", list.error().message));
      if (!*list) return send_json(res, 404, error_json("NOT_FOUND", "no resource " + id));
      send_json(res, 200, batches_json(id, **list));
    });
  }

  void events(const Request& req, Response& res) const {
    auto n = limit(req, res);
    if (!n) return;
    with_reader(res, [&](StateReader& reader) {
      auto list = reader.events(*n);
      if (!list) return send_json(res, 503, error_json("STATE_UNAVAILABLE", list.error().message));
      send_json(res, 200, events_json(*list));
    });
  }

  void metrics(const Request&, Response& res) const {
    const auto now = system_clock::now();
    const LiveInfo info = live();
    Snapshot snapshot;
    bool ok = false;
    if (auto reader = StateReader::open(state_db)) {
      if (auto s = reader->snapshot(local_date(now), 0)) {
        snapshot = std::move(*s);
        ok = true;
      }
    }
    // 200 even when the database cannot be read: fep_state_database_up 0 says so.
    res.set_content(metrics_text(View{snapshot, agent, info, now, state_dir()}, ok),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  void setup(int threads) {
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // SO_REUSEADDR for a quick restart, but not httplib's default SO_REUSEPORT: a second
    // process must fail to bind rather than silently share the port.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_payload_max_length(4096);
    http.set_read_timeout(std::chrono::seconds(5));
    http.set_write_timeout(std::chrono::seconds(10));
    http.set_keep_alive_max_count(20);
    http.set_default_headers({{"Cache-Control", "no-store"},
                              {"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"}});
    http.set_pre_routing_handler([this](const Request& req, Response& res) {
      if (req.method != "GET" && req.method != "HEAD") {
        res.set_header("Allow", "GET, HEAD");
        send_json(res, 405, error_json("METHOD_NOT_ALLOWED", "the status endpoint is read-only"));
        return httplib::Server::HandlerResponse::Handled;
      }
      // A page on another site must not read this one through a DNS name bound to 127.0.0.1.
      if (check_host) {
        const std::string host = host_of(req.get_header_value("Host"));
        if (!is_loopback_host(host) && host != bound.host) {
          send_json(res, 403,
                    error_json("FORBIDDEN_HOST",
                               "use http://127.0.0.1:" + std::to_string(bound.port) + "/"));
          return httplib::Server::HandlerResponse::Handled;
        }
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          if (res.status == 404)
            send_json(res, 404, error_json("NOT_FOUND", "no such page: " + req.path));
          else
            send_json(res, res.status, error_json("ERROR", "HTTP " + std::to_string(res.status)));
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const Request&, Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_json(res, 500, error_json("INTERNAL", what));
    });
    http.set_logger([](const Request& req, const Response& res) {
      spdlog::debug("status endpoint: {} {} {}", req.method, req.path, res.status);
    });
    auto bind = [this](void (Impl::*handler)(const Request&, Response&) const) {
      return [this, handler](const Request& req, Response& res) { (this->*handler)(req, res); };
    };
    http.Get("/", bind(&Impl::page));
    http.Get("/index.html", bind(&Impl::page));
    http.Get("/api/v1/status", bind(&Impl::status));
    http.Get("/api/v1/resources", bind(&Impl::resources));
    http.Get("/api/v1/resources/([^/]+)/batches", bind(&Impl::batches));
    http.Get("/api/v1/events", bind(&Impl::events));
    http.Get("/metrics", bind(&Impl::metrics));
  }
};

StatusServer::StatusServer() = default;

StatusServer::~StatusServer() {
  stop();
}

Status StatusServer::start(const std::string& listen, const std::filesystem::path& state_db,
                           AgentInfo info, ServerOptions options) {
  if (impl_) return fail("the status endpoint is already running");
  auto address = parse_listen(listen);
  if (!address) return Unexpected{address.error()};
  const bool loopback = is_loopback_host(address->host);
  if (!loopback && !options.allow_remote)
    return fail("status.listen " + listen +
                " is not a loopback address; the status endpoint has no authentication, so "
                "it listens on 127.0.0.1 (or ::1) unless status.allow_remote is true");

  auto impl = std::make_unique<Impl>();
  impl->state_db = state_db;
  impl->agent = std::move(info);
  impl->bound = *address;
  impl->check_host = loopback;
  impl->setup(std::max(1, options.threads));
  if (address->port == 0) {
    const int port = impl->http.bind_to_any_port(address->host);
    if (port <= 0) return fail("status endpoint: cannot listen on " + listen);
    impl->bound.port = port;
  } else if (!impl->http.bind_to_port(address->host, address->port)) {
    return fail("status endpoint: cannot listen on " + listen +
                " (in use, or not an address "
                "of this machine)");
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->http.listen_after_bind();
    raw->finished = true;
  });
  impl_ = std::move(impl);
  return {};
}

void StatusServer::stop() {
  if (!impl_) return;
  // stop() does nothing until the accept loop runs: wait for it to start (or to have ended).
  while (!impl_->http.is_running() && !impl_->finished)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  impl_->http.stop();
  impl_->thread.join();
  impl_.reset();
}

std::string StatusServer::address() const {
  if (!impl_) return "";
  const auto& b = impl_->bound;
  const bool v6 = b.host.find(':') != std::string::npos;
  return (v6 ? "[" + b.host + "]" : b.host) + ":" + std::to_string(b.port);
}

}  // namespace fep::status
