#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "agent/batch/manifest.h"

using namespace fep;
using nlohmann::json;

namespace {

const std::string kSha(64, 'a');

json table_manifest() {
  json m = json::parse(R"J({
    "protocol": 1, "batch_id": "B-20261120-0012", "resource_id": "R-SCJG-0001", "seq": 12,
    "kind": "table", "mode": "incremental", "created_at": "2026-11-20T02:00:00+08:00",
    "payload": {"format": "csv", "compression": "gzip", "encoding": "UTF-8", "size": 18231},
    "table": {"name": "ent_registration",
              "columns": [{"name": "id", "type": "bigint", "nullable": false},
                          {"name": "name", "type": "varchar(200)"},
                          {"name": "reg_capital", "type": "decimal(18,2)"},
                          {"name": "established", "type": "date"},
                          {"name": "updated_at", "type": "timestamp"}],
              "primary_key": ["id"]},
    "row_count": 1000, "future_field": {"ignored": true}})J");
  m["payload"]["sha256"] = kSha;
  return m;
}

json folder_manifest() {
  json m = table_manifest();
  m.erase("table");
  m.erase("row_count");
  m["kind"] = "folder";
  m["payload"] = {{"format", "tar"}, {"compression", "zstd"}, {"size", 10}, {"sha256", kSha}};
  m["folder"] = {{"files", 3}, {"bytes", 1234}, {"deletes", {"old/a.pdf", "gone"}}};
  return m;
}

BatchListing listing(BatchMode mode = BatchMode::incremental) {
  return {"B-20261120-0012", 12, mode, "2026-11-20T02:00:00+08:00"};
}

Expected<Manifest, Rejection> parse(const json& m, BatchMode mode = BatchMode::incremental) {
  return parse_manifest(m.dump(), "R-SCJG-0001", listing(mode));
}

// The rejection message, or "" when the manifest was accepted.
std::string error_of(const json& m, BatchMode mode = BatchMode::incremental) {
  auto r = parse(m, mode);
  if (r) return "";
  CHECK(r.error().code == RejectCode::manifest_invalid);
  return r.error().message;
}

}  // namespace

TEST_CASE("manifest: the protocol's example parses") {
  auto r = parse(table_manifest());
  REQUIRE(r.ok());
  const Manifest& m = *r;
  CHECK(m.batch_id == "B-20261120-0012");
  CHECK(m.resource_id == "R-SCJG-0001");
  CHECK(m.seq == 12);
  CHECK(m.kind == ResourceKind::table);
  CHECK(m.mode == BatchMode::incremental);
  CHECK(m.created_at == "2026-11-20T02:00:00+08:00");
  CHECK(m.payload.format == "csv");
  CHECK(m.payload.compression == "gzip");
  CHECK(m.payload.encoding == "UTF-8");
  CHECK(m.payload.size == 18231);
  CHECK(m.payload.sha256 == kSha);
  CHECK_FALSE(m.payload.sm3);
  REQUIRE(m.table);
  CHECK(m.table->name == "ent_registration");
  REQUIRE(m.table->columns.size() == 5);
  CHECK(m.table->columns[0].nullable == false);
  CHECK(m.table->columns[1].nullable == true);
  CHECK(m.table->columns[2].type.kind == sql::ColumnKind::decimal_);
  CHECK(m.table->columns[2].type.precision == 18);
  CHECK(m.table->primary_key == std::vector<std::string>{"id"});
  CHECK(m.row_count == 1000);
  CHECK_FALSE(m.folder);
}

TEST_CASE("manifest: defaults and optional fields") {
  json m = table_manifest();
  m["payload"].erase("encoding");
  m["payload"]["sm3"] = std::string(64, '0');
  m["table"]["columns"][0].erase("nullable");
  auto r = parse(m);
  REQUIRE(r.ok());
  CHECK(r->payload.encoding == "UTF-8");
  CHECK(r->payload.sm3 == std::string(64, '0'));
  CHECK(r->table->columns[0].nullable == false);  // a primary-key column is never null

  m["payload"]["encoding"] = "GB18030";
  CHECK(parse(m)->payload.encoding == "GB18030");

  // A full batch may have no primary key.
  m["mode"] = "full";
  m["table"].erase("primary_key");
  r = parse(m, BatchMode::full);
  REQUIRE(r.ok());
  CHECK(r->table->primary_key.empty());
  m["table"]["primary_key"] = json::array();
  CHECK(parse(m, BatchMode::full).ok());
}

TEST_CASE("manifest: folder manifests") {
  auto r = parse(folder_manifest());
  REQUIRE(r.ok());
  CHECK(r->kind == ResourceKind::folder);
  REQUIRE(r->folder);
  CHECK(r->folder->files == 3);
  CHECK(r->folder->bytes == 1234);
  CHECK(r->folder->deletes == std::vector<std::string>{"old/a.pdf", "gone"});
  CHECK_FALSE(r->table);

  json m = folder_manifest();
  m["folder"]["deletes"] = json::array();  // present but empty
  CHECK(parse(m).ok());
  m["payload"]["format"] = "zip";
  m["payload"]["compression"] = "none";
  CHECK(parse(m).ok());
  m["mode"] = "full";
  m["folder"].erase("deletes");
  CHECK(parse(m, BatchMode::full).ok());
}

TEST_CASE("manifest: malformed JSON is MANIFEST_INVALID, never an exception") {
  auto r = parse_manifest("{\"protocol\": 1,", "R-SCJG-0001", listing());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == RejectCode::manifest_invalid);
  CHECK(r.error().message.starts_with("manifest: not valid JSON"));
  CHECK(error_of(json::array()) == "manifest: not a JSON object");
}

TEST_CASE("manifest: top-level field rejections") {
  struct Case {
    const char* field;
    json value;  // null = remove the field
    const char* message;
  };
  const Case cases[] = {
      {"protocol", 2, "manifest: protocol: unsupported version 2"},
      {"protocol", nullptr, "manifest: protocol: missing"},
      {"protocol", "1", "manifest: protocol: must be an integer"},
      {"batch_id", "B-other", "manifest: batch_id: \"B-other\" does not match the listing"},
      {"batch_id", "B/../x", "manifest: batch_id: \"B/../x\" is not a valid id"},
      {"batch_id", 12, "manifest: batch_id: must be a string"},
      {"resource_id", "R-OTHER", "manifest: resource_id: \"R-OTHER\" does not match"},
      {"resource_id", nullptr, "manifest: resource_id: missing"},
      {"seq", 13, "manifest: seq: 13 does not match the listing (12)"},
      {"seq", 12.0, "manifest: seq: must be an integer"},
      {"seq", nullptr, "manifest: seq: missing"},
      {"kind", "interface", "manifest: kind: unknown value \"interface\""},
      {"kind", nullptr, "manifest: kind: missing"},
      {"mode", "full", "manifest: mode: \"full\" does not match the listing"},
      {"mode", "delta", "manifest: mode: unknown value \"delta\""},
      {"created_at", 5, "manifest: created_at: must be a string"},
      {"payload", nullptr, "manifest: payload: missing"},
      {"payload", "csv", "manifest: payload: must be an object"},
      {"table", nullptr, "manifest: table: missing"},
      {"row_count", nullptr, "manifest: row_count: missing"},
      {"row_count", -1, "manifest: row_count: must be a non-negative integer"},
      {"row_count", "10", "manifest: row_count: must be a non-negative integer"},
      {"folder", json::object({{"files", 1}}), "manifest: folder: not allowed in a table"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.field);
    CAPTURE(c.message);
    json m = table_manifest();
    if (c.value.is_null())
      m.erase(c.field);
    else
      m[c.field] = c.value;
    CHECK(error_of(m).starts_with(c.message));
  }
}

TEST_CASE("manifest: payload rejections") {
  struct Case {
    const char* field;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"format", "tar", "manifest: payload.format: \"tar\" is not valid for a table"},
      {"format", nullptr, "manifest: payload.format: missing"},
      {"compression", "bzip2", "manifest: payload.compression: unknown value \"bzip2\""},
      {"compression", nullptr, "manifest: payload.compression: missing"},
      {"encoding", "GBK", "manifest: payload.encoding: unknown value \"GBK\""},
      {"encoding", "utf-8", "manifest: payload.encoding: unknown value \"utf-8\""},
      {"size", -5, "manifest: payload.size: must be a non-negative integer"},
      {"size", 1.5, "manifest: payload.size: must be a non-negative integer"},
      {"size", nullptr, "manifest: payload.size: missing"},
      {"sha256", nullptr, "manifest: payload.sha256: missing"},
      {"sha256", std::string(64, 'A'), "manifest: payload.sha256: must be 64 lowercase hex"},
      {"sha256", std::string(63, 'a'), "manifest: payload.sha256: must be 64 lowercase hex"},
      {"sm3", "xyz", "manifest: payload.sm3: must be 64 lowercase hex"},
      {"sm3", 7, "manifest: payload.sm3: must be a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.field);
    CAPTURE(c.message);
    json m = table_manifest();
    if (c.value.is_null())
      m["payload"].erase(c.field);
    else
      m["payload"][c.field] = c.value;
    CHECK(error_of(m).starts_with(c.message));
  }
}

TEST_CASE("manifest: folder payload and folder rejections") {
  json m = folder_manifest();
  m["payload"]["format"] = "csv";
  CHECK(error_of(m).starts_with("manifest: payload.format: \"csv\" is not valid for a folder"));
  m = folder_manifest();
  m["payload"]["format"] = "zip";
  CHECK(error_of(m) == "manifest: payload.compression: must be \"none\" for zip");

  m = folder_manifest();
  m["table"] = table_manifest()["table"];
  CHECK(error_of(m) == "manifest: table: not allowed in a folder manifest");
  m = folder_manifest();
  m["row_count"] = 3;
  CHECK(error_of(m) == "manifest: row_count: not allowed in a folder manifest");
  m = folder_manifest();
  m.erase("folder");
  CHECK(error_of(m) == "manifest: folder: missing");
  m = folder_manifest();
  m["folder"].erase("files");
  CHECK(error_of(m) == "manifest: folder.files: missing");
  m = folder_manifest();
  m["folder"]["bytes"] = -1;
  CHECK(error_of(m) == "manifest: folder.bytes: must be a non-negative integer");
  m = folder_manifest();
  m["folder"].erase("deletes");
  CHECK(error_of(m).starts_with("manifest: folder.deletes: missing"));
  m = folder_manifest();
  m["folder"]["deletes"] = {"a", 3};
  CHECK(error_of(m) == "manifest: folder.deletes[1]: must be a string");
  m = folder_manifest();
  m["folder"]["deletes"] = {""};
  CHECK(error_of(m) == "manifest: folder.deletes[0]: must not be empty");
  m = folder_manifest();
  m["mode"] = "full";
  CHECK(error_of(m, BatchMode::full) == "manifest: folder.deletes: not allowed in a full batch");
}

TEST_CASE("manifest: table rejections") {
  auto with = [](auto edit) {
    json m = table_manifest();
    edit(m["table"]);
    return error_of(m);
  };
  CHECK(with([](json& t) { t.erase("name"); }) == "manifest: table.name: missing");
  CHECK(with([](json& t) {
          t["name"] = "1abc";
        }).starts_with("manifest: table.name: \"1abc\" is not a valid name"));
  CHECK(with([](json& t) { t["name"] = "_hidden"; }) ==
        "manifest: table.name: \"_hidden\" is reserved (starts with _)");
  CHECK(
      with([](json& t) { t["name"] = std::string(64, 'a'); }).starts_with("manifest: table.name:"));
  CHECK(with([](json& t) { t.erase("columns"); }) == "manifest: table.columns: missing");
  CHECK(with([](json& t) { t["columns"] = json::array(); }) ==
        "manifest: table.columns: must not be empty");
  CHECK(with([](json& t) { t["columns"][1] = "name"; }) ==
        "manifest: table.columns[1]: must be an object");
  CHECK(with([](json& t) { t["columns"][2]["type"] = "varchar2(10)"; }) ==
        "manifest: table.columns[2].type: unknown column type \"varchar2(10)\"");
  CHECK(with([](json& t) {
          t["columns"][2]["type"] = "decimal(40,2)";
        }).starts_with("manifest: table.columns[2].type: bad precision"));
  CHECK(with([](json& t) { t["columns"][2].erase("type"); }) ==
        "manifest: table.columns[2].type: missing");
  CHECK(with([](json& t) {
          t["columns"][3]["name"] = "a-b";
        }).starts_with("manifest: table.columns[3].name: \"a-b\" is not a valid name"));
  CHECK(with([](json& t) { t["columns"][3]["name"] = "_op"; }) ==
        "manifest: table.columns[3].name: \"_op\" is reserved (starts with _)");
  CHECK(with([](json& t) { t["columns"][3]["name"] = "NAME"; }) ==
        "manifest: table.columns[3].name: duplicate column \"NAME\"");
  CHECK(with([](json& t) { t["columns"][1]["nullable"] = "no"; }) ==
        "manifest: table.columns[1].nullable: must be true or false");
  CHECK(with([](json& t) { t.erase("primary_key"); }) ==
        "manifest: table.primary_key: required (non-empty) for an incremental batch");
  CHECK(with([](json& t) { t["primary_key"] = json::array(); }) ==
        "manifest: table.primary_key: required (non-empty) for an incremental batch");
  CHECK(with([](json& t) {
          t["primary_key"] = {"id", "nope"};
        }) == "manifest: table.primary_key[1]: no column \"nope\"");
  CHECK(with([](json& t) {
          t["primary_key"] = {"id", "id"};
        }) == "manifest: table.primary_key[1]: \"id\" is listed twice");
  CHECK(with([](json& t) { t["primary_key"] = "id"; }) ==
        "manifest: table.primary_key: must be an array of strings");
  CHECK(with([](json& t) { t["primary_key"] = {1}; }) ==
        "manifest: table.primary_key[0]: must be a string");
}

TEST_CASE("manifest: a nullable primary-key column is made not null") {
  json m = table_manifest();
  m["table"]["columns"][1]["nullable"] = true;
  m["table"]["primary_key"] = {"id", "name"};
  auto r = parse(m);
  REQUIRE(r.ok());
  CHECK_FALSE(r->table->columns[1].nullable);
}
