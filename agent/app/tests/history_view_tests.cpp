#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "agent/app/history_view.h"
#include "agent/status/render.h"

using namespace fep;
using namespace fep::app;

TEST_CASE("history shows sizes, durations and receipt states") {
  store::BatchHistoryRow b;
  b.batch_id = "B-2";
  b.resource_id = "R-1";
  b.seq = 2;
  b.mode = "incremental";
  b.state = "applied";
  b.rows = 300;
  b.deleted = 4;
  b.payload_bytes = 2 * 1024 * 1024;
  b.created_at = "2026-11-20T02:00:00+08:00";
  b.started_at = "2026-11-20T02:01:00+08:00";
  b.outcome_at = "2026-11-20T02:01:42+08:00";
  b.receipt_state = "refused";
  b.receipt_http_status = 409;
  auto text = history_table({b}, false);
  CHECK(text.find("2.0 MiB") != std::string::npos);
  CHECK(text.find("42s") != std::string::npos);
  CHECK(text.find("refused (HTTP 409)") != std::string::npos);
  CHECK(text.find("RESOURCE") == std::string::npos);
  CHECK(history_table({b}, true).find("RESOURCE") != std::string::npos);
  auto doc = nlohmann::json::parse(history_json({b}));
  CHECK(doc[0]["duration_seconds"] == 42);
  CHECK(doc[0]["payload_bytes"] == 2 * 1024 * 1024);
  // The same object as the dashboard API's batches.
  CHECK(doc[0] == nlohmann::json::parse(status::batches_json("R-1", {b}))["batches"][0]);
  CHECK(history_table({}, false) == "no batches yet\n");
}

TEST_CASE("resources lists unconfigured subscriptions and configured ones the platform lacks") {
  Config config;
  ResourceConfig r;
  r.id = "R-LOCAL";
  r.target = "db";
  config.resources = {r};
  std::vector<store::Subscription> listed = {
      {"R-OTHER", "不动产", "folder", "自然资源局", "conditional", "pending"}};
  auto lines = subscription_lines(config, listed);
  REQUIRE(lines.size() == 2);
  CHECK(!lines[0].target);
  CHECK(lines[1].subscription.status == "not subscribed");
  auto text = resources_table(lines);
  CHECK(text.find("not configured") != std::string::npos);
  CHECK(text.find("R-LOCAL") != std::string::npos);
  auto doc = nlohmann::json::parse(resources_json(lines));
  CHECK(doc[0]["configured"] == false);
  CHECK(doc[1]["target"] == "db");
}

#include "agent/app/progress_view.h"

TEST_CASE("the progress line shows done, total, rate and ETA") {
  BatchProgress p;
  p.resource_id = "R-1";
  p.seq = 4;
  p.phase = "downloading";
  p.bytes_total = 40 * 1024 * 1024;
  p.bytes_done = 10 * 1024 * 1024;
  auto start = std::chrono::steady_clock::now();
  p.phase_started = start;
  auto line = progress_line(p, start + std::chrono::seconds(2), false);
  CHECK(line == "R-1 seq 4 downloading 10.0 MiB / 40.0 MiB 25% 5.0 MiB/s ETA 6s");
  p.phase = "applying";
  p.items_total = 1000000;
  p.items_done = 250000;
  line = progress_line(p, start + std::chrono::seconds(5), false);
  CHECK(line == "R-1 seq 4 applying 250,000 / 1,000,000 rows 25% 50,000/s ETA 15s");
  p.items_done = 0;
  CHECK(progress_line(p, start, true) == "R-1 seq 4 applying 0 / 1,000,000 files 0%");
}
