#include <doctest/doctest.h>

#include "agent/sync/row_decoder.h"

using namespace fep;

namespace {

sql::TableSchema schema() {
  sql::TableSchema s;
  s.name = "t";
  s.columns = {{"id", {sql::ColumnKind::bigint_}, false},
               {"name", {sql::ColumnKind::varchar_, 4}, true},
               {"ok", {sql::ColumnKind::boolean_}, true}};
  s.primary_key = {"id"};
  return s;
}

CsvRecord record(std::vector<CsvField> fields, uint64_t line) {
  return {std::move(fields), line};
}
CsvField f(std::string v, bool quoted = false) {
  return {std::move(v), quoted};
}

}  // namespace

TEST_CASE("the header may list the columns in any order") {
  auto s = schema();
  auto d = RowDecoder::from_header(record({f("ok"), f("id"), f("name")}, 1), s, BatchMode::full);
  REQUIRE(d.ok());
  DecodedRow row;
  REQUIRE(d->decode(record({f("t"), f("7"), f("张三")}, 2), row).ok());
  CHECK(row.values[0] == "7");
  CHECK(row.values[1] == "张三");
  CHECK(row.values[2] == "1");
}

TEST_CASE("header errors name line 1 and the column") {
  auto s = schema();
  auto missing = RowDecoder::from_header(record({f("id"), f("name")}, 1), s, BatchMode::full);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == RejectCode::payload_invalid);
  CHECK(missing.error().message == "line 1: the header lacks column \"ok\" of the manifest");
  auto extra =
      RowDecoder::from_header(record({f("id"), f("name"), f("ok"), f("x")}, 1), s, BatchMode::full);
  CHECK(extra.error().message.find("\"x\"") != std::string::npos);
  auto twice = RowDecoder::from_header(record({f("id"), f("id"), f("name"), f("ok")}, 1), s,
                                       BatchMode::full);
  CHECK(twice.error().message.find("twice") != std::string::npos);
  auto no_op =
      RowDecoder::from_header(record({f("id"), f("name"), f("ok")}, 1), s, BatchMode::incremental);
  CHECK(no_op.error().message.find("_op") != std::string::npos);
}

TEST_CASE("records are checked field by field with their line") {
  auto s = schema();
  auto d = RowDecoder::from_header(record({f("id"), f("name"), f("ok")}, 1), s, BatchMode::full);
  DecodedRow row;
  auto count = d->decode(record({f("1"), f("a")}, 5), row);
  CHECK(count.error().message == "line 5: expected 3 fields, found 2");
  auto null_key = d->decode(record({f(""), f("a"), f("t")}, 6), row);
  CHECK(null_key.error().message == "line 6: column \"id\" may not be NULL");
  auto bad = d->decode(record({f("x1"), f("a"), f("t")}, 7), row);
  CHECK(bad.error().message.find("line 7: column \"id\"") == 0);
  auto too_long = d->decode(record({f("1"), f("abcde"), f("t")}, 8), row);
  CHECK(too_long.error().message.find("line 8: column \"name\"") == 0);
  REQUIRE(d->decode(record({f("1"), f(""), f("", false)}, 9), row).ok());
  CHECK(row.null[1]);
  CHECK(row.null[2]);
  REQUIRE(d->decode(record({f("1"), f("", true), f("f")}, 10), row).ok());
  CHECK_FALSE(row.null[1]);
  CHECK(row.values[1].empty());
}

TEST_CASE("incremental rows: U upserts, D needs only the key, anything else is invalid") {
  auto s = schema();
  auto d = RowDecoder::from_header(record({f("_op"), f("id"), f("name"), f("ok")}, 1), s,
                                   BatchMode::incremental);
  REQUIRE(d.ok());
  DecodedRow row;
  REQUIRE(d->decode(record({f("D"), f("3"), f(""), f("")}, 2), row).ok());
  CHECK(row.op == DecodedRow::Op::remove);
  CHECK(row.values[0] == "3");
  REQUIRE(d->decode(record({f("U"), f("3"), f("b"), f("0")}, 3), row).ok());
  CHECK(row.op == DecodedRow::Op::upsert);
  auto bad = d->decode(record({f("X"), f("3"), f("b"), f("0")}, 4), row);
  CHECK(bad.error().message == "line 4: _op is \"X\"; it must be U or D");
  auto no_key = d->decode(record({f("D"), f(""), f(""), f("")}, 5), row);
  CHECK(no_key.error().message.find("line 5") == 0);
}
