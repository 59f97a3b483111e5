#include <doctest/doctest.h>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "agent/status/status_server.h"
#include "agent/status/tests/fixture.h"

using namespace fep;
using namespace fep::status;
using namespace fep::status::testing;
using nlohmann::json;

namespace {

struct Served {
  TempDir dir;
  StatusServer server;
  std::unique_ptr<httplib::Client> client;

  explicit Served(bool with_db = true, std::function<LiveInfo()> live = {}) {
    if (with_db) populate(dir.db());
    auto st = server.start("127.0.0.1:0", dir.db(),
                           AgentInfo{"0.1.0", rfc3339_now(), "N-TEST", std::move(live)});
    REQUIRE(st.ok());
    client = std::make_unique<httplib::Client>("http://" + server.address());
    client->set_read_timeout(std::chrono::seconds(10));
  }
};

}  // namespace

TEST_CASE("listen addresses: host:port, [IPv6]:port; bad ones are errors") {
  auto a = parse_listen("127.0.0.1:8470");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8470);
  auto b = parse_listen("[::1]:0");
  REQUIRE(b.ok());
  CHECK(b->host == "::1");
  CHECK(b->port == 0);
  CHECK_FALSE(parse_listen("127.0.0.1").ok());
  CHECK_FALSE(parse_listen("127.0.0.1:99999").ok());
  CHECK_FALSE(parse_listen("::1:8470").ok());
  CHECK_FALSE(parse_listen(":8470").ok());
  CHECK(is_loopback_host("127.0.0.1"));
  CHECK(is_loopback_host("localhost"));
  CHECK_FALSE(is_loopback_host("0.0.0.0"));
}

TEST_CASE("a listen address that is not loopback needs allow_remote") {
  TempDir dir;
  StatusServer server;
  auto st = server.start("0.0.0.0:0", dir.db(), AgentInfo{});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("allow_remote") != std::string::npos);
}

TEST_CASE("a port in use is an error from start") {
  Served first;
  StatusServer second;
  auto st = second.start(first.server.address(), first.dir.db(), AgentInfo{});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("cannot listen") != std::string::npos);
}

TEST_CASE("the API answers JSON from the state database") {
  Served s(true, [] {
    LiveInfo live;
    live.running = {"R-A"};
    live.last_heartbeat_at = "2026-01-02T03:05:00+08:00";
    return live;
  });
  auto res = s.client->Get("/api/v1/status");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").find("application/json") == 0);
  CHECK(res->get_header_value("Cache-Control") == "no-store");
  const json doc = json::parse(res->body);
  CHECK(doc["agent"]["node"] == "N-TEST");
  CHECK(doc["agent"]["last_heartbeat_at"] == "2026-01-02T03:05:00+08:00");
  CHECK(doc["resources"].size() == 2);
  CHECK(doc["resources"][0]["health"] == "syncing");  // R-A is running
  CHECK(doc["resources"][1]["health"] == "blocked");

  res = s.client->Get("/api/v1/resources");
  REQUIRE(res);
  CHECK(json::parse(res->body)["resources"].size() == 2);

  res = s.client->Get("/api/v1/resources/R-B/batches?limit=1");
  REQUIRE(res);
  CHECK(res->status == 200);
  const json batches = json::parse(res->body);
  CHECK(batches["resource_id"] == "R-B");
  REQUIRE(batches["batches"].size() == 1);
  CHECK(batches["batches"][0]["state"] == "rejected");

  res = s.client->Get("/api/v1/resources/R-NONE/batches");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)["error"]["code"] == "NOT_FOUND");

  for (const char* bad : {"0", "1001", "x", "-1"}) {
    res = s.client->Get(std::string("/api/v1/events?limit=") + bad);
    REQUIRE(res);
    CHECK(res->status == 400);
  }
  res = s.client->Get("/api/v1/events?limit=2");
  REQUIRE(res);
  CHECK(json::parse(res->body)["events"].size() == 2);

  res = s.client->Get("/no/such/page");
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(json::parse(res->body)["error"]["code"] == "NOT_FOUND");
}

TEST_CASE("read-only: other methods are 405; HEAD works") {
  Served s;
  auto post = s.client->Post("/api/v1/status", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 405);
  CHECK(post->get_header_value("Allow") == "GET, HEAD");
  auto del = s.client->Delete("/api/v1/resources/R-A/batches");
  REQUIRE(del);
  CHECK(del->status == 405);
  auto put = s.client->Put("/metrics", "", "text/plain");
  REQUIRE(put);
  CHECK(put->status == 405);
  auto head = s.client->Head("/metrics");
  REQUIRE(head);
  CHECK(head->status == 200);
}

TEST_CASE("a request naming another host is refused (DNS rebinding)") {
  Served s;
  auto res = s.client->Get("/api/v1/status", {{"Host", "attacker.example:8470"}});
  REQUIRE(res);
  CHECK(res->status == 403);
  res = s.client->Get("/api/v1/status", {{"Host", "localhost:8470"}});
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("metrics: text format; the page: nonce'd CSP and the first status embedded safely") {
  Served s;
  auto res = s.client->Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(res->body.find("fep_rows_applied_total{resource=\"R-A\"} 120\n") != std::string::npos);

  res = s.client->Get("/");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/html; charset=utf-8");
  const std::string csp = res->get_header_value("Content-Security-Policy");
  const auto at = csp.find("'nonce-");
  REQUIRE(at != std::string::npos);
  const std::string nonce = csp.substr(at + 7, csp.find('\'', at + 7) - at - 7);
  CHECK(res->body.find("<script nonce=\"" + nonce + "\">") != std::string::npos);
  CHECK(res->body.find("<style nonce=\"" + nonce + "\">") != std::string::npos);
  CHECK(res->body.find("企业登记信息") != std::string::npos);
  CHECK(res->body.find("a \\u003c/script> in a message") != std::string::npos);
  CHECK(res->body.find("a </script> in") == std::string::npos);
  CHECK(res->body.find("@INITIAL@") == std::string::npos);
  CHECK(res->body.find("@NONCE@") == std::string::npos);
  CHECK(res->body.find("http://") == res->body.find("http://www.w3.org/2000/svg"));  // no CDN
}

TEST_CASE("without a state database: 503 from the API, metrics say the database is down") {
  Served s(false);
  auto res = s.client->Get("/api/v1/status");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(json::parse(res->body)["state_database"]["ok"] == false);
  res = s.client->Get("/api/v1/resources");
  REQUIRE(res);
  CHECK(res->status == 503);
  res = s.client->Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.find("fep_state_database_up 0\n") != std::string::npos);
  res = s.client->Get("/");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_FALSE(std::filesystem::exists(s.dir.db()));
}

TEST_CASE("stop() right after start() returns, and the port is free again") {
  TempDir dir;
  std::string address;
  {
    StatusServer server;
    REQUIRE(server.start("127.0.0.1:0", dir.db(), AgentInfo{}).ok());
    address = server.address();
    server.stop();
    server.stop();  // twice is fine
  }
  StatusServer again;
  CHECK(again.start(address, dir.db(), AgentInfo{}).ok());
}
