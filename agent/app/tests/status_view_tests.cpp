#include <doctest/doctest.h>

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
  store::ResourceRow a;
  a.subscription = {"R-SCJG-0001",    "企业登记信息",  "table",
                    "市场监督管理局", "unconditional", "approved"};
  a.last_seq = 12;
  a.rows = 100000;
  store::ResourceRow b;
  b.subscription = {"R-2", "abc", "table", "", "", "pending"};
  b.state = "paused";
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
  auto json = status_json(view);
  CHECK(json.find("\"last_seq\": 12") != std::string::npos);
}
