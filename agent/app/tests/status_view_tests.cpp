#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "agent/app/status_view.h"

using namespace fep;
using namespace fep::app;

TEST_CASE("display width counts CJK characters as two columns") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("企业登记信息") == 12);
  CHECK(display_width("R-1 企业") == 8);
}

TEST_CASE("the status table aligns Chinese names and lists refused receipts") {
  StatusView view;
  ResourceStatus a;
  a.row.subscription = {"R-SCJG-0001",    "企业登记信息",  "table",
                        "市场监督管理局", "unconditional", "approved"};
  a.row.last_seq = 12;
  a.row.rows = 100000;
  ResourceStatus b;
  b.row.subscription = {"R-2", "abc", "table", "", "", "pending"};
  b.row.state = "paused";
  view.resources = {a, b};
  store::OutboxEntry refused;
  refused.batch_id = "B-9";
  refused.resource_id = "R-2";
  refused.last_error = "HTTP 409";
  view.refused_receipts = {refused};
  auto text = status_table(view);
  auto first = text.find("R-SCJG-0001");
  auto second = text.find("R-2 ");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  // The SUBSCRIPTION column starts at the same display column on both rows.
  auto line_a = text.substr(first, text.find('\n', first) - first);
  auto line_b = text.substr(second, text.find('\n', second) - second);
  CHECK(display_width(line_a.substr(0, line_a.find("approved"))) ==
        display_width(line_b.substr(0, line_b.find("pending"))));
  CHECK(text.find("refused by the exchange: HTTP 409") != std::string::npos);
  CHECK(text.find("\x1b[") == std::string::npos);  // no colours unless asked
  auto json = status_json(view);
  CHECK(json.find("\"last_seq\": 12") != std::string::npos);
}

TEST_CASE("a blocked resource shows its batch, lag, receipts and the commands to run") {
  StatusView view;
  ResourceStatus r;
  r.row.subscription = {"R-1", "企业", "table", "", "", "approved"};
  r.row.state = "blocked";
  r.backlog.waiting_batches = 2;
  r.backlog.pending_receipts = 1;
  r.lag_seconds = 7260;
  r.blocking = store::HeldBatch{"B-7", 7, "failed", "SCHEMA_MISMATCH", "column name changed"};
  view.resources = {r};
  auto text = status_table(view);
  CHECK(text.find("2h01m") != std::string::npos);
  CHECK(text.find("1 pending") != std::string::npos);
  CHECK(text.find("fep-agent retry R-1") != std::string::npos);
  CHECK(text.find("fep-agent skip R-1 --batch B-7 --reason") != std::string::npos);
  CHECK(text.find("fep-agent resync R-1") != std::string::npos);

  auto doc = nlohmann::json::parse(status_json(view));
  CHECK(doc["resources"][0]["lag_seconds"] == 7260);
  CHECK(doc["resources"][0]["pending_receipts"] == 1);
  CHECK(doc["resources"][0]["blocking_batch"]["batch_id"] == "B-7");

  // A rejected batch's receipt is sent: no retry is offered.
  view.resources[0].blocking->state = "rejected";
  text = status_table(view);
  CHECK(text.find("fep-agent retry") == std::string::npos);
  CHECK(text.find("fep-agent skip R-1 --batch B-7") != std::string::npos);
}

TEST_CASE("colours mark the state word only, so that columns stay aligned") {
  auto text =
      text_table({"A", "STATE", "B"}, {{"x", "blocked", "1"}, {"yy", "idle", "2"}}, 1, true);
  CHECK(text.find("\x1b[31mblocked\x1b[0m") != std::string::npos);
  CHECK(text.find("\x1b[32midle\x1b[0m     2") != std::string::npos);
  CHECK(short_duration(95) == "1m35s");
  CHECK(short_duration(200000) == "2d07h");
  CHECK(short_bytes(1536) == "1.5 KiB");
  CHECK(short_bytes(12) == "12 B");
}
