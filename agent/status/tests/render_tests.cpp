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
  CHECK(doc["state_database"]["schema_version"] == store::StateStore::kSchemaVersion);

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
  CHECK((*b)["action"]["code"] == "skip");
  CHECK((*b)["action"]["command"] == "fep-agent skip R-B --batch B-2 --reason \"...\"");
  CHECK((*b)["action"]["batch_id"] == "B-2");
  REQUIRE((*b)["action"]["commands"].size() == 2);
  CHECK((*b)["action"]["commands"][0]["code"] == "skip");
  CHECK((*b)["action"]["commands"][1] ==
        json{{"code", "resync"}, {"command", "fep-agent resync R-B"}});
  CHECK((*b)["action"]["rejected_dir"] == dir.path.string() + "/rejected/");
  CHECK((*b)["held_batch"].is_null());
  CHECK((*b)["pending_receipts"] == 1);  // B-2's rejected receipt
  CHECK((*b)["refused_receipts"] == 0);
  CHECK((*a)["pending_receipts"] == 0);
  CHECK((*a)["refused_receipts"] == 1);
  CHECK((*a)["lag_seconds"] == 0);  // nothing waits
  CHECK((*a)["waiting_batches"] == 0);
  CHECK((*a)["newest_listed_seq"] == 2);
  CHECK((*a)["resync_requested"] == false);
  CHECK((*a)["progress"].is_null());
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
  CHECK(fresh["lag_seconds"].is_null());
  CHECK(fresh["waiting_batches"] == 0);
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
  // Blocked, and neither the held nor the rejected batch is in the database.
  CHECK(action_for(r)->code == "unblock");
  CHECK(action_for(r)->command == "fep-agent unblock R-X");

  BatchEntry rejected;
  rejected.batch_id = "X-1";
  rejected.state = "rejected";
  r.last_rejected = rejected;
  auto skip = action_for(r);
  REQUIRE(skip);
  CHECK(skip->code == "skip");
  CHECK(skip->batch_id == "X-1");
  REQUIRE(skip->commands.size() == 2);
  CHECK(skip->commands[0].command == "fep-agent skip R-X --batch X-1 --reason \"...\"");
  CHECK(skip->commands[1].command == "fep-agent resync R-X");
  CHECK(skip->command == skip->commands[0].command);

  BatchEntry held;
  held.batch_id = "X-2";
  held.state = "failed";
  r.held = held;  // a held batch comes first: the rejected one was let go before
  auto retry = action_for(r);
  REQUIRE(retry);
  CHECK(retry->code == "retry");
  CHECK(retry->batch_id == "X-2");
  REQUIRE(retry->commands.size() == 3);
  CHECK(retry->commands[0].code == "retry");
  CHECK(retry->commands[0].command == "fep-agent retry R-X");
  CHECK(retry->commands[1].code == "skip");
  CHECK(retry->commands[1].command == "fep-agent skip R-X --batch X-2 --reason \"...\"");
  CHECK(retry->commands[2].code == "resync");
  CHECK(retry->command == "fep-agent retry R-X");

  // Waiting for the next full batch after `fep-agent resync`: attention, nothing to run.
  r.held.reset();
  r.row.subscription.status = "approved";
  r.row.state = "idle";
  r.backlog.resync_requested = true;
  CHECK(health_of(r, false) == "attention");
  CHECK(health_of(r, true) == "syncing");
  CHECK(action_for(r)->code == "resync_wait");
  CHECK(action_for(r)->command.empty());
  CHECK(action_for(r)->commands.empty());
  r.row.state = "paused";  // as the sync leaves it while no full batch is listed
  CHECK(action_for(r)->code == "resync_wait");
}

TEST_CASE("lag: now minus the publication of the oldest batch waiting; 0 when none waits") {
  using namespace std::chrono;
  const auto now = system_clock::from_time_t(1795111391);  // 2026-11-20T02:03:11+08:00
  ResourceEntry r;
  r.row.state = "idle";
  CHECK(lag_seconds(r, now) == 0);
  r.backlog.waiting_batches = 2;
  CHECK_FALSE(lag_seconds(r, now));  // waiting, but no publication time known
  r.backlog.oldest_waiting_at = "2026-11-20T00:03:11+08:00";
  CHECK(lag_seconds(r, now) == 7200);
  r.backlog.oldest_waiting_at = "2026-11-19T16:03:11Z";
  CHECK(lag_seconds(r, now) == 7200);
  r.backlog.oldest_waiting_at = "2026-11-20T03:00:00+08:00";  // a clock ahead of ours
  CHECK(lag_seconds(r, now) == 0);
  r.backlog.oldest_waiting_at = "yesterday";
  CHECK_FALSE(lag_seconds(r, now));
  r.known = false;
  CHECK_FALSE(lag_seconds(r, now));
}

TEST_CASE("progress figures: rate and time left once a second has passed and work is done") {
  using namespace std::chrono;
  const auto now = steady_clock::now();
  BatchProgress p;
  p.resource_id = "R-A";
  p.phase = "downloading";
  p.bytes_total = 1000;
  p.phase_started = now - milliseconds(500);
  p.bytes_done = 100;
  auto f = progress_figures(p, now);
  CHECK(f.elapsed_seconds == doctest::Approx(0.5));
  CHECK_FALSE(f.rate_per_second);  // under a second: no rate yet
  CHECK_FALSE(f.eta_seconds);

  p.phase_started = now - seconds(10);
  p.bytes_done = 250;
  f = progress_figures(p, now);
  REQUIRE(f.rate_per_second);
  CHECK(*f.rate_per_second == doctest::Approx(25.0));
  CHECK(f.eta_seconds == 30);

  p.phase = "applying";  // items now; the total is not known
  p.items_done = 0;
  f = progress_figures(p, now);
  CHECK_FALSE(f.rate_per_second);
  p.items_done = 5000;
  f = progress_figures(p, now);
  CHECK(*f.rate_per_second == doctest::Approx(500.0));
  CHECK_FALSE(f.eta_seconds);
  p.items_total = 6000;
  CHECK(progress_figures(p, now).eta_seconds == 2);

  p.phase_started = {};  // never begun
  f = progress_figures(p, now);
  CHECK(f.elapsed_seconds == 0);
  CHECK_FALSE(f.rate_per_second);
}

TEST_CASE("status JSON: a held batch, the backlog, a resync request and the progress") {
  TempDir dir;
  populate(dir.db());
  populate_backlog(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  LiveInfo live;
  const auto steady = std::chrono::steady_clock::now();
  BatchProgress p;
  p.resource_id = "R-A";
  p.batch_id = "A-3";
  p.seq = 3;
  p.phase = "applying";
  p.bytes_done = p.bytes_total = 1 << 20;
  p.items_done = 3000;
  p.items_total = 12000;
  p.phase_started = steady - std::chrono::seconds(6);
  live.progress = {p};
  live.running = {"R-A"};
  View view{snapshot, info, live, std::chrono::system_clock::now(), dir.path.string()};
  view.steady_now = steady;
  const json doc = json::parse(status_json(view));

  const json* c = find(doc["resources"], "R-C");
  REQUIRE(c);
  CHECK((*c)["state"] == "blocked");
  CHECK((*c)["health"] == "blocked");
  const json& held = (*c)["held_batch"];
  CHECK(held["batch_id"] == "C-2");
  CHECK(held["seq"] == 2);
  CHECK(held["state"] == "failed");
  CHECK(held["error_code"] == "SCHEMA_MISMATCH");
  CHECK(held["error_message"] == "table people: column name changes from varchar(50) to bigint");
  CHECK(held["payload_bytes"] == 2048);
  CHECK(held["receipt_state"].is_null());  // held: no receipt
  CHECK((*c)["action"]["code"] == "retry");
  CHECK((*c)["action"]["command"] == "fep-agent retry R-C");
  CHECK((*c)["action"]["batch_id"] == "C-2");
  REQUIRE((*c)["action"]["commands"].size() == 3);
  CHECK((*c)["action"]["commands"][1]["command"] ==
        "fep-agent skip R-C --batch C-2 --reason \"...\"");
  CHECK((*c)["action"]["commands"][2]["command"] == "fep-agent resync R-C");
  CHECK_FALSE((*c)["action"].contains("rejected_dir"));  // a held payload is not rejected
  CHECK((*c)["waiting_batches"] == 2);                   // C-2 held, C-3 behind it
  const int64_t lag = (*c)["lag_seconds"].get<int64_t>();
  CHECK(lag >= 7200);
  CHECK(lag < 7200 + 60);
  CHECK((*c)["newest_listed_seq"] == 3);
  CHECK((*c)["pending_receipts"] == 1);
  CHECK((*c)["resync_requested"] == false);
  CHECK((*c)["bytes_downloaded_total"] == 4096);  // C-2 has no outcome yet

  const json* d = find(doc["resources"], "R-D");
  REQUIRE(d);
  CHECK((*d)["health"] == "attention");
  CHECK((*d)["resync_requested"] == true);
  CHECK((*d)["action"]["code"] == "resync_wait");
  CHECK((*d)["action"]["command"].is_null());
  CHECK((*d)["action"]["commands"].empty());
  CHECK((*d)["waiting_batches"] == 1);
  CHECK((*d)["lag_seconds"].get<int64_t>() >= 1800);
  CHECK((*d)["pending_receipts"] == 0);

  const json* a = find(doc["resources"], "R-A");
  REQUIRE(a);
  const json& pr = (*a)["progress"];
  CHECK(pr["batch_id"] == "A-3");
  CHECK(pr["seq"] == 3);
  CHECK(pr["phase"] == "applying");
  CHECK(pr["bytes_done"] == 1 << 20);
  CHECK(pr["items_done"] == 3000);
  CHECK(pr["items_total"] == 12000);
  CHECK(pr["elapsed_seconds"] == 6);
  CHECK(pr["rate_unit"] == "items");
  CHECK(pr["rate_per_second"].get<double>() == doctest::Approx(500.0));
  CHECK(pr["eta_seconds"] == 18);
  CHECK(parse_rfc3339(pr["phase_started_at"].get<std::string>()));
  CHECK(find(doc["resources"], "R-B")->at("progress").is_null());

  CHECK(doc["summary"]["blocked"] == 2);
  CHECK(doc["summary"]["attention"] == 1);
  CHECK(doc["summary"]["syncing"] == 1);
  CHECK(doc["summary"]["receipts_pending"] == 2);
}

TEST_CASE("batches JSON: size, publication, start, duration and the receipt's state") {
  BatchEntry b;
  b.batch_id = "A-1";
  b.resource_id = "R-A";
  b.seq = 1;
  b.mode = "full";
  b.state = "applied";
  b.rows = 10;
  b.payload_bytes = 4096;
  b.created_at = "2026-11-20T02:00:00+08:00";
  b.started_at = "2026-11-20T02:01:00+08:00";
  b.outcome_at = "2026-11-20T02:01:42+08:00";
  b.receipt_state = "delivered";
  b.receipt_http_status = 201;
  b.updated_at = "2026-11-20T02:01:43+08:00";
  BatchEntry listed;
  listed.batch_id = "A-2";
  listed.state = "listed";
  const json doc = json::parse(batches_json("R-A", {b, listed}));
  CHECK(doc["resource_id"] == "R-A");
  const json& one = doc["batches"][0];
  CHECK(one["resource_id"] == "R-A");
  CHECK(one["payload_bytes"] == 4096);
  CHECK(one["created_at"] == "2026-11-20T02:00:00+08:00");
  CHECK(one["started_at"] == "2026-11-20T02:01:00+08:00");
  CHECK(one["duration_seconds"] == 42);
  CHECK(one["receipt_state"] == "delivered");
  CHECK(one["receipt_http_status"] == 201);
  const json& two = doc["batches"][1];
  for (const char* key : {"payload_bytes", "created_at", "started_at", "outcome_at",
                          "duration_seconds", "receipt_state", "receipt_http_status"})
    CHECK(two[key].is_null());
}

TEST_CASE("metrics: Prometheus text format with the expected families and escaped labels") {
  TempDir dir;
  populate(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  LiveInfo live;
  live.last_heartbeat_at = "1970-01-01T00:01:40Z";
  live.exchange_errors = {{"credentials", 0}, {"transient", 3}};
  const std::string text =
      metrics_text(View{snapshot, info, live, std::chrono::system_clock::now(), ""});

  CHECK(text.find("fep_up 1\n") != std::string::npos);
  CHECK(text.find("# TYPE fep_exchange_request_errors_total counter\n") != std::string::npos);
  CHECK(text.find("fep_exchange_request_errors_total{class=\"transient\"} 3\n") !=
        std::string::npos);
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
  CHECK(text.find("fep_receipts_pending{resource=\"R-A\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_receipts_pending{resource=\"R-B\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_receipts_refused{resource=\"R-A\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_receipts_refused{resource=\"R-B\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_resource_lag_seconds{resource=\"R-A\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_resource_waiting_batches{resource=\"R-B\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_downloaded_bytes_total{resource=\"R-A\"} 0\n") != std::string::npos);
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

TEST_CASE("metrics: lag, waiting batches and receipts per resource, also unconfigured ones") {
  TempDir dir;
  populate(dir.db());
  populate_backlog(dir.db());
  const Snapshot snapshot = read(dir);
  const AgentInfo info = agent();
  LiveInfo live;
  live.configured = std::vector<std::string>{"R-C", "R-D"};
  const std::string text =
      metrics_text(View{snapshot, info, live, std::chrono::system_clock::now(), ""});
  const std::regex lag(R"(fep_resource_lag_seconds\{resource="R-C"\} (\d+)\n)");
  std::smatch m;
  REQUIRE(std::regex_search(text, m, lag));
  CHECK(std::stoll(m[1].str()) >= 7200);
  CHECK(std::stoll(m[1].str()) < 7260);
  CHECK(text.find("fep_resource_waiting_batches{resource=\"R-C\"} 2\n") != std::string::npos);
  CHECK(text.find("fep_resource_waiting_batches{resource=\"R-D\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_downloaded_bytes_total{resource=\"R-C\"} 4096\n") != std::string::npos);
  CHECK(text.find("fep_resource_state{resource=\"R-C\",state=\"blocked\"} 1\n") !=
        std::string::npos);
  // R-A and R-B are not configured: no resource families for them, but their receipts still
  // count, so that sum() is the agent's total.
  CHECK(text.find("fep_resource_lag_seconds{resource=\"R-A\"}") == std::string::npos);
  CHECK(text.find("fep_receipts_pending{resource=\"R-C\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_receipts_pending{resource=\"R-D\"} 0\n") != std::string::npos);
  CHECK(text.find("fep_receipts_pending{resource=\"R-B\"} 1\n") != std::string::npos);
  CHECK(text.find("fep_receipts_refused{resource=\"R-A\"} 1\n") != std::string::npos);
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
