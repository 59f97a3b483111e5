#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <ctime>
#include <filesystem>
#include <sstream>

#include "adapters/base/clock.h"
#include "agent/app/audit_command.h"
#include "agent/store/state_store.h"

using namespace fep;
using namespace fep::app;

namespace {

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("fep-audit-cmd-" + new_uuid());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path db() const { return path / "state.db"; }
};

void populate(const TempDir& dir) {
  auto store = store::StateStore::open(dir.db());
  REQUIRE(store.ok());
  REQUIRE(
      store->audit({"batch.verified", "agent", "R-1", "B-1", R"({"note":"a, \"b\"\nc"})"}).ok());
  REQUIRE(store->audit({"config.reload", "operator:root", std::nullopt, "", "{}"}).ok());
}

}  // namespace

TEST_CASE("export times are dates or RFC 3339 times") {
  CHECK(parse_audit_time("2026-11-20T02:03:11Z", false) == 1795140191);
  CHECK(parse_audit_time("2026-11-20T10:03:11+08:00", false) == 1795140191);
  CHECK(parse_audit_time("2026-11-19t21:03:11.250-05:00", false) == 1795140191);
  CHECK(parse_audit_time("2026-11-20 02:03:11z", false) == 1795140191);
  std::tm local{};
  local.tm_year = 126;
  local.tm_mon = 10;
  local.tm_mday = 20;
  local.tm_isdst = -1;
  CHECK(parse_audit_time("2026-11-20", true) == static_cast<int64_t>(std::mktime(&local)));
  for (const char* bad : {"2026-11-20", "2026-11-20T02:03:11", "2026-13-01T00:00:00Z",
                          "2026-02-30T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T02:03:11+8",
                          "2026-11-20T02:03:11+08:00x", "20261120", "yesterday", ""})
    CHECK_FALSE(parse_audit_time(bad, false));
  CHECK_FALSE(parse_audit_time("2026-02-30", true));
}

TEST_CASE("CSV records quote what needs quoting and keep NULL apart from empty") {
  store::AuditEntry e{7,
                      "2026-11-20T02:03:11+08:00",
                      "agent",
                      "batch.rejected",
                      "R-1",
                      std::nullopt,
                      R"({"error":{"message":"line 3: \"x\", y"}})",
                      "sm3",
                      "ab",
                      "cd"};
  CHECK(audit_csv(e) ==
        "7,2026-11-20T02:03:11+08:00,agent,batch.rejected,R-1,,"
        "\"{\"\"error\"\":{\"\"message\"\":\"\"line 3: \\\"\"x\\\"\", y\"\"}}\",sm3,ab,cd\r\n");
  e.batch_id = "";
  e.detail = "a\r\nb";
  CHECK(audit_csv(e) ==
        "7,2026-11-20T02:03:11+08:00,agent,batch.rejected,R-1,\"\",\"a\r\nb\",sm3,ab,cd\r\n");
}

TEST_CASE("JSON lines carry every field, detail as the hashed text") {
  store::AuditEntry e{1,
                      "2026-11-20T02:03:11+08:00",
                      "agent",
                      "config.reload",
                      std::nullopt,
                      "B-1",
                      R"({"a":1})",
                      "sm3",
                      "00",
                      "ff"};
  const std::string line = audit_jsonl(e);
  CHECK(line.back() == '\n');
  auto j = nlohmann::json::parse(line);
  CHECK(j["id"] == 1);
  CHECK(j["resource_id"].is_null());
  CHECK(j["batch_id"] == "B-1");
  CHECK(j["detail"] == R"({"a":1})");
  CHECK(j["hash"] == "ff");
}

TEST_CASE("verify and export read the state database") {
  TempDir dir;
  std::ostringstream out, err;
  SUBCASE("missing") {
    CHECK(run_audit_verify(dir.db(), "", out, err) == 1);
    CHECK(err.str().find("no state database") != std::string::npos);
  }
  SUBCASE("intact, then edited") {
    populate(dir);
    CHECK(run_audit_verify(dir.db(), "", out, err) == 0);
    CHECK(out.str().find("2 entries, chain intact; head 2:") == 0);
    const std::string head = out.str().substr(out.str().find("head ") + 5, 66);
    std::ostringstream again;
    CHECK(run_audit_verify(dir.db(), head, again, err) == 0);
    CHECK(again.str().find("anchor 2 found") != std::string::npos);
    CHECK(run_audit_verify(dir.db(), "2:nothex", again, err) == 1);
    {
      auto db = store::Database::open(dir.db());
      REQUIRE(db->run("UPDATE audit_log SET actor = 'agent' WHERE id = 2", {}).ok());
    }
    std::ostringstream broken;
    CHECK(run_audit_verify(dir.db(), "", broken, err) == 2);
    CHECK(broken.str().find("audit log broken: entry 2: edited") == 0);
  }
  SUBCASE("export") {
    populate(dir);
    CHECK(run_audit_export(dir.db(), "", "csv", out, err) == 0);
    CHECK(out.str().find(std::string(kAuditCsvHeader)) == 0);
    std::ostringstream jsonl;
    CHECK(run_audit_export(dir.db(), "2000-01-01", "jsonl", jsonl, err) == 0);
    std::istringstream lines(jsonl.str());
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line);
      CHECK(j["id"] == ++count);
    }
    CHECK(count == 2);
    std::ostringstream none;
    CHECK(run_audit_export(dir.db(), "2999-01-01T00:00:00Z", "jsonl", none, err) == 0);
    CHECK(none.str().empty());
    CHECK(run_audit_export(dir.db(), "last week", "jsonl", none, err) == 1);
    CHECK(err.str().find("--since last week") != std::string::npos);
  }
}
