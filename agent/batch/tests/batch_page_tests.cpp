#include <doctest/doctest.h>

#include <string>

#include "agent/batch/manifest.h"

using namespace fep;

TEST_CASE("batch listing page") {
  std::string body = R"({"resource_id": "R-1", "more": true, "batches": [
      {"batch_id": "B-1", "seq": 3, "mode": "full", "created_at": "2026-11-20T02:00:00+08:00"},
      {"batch_id": "B-2", "seq": 7, "mode": "incremental", "created_at": "2026-11-21T02:00:00Z",
       "extra": 1}]})";
  auto p = parse_batch_page(body, "R-1");
  REQUIRE(p.ok());
  CHECK(p->more);
  REQUIRE(p->batches.size() == 2);
  CHECK(p->batches[1].batch_id == "B-2");
  CHECK(p->batches[1].seq == 7);
  CHECK(p->batches[1].mode == BatchMode::incremental);
  CHECK(p->batches[0].created_at == "2026-11-20T02:00:00+08:00");

  auto empty = parse_batch_page(R"({"resource_id": "R-1", "batches": [], "more": false})", "R-1");
  REQUIRE(empty.ok());
  CHECK(empty->batches.empty());
  CHECK_FALSE(empty->more);

  auto err = [](const std::string& batches, const std::string& extra = "") {
    auto r =
        parse_batch_page(R"({"resource_id": "R-1", "batches": )" + batches + extra + "}", "R-1");
    return r ? std::string() : r.error().message;
  };
  const std::string ok = R"("mode": "full", "created_at": "t")";
  CHECK(err("[]", R"(, "more": "no")") == "batch listing: more: must be true or false");
  CHECK(err("{}") == "batch listing: batches: must be an array");
  CHECK(err("[1]") == "batch listing: batches[0]: must be an object");
  CHECK(err(R"([{"batch_id": "B 1", "seq": 1, )" + ok + "}]")
            .starts_with("batch listing: batches[0].batch_id: \"B 1\" is not a valid id"));
  CHECK(err(R"([{"seq": 1, )" + ok + "}]") == "batch listing: batches[0].batch_id: missing");
  CHECK(err(R"([{"batch_id": "B", "seq": 0, )" + ok + "}]") ==
        "batch listing: batches[0].seq: must be positive");
  CHECK(err(R"([{"batch_id": "B", "seq": "1", )" + ok + "}]") ==
        "batch listing: batches[0].seq: must be an integer");
  CHECK(err(R"([{"batch_id": "A", "seq": 5, )" + ok + R"(}, {"batch_id": "B", "seq": 5, )" + ok +
            "}]") == "batch listing: batches[1].seq: 5 is not greater than the previous (5)");
  CHECK(err(R"([{"batch_id": "B", "seq": 1, "mode": "x", "created_at": "t"}])")
            .starts_with("batch listing: batches[0].mode: unknown value \"x\""));
  CHECK(err(R"([{"batch_id": "B", "seq": 1, "mode": "full"}])") ==
        "batch listing: batches[0].created_at: missing");

  auto wrong = parse_batch_page(R"({"resource_id": "R-2", "batches": []})", "R-1");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.starts_with("batch listing: resource_id: \"R-2\""));
  auto bad = parse_batch_page("nope", "R-1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.starts_with("batch listing: not valid JSON"));
}

TEST_CASE("to_string of kinds and modes") {
  CHECK(to_string(ResourceKind::table) == "table");
  CHECK(to_string(ResourceKind::folder) == "folder");
  CHECK(to_string(BatchMode::full) == "full");
  CHECK(to_string(BatchMode::incremental) == "incremental");
}
