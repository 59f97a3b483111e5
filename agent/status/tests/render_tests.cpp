#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "agent/status/render.h"
#include "agent/status/state_reader.h"
#include "agent/status/tests/fixture.h"

using namespace fep;
using namespace fep::status;
using namespace fep::status::testing;
using nlohmann::json;

namespace {

Snapshot read(const TempDir& dir) {
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto s = reader->snapshot(local_date(std::chrono::system_clock::now(), kChartDays - 1), 20);
  REQUIRE(s.ok());
  return std::move(*s);
}

AgentInfo agent() {
  return AgentInfo{"0.1.0", "2026-01-02T03:04:05+08:00", "N-410404-001", {}};
}

const json* find(const json& list, const std::string& id) {
  for (const auto& r : list)
    if (r["resource_id"] == id) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("RFC 3339 time stamps parse with offsets, Z and fractions; others do not") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2026-11-20T02:03:11+08:00") == 1795111391);
  CHECK(parse_rfc3339("2026-11-19T18:03:11Z") == parse_rfc3339("2026-11-20T02:03:11+08:00"));
  CHECK(parse_rfc3339("2026-11-19T18:03:11.250Z") == parse_rfc3339("2026-11-19T18:03:11Z"));
  CHECK(parse_rfc3339("2026-11-19T13:03:11-05:00") == parse_rfc3339("2026-11-19T18:03:11Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-19 18:03"));
  CHECK_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-19T18:03:11"));
  CHECK_FALSE(parse_rfc3339("2026-11-19T18:03:11+0800"));
  CHECK_FALSE(parse_rfc3339(""));
}

TEST_CASE("local dates count back across month ends") {
  using namespace std::chrono;
  const auto now = system_clock::now();
  CHECK(local_date(now).size() == 10);
  CHECK(local_date(now, 0) == rfc3339(now).substr(0, 10));
  CHECK(local_date(now, 1) < local_date(now, 0));
  CHECK(local_date(now, 31) < local_date(now, 30));
}

TEST_CASE("status JSON: health, the operator's action, counts, receipts and rows per day") {
  TempDir dir;
  populate(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  const LiveInfo live;
  const auto now = std::chrono::system_clock::now();
  const json doc = json::parse(status_json(View{snapshot, info, live, now, dir.path.string()}));

  CHECK(doc["agent"]["version"] == "0.1.0");
  CHECK(doc["agent"]["node"] == "N-410404-001");
  CHECK(doc["agent"]["uptime_seconds"].get<int64_t>() > 0);
  CHECK(doc["state_database"]["ok"] == true);
  CHECK(doc["state_database"]["schema_version"] == 1);

  const json* a = find(doc["resources"], "R-A");
  const json* b = find(doc["resources"], "R-B");
  REQUIRE(a);
  REQUIRE(b);
  CHECK((*a)["name"] == "企业登记信息");
  CHECK((*a)["health"] == "ok");
  CHECK((*a)["action"].is_null());
  CHECK((*a)["last_seq"] == 2);
  CHECK((*a)["rows_last_batch"] == 20);
  CHECK((*a)["rows_applied_total"] == 120);
  CHECK((*a)["batches"]["applied"] == 2);

  CHECK((*b)["state"] == "blocked");
  CHECK((*b)["health"] == "blocked");
  CHECK((*b)["action"]["code"] == "unblock");
  CHECK((*b)["action"]["command"] == "fep-agent unblock R-B");
  CHECK((*b)["action"]["rejected_dir"] == dir.path.string() + "/rejected/");
  CHECK((*b)["last_rejected"]["batch_id"] == "B-2");
  CHECK((*b)["last_rejected"]["error_code"] == "PAYLOAD_INVALID");
  CHECK((*b)["batches"]["rejected"] == 1);
  CHECK((*b)["rows_applied_total"] == 7);

  CHECK(doc["summary"]["resources"] == 2);
  CHECK(doc["summary"]["ok"] == 1);
  CHECK(doc["summary"]["blocked"] == 1);
  CHECK(doc["summary"]["receipts_pending"] == 1);  // B-2's rejected receipt
  CHECK(doc["summary"]["receipts_refused"] == 1);
  std::set<std::string> states;
  for (const auto& r : doc["receipts"]) states.insert(r["state"].get<std::string>());
  CHECK(states == std::set<std::string>{"pending", "refused"});

  REQUIRE(doc["rows_per_day"].size() == kChartDays);
  const json& today = doc["rows_per_day"].back();
  CHECK(today["date"] == local_date(now));
  CHECK(today["rows"] == 127);
  CHECK(today["batches"] == 3);
  CHECK(doc["rows_per_day"].front()["rows"] == 0);
  CHECK(doc["events"].size() >= 5);
  CHECK(doc["events"][0]["message"] == "a </script> in a message");  // newest first
}

TEST_CASE("configured resources come in configuration order; one not in the database is unknown") {
  TempDir dir;
  populate(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  LiveInfo live;
  live.configured = std::vector<std::string>{"R-B", "R-NEW"};
  live.running = {"R-B"};
  live.next_run_at = {{"R-NEW", "2026-01-02T04:00:00+08:00"}};
  live.last_heartbeat_at = "2026-01-02T03:05:00+08:00";
  const json doc =
      json::parse(resources_json(View{snapshot, info, live, std::chrono::system_clock::now(), ""}));
  REQUIRE(doc["resources"].size() == 2);
  CHECK(doc["resources"][0]["resource_id"] == "R-B");
  CHECK(doc["resources"][0]["running"] == true);
  CHECK(doc["resources"][0]["health"] == "blocked");  // blocked wins over running
  const json& fresh = doc["resources"][1];
  CHECK(fresh["resource_id"] == "R-NEW");
  CHECK(fresh["state"] == "unknown");
  CHECK(fresh["health"] == "unknown");
  CHECK(fresh["action"]["command"] == "fep-agent sync --now R-NEW");
  CHECK(fresh["next_run_at"] == "2026-01-02T04:00:00+08:00");
}

TEST_CASE("health and actions follow the resource's state and subscription") {
  ResourceEntry r;
  r.row.subscription.resource_id = "R-X";
  r.row.subscription.status = "approved";
  r.row.state = "idle";
  CHECK(health_of(r, false) == "ok");
  CHECK(health_of(r, true) == "syncing");
  CHECK_FALSE(action_for(r));
  r.row.state = "syncing";
  CHECK(health_of(r, false) == "syncing");
  r.row.state = "paused";
  CHECK(health_of(r, false) == "attention");
  CHECK(action_for(r)->code == "check_target");
  r.row.state = "error";
  CHECK(action_for(r)->code == "see_error");
  r.row.subscription.status = "pending";
  CHECK(action_for(r)->code == "approve_subscription");
  r.row.state = "blocked";
  CHECK(health_of(r, true) == "blocked");
  CHECK(action_for(r)->command == "fep-agent unblock R-X");
}

TEST_CASE("metrics: Prometheus text format with the expected families and escaped labels") {
  TempDir dir;
  populate(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  LiveInfo live;
  live.last_heartbeat_at = "1970-01-01T00:01:40Z";
  const std::string text =
      metrics_text(View{snapshot, info, live, std::chrono::system_clock::now(), ""});

  CHECK(text.find("fep_up 1\n") != std::string::npos);
  CHECK(text.find("fep_info{version=\"0.1.0\",node=\"N-410404-001\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_start_time_seconds 1767294245\n") != std::string::npos);
  CHECK(text.find("fep_last_heartbeat_timestamp_seconds 100\n") != std::string::npos);
  CHECK(text.find("fep_state_database_up 1\n") != std::string::npos);
  CHECK(text.find("fep_batches_total{resource=\"R-A\",status=\"applied\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("fep_batches_total{resource=\"R-A\",status=\"rejected\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("fep_batches_total{resource=\"R-B\",status=\"rejected\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("fep_rows_applied_total{resource=\"R-A\"} 120\n") != std::string::npos);
  CHECK(text.find("fep_rows_applied_total{resource=\"R-B\"} 7\n") != std::string::npos);
  CHECK(text.find("fep_resource_state{resource=\"R-B\",state=\"blocked\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("fep_resource_state{resource=\"R-B\",state=\"idle\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_resource_last_seq{resource=\"R-A\"} 2\n") != std::string::npos);
  CHECK(text.find("fep_receipts_pending 1\n") != std::string::npos);
  CHECK(text.find("fep_receipts_refused 1\n") != std::string::npos);
  CHECK(text.find("name=\"不动产登记 \\\"quoted\\\" \\\\ x\"") != std::string::npos);
  CHECK(text.find("fep_resource_next_run_timestamp_seconds") == std::string::npos);

  // Every sample belongs to a family declared just before with HELP and TYPE, once each.
  const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9]+$)");
  std::set<std::string> declared;
  std::string current;
  std::istringstream lines(text);
  int samples = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      CHECK(declared.insert(current).second);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(line.substr(7, current.size()) == current);
      const std::string type = line.substr(8 + current.size());
      CHECK((type == "gauge" || type == "counter"));
      if (type == "counter") CHECK(current.size() > 6);
      if (type == "counter") CHECK(current.substr(current.size() - 6) == "_total");
      continue;
    }
    std::smatch m;
    INFO(line);
    REQUIRE(std::regex_match(line, m, sample));
    CHECK(m[1].str() == current);
    ++samples;
  }
  CHECK(samples > 20);
  CHECK(text.back() == '\n');

  // The last success time is the applied batch's outcome time.
  const auto ts = parse_rfc3339(*snapshot.resources[0].row.last_applied_at);
  REQUIRE(ts);
  CHECK(text.find("fep_resource_last_success_timestamp_seconds{resource=\"R-A\"} " +
                  std::to_string(*ts) + "\n") != std::string::npos);
}

TEST_CASE("metrics without a readable database still answer: up, info, database down") {
  Snapshot empty;
  const AgentInfo info = agent();
  const LiveInfo live;
  const std::string text =
      metrics_text(View{empty, info, live, std::chrono::system_clock::now(), ""}, false);
  CHECK(text.find("fep_up 1\n") != std::string::npos);
  CHECK(text.find("fep_state_database_up 0\n") != std::string::npos);
  CHECK(text.find("fep_batches_total") == std::string::npos);

  const json doc = json::parse(status_json(
      View{empty, info, live, std::chrono::system_clock::now(), ""}, std::string("cannot open")));
  CHECK(doc["state_database"]["ok"] == false);
  CHECK(doc["state_database"]["error"] == "cannot open");
  CHECK(doc["resources"].empty());
}
