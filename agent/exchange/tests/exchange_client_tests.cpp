// The protocol client against an in-process HTTP server on loopback that answers like a
// misbehaving platform would: errors with bodies, Retry-After, dropped connections, ranges.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "agent/exchange/exchange_client.h"
#include "agent/exchange/tests/loopback_server.h"

using namespace fep;

namespace {

using Server = fep::testing::LoopbackServer;
using fep::testing::config_for;

}  // namespace

TEST_CASE("error bodies reach the operator's message; 403 is not retried") {
  Server s;
  std::atomic<int> calls{0};
  s.http.Get("/v1/subscriptions", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    CHECK(req.get_header_value("Authorization") == "Bearer tok");
    CHECK(req.get_header_value("X-FEP-Node") == "N-1");
    res.status = 403;
    res.set_content(R"({"error": {"code": "FORBIDDEN", "message": "节点未授权"}})",
                    "application/json");
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto r = client.subscriptions();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().failure == Failure::credentials);
  CHECK(r.error().http_status == 403);
  CHECK(r.error().code == "FORBIDDEN");
  CHECK(r.error().message.rfind("credentials rejected: ", 0) == 0);
  CHECK(r.error().message.find("HTTP 403") != std::string::npos);
  CHECK(r.error().message.find("节点未授权") != std::string::npos);
  CHECK(calls == 1);
}

TEST_CASE("other 4xx answers are permanent and not retried") {
  Server s;
  std::atomic<int> calls{0};
  s.http.Get("/v1/resources/R-1/batches", [&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 404;
    res.set_content(R"({"error": {"code": "NOT_SUBSCRIBED", "message": "not approved"}})",
                    "application/json");
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto r = client.list_batches("R-1", 0, 10);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().failure == Failure::permanent);
  CHECK(r.error().code == "NOT_SUBSCRIBED");
  CHECK(r.error().message.find("credentials") == std::string::npos);
  CHECK(calls == 1);
}

TEST_CASE("503 with Retry-After is retried until it succeeds") {
  Server s;
  std::atomic<int> calls{0};
  s.http.Get("/v1/subscriptions", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      return;
    }
    res.set_content(R"({"node": "N-1", "subscriptions": [{"resource_id": "R-1", "name": "x",
      "kind": "table", "provider": "p", "share_type": "unconditional", "status": "approved"}]})",
                    "application/json");
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto r = client.subscriptions();
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].status == "approved");
  CHECK(calls == 3);
}

TEST_CASE("401 is a credentials failure and says what to check") {
  Server s;
  s.http.Post("/v1/receipts", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content(R"({"error": {"code": "UNAUTHORIZED", "message": "bad token"}})",
                    "application/json");
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto r = client.post_receipt("id-1", "{}");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().failure == Failure::credentials);
  CHECK(r.error().http_status == 401);
  CHECK(r.error().message.rfind("credentials rejected: POST /v1/receipts: HTTP 401 UNAUTHORIZED: "
                                "bad token",
                                0) == 0);
  CHECK(r.error().message.find("token_file") != std::string::npos);
}

TEST_CASE("a resumed part may give its complete length as *") {
  const std::string payload(1000, 'y');
  Server s;
  std::atomic<int> calls{0};
  s.http.Get("/v1/batches/B-1/payload", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls == 1) {  // 400 bytes, then the connection ends
      res.set_content_provider(payload.size(), "application/octet-stream",
                               [&](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset >= 400) return false;
                                 sink.write(payload.data(), 400);
                                 return true;
                               });
      return;
    }
    // The rest, answered by hand as a server that does not state the whole length would
    // (chunked, so that httplib leaves the Range to this handler).
    res.status = 206;
    res.set_header("Content-Range", "bytes 400-999/*");
    res.set_chunked_content_provider("application/octet-stream",
                                     [&](size_t offset, httplib::DataSink& sink) {
                                       if (offset == 0) sink.write(payload.data() + 400, 600);
                                       if (offset > 0) sink.done();
                                       return true;
                                     });
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto spool = std::filesystem::temp_directory_path() / ("fep-spool-" + new_uuid());
  auto r = client.download_payload("B-1", std::string(64, 'a'), payload.size(), spool);
  CHECK_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(calls == 2);
  CHECK(std::filesystem::file_size(spool) == payload.size());
  std::filesystem::remove(spool);
}

TEST_CASE("an unreachable exchange is transient") {
  auto config = config_for(1);  // nothing listens on port 1
  StopSource stop;
  ExchangeClient client(config, stop);
  auto r = client.manifest("B-1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().failure == Failure::transient);
  CHECK(r.error().http_status == 0);
}

TEST_CASE("a payload cut short resumes with Range and If-Range") {
  const std::string payload(100000, 'x');
  Server s;
  std::atomic<int> calls{0};
  std::string range_seen, if_range_seen;
  s.http.Get("/v1/batches/B-1/payload", [&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    if (calls == 1) {  // half the bytes, then the connection ends
      res.set_content_provider(payload.size(), "application/octet-stream",
                               [&](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset >= payload.size() / 2) return false;
                                 sink.write(payload.data() + offset, payload.size() / 2);
                                 return true;
                               });
      return;
    }
    range_seen = req.get_header_value("Range");
    if_range_seen = req.get_header_value("If-Range");
    // httplib answers the Range itself: 206 with Content-Range.
    res.set_content(payload, "application/octet-stream");
  });
  s.start();
  auto config = config_for(s.port);
  StopSource stop;
  ExchangeClient client(config, stop);
  auto spool = std::filesystem::temp_directory_path() / ("fep-spool-" + new_uuid());
  auto r = client.download_payload("B-1", std::string(64, 'a'), payload.size(), spool);
  CHECK_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(calls == 2);
  CHECK(range_seen == "bytes=50000-");
  CHECK(if_range_seen == "\"" + std::string(64, 'a') + "\"");
  auto downloaded = read_file(spool, kMaxOwnFileBytes);
  REQUIRE(downloaded.ok());
  CHECK(downloaded->size() == payload.size());
  CHECK(downloaded->find_first_not_of('x') == std::string::npos);
  std::filesystem::remove(spool);
}
