#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "agent/batch/csv_reader.h"

using namespace fep;

namespace {

// Hands out at most `step` bytes per read, to cut records at every possible place.
class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string bytes, size_t step) : bytes_(std::move(bytes)), step_(step) {}
  Expected<size_t> read(char* buf, size_t size) override {
    size_t n = std::min({size, step_, bytes_.size() - pos_});
    std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t step_;
  size_t pos_ = 0;
};

class FailingSource : public ByteSource {
 public:
  Expected<size_t> read(char*, size_t) override { return fail("disk on fire"); }
};

// A field as text: NULL as <null>, so tests can tell it from "".
struct Parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> lines;
  std::string error;
};

Parsed parse_with(ByteSource& src) {
  Parsed p;
  CsvReader reader(src);
  CsvRecord rec;
  for (;;) {
    auto r = reader.next(rec);
    if (!r) {
      p.error = r.error().message;
      return p;
    }
    if (!*r) return p;
    std::vector<std::string> row;
    for (const auto& f : rec.fields) row.push_back(f.is_null() ? "<null>" : f.value);
    p.rows.push_back(row);
    p.lines.push_back(rec.line);
  }
}

// Parses whole and one byte at a time; both must agree.
Parsed parse(const std::string& text) {
  auto whole = memory_source(text);
  Parsed a = parse_with(*whole);
  TrickleSource trickle(text, 1);
  Parsed b = parse_with(trickle);
  CHECK(a.rows == b.rows);
  CHECK(a.lines == b.lines);
  CHECK(a.error == b.error);
  return a;
}

using Rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("csv: plain records with LF, CRLF and no final terminator") {
  CHECK(parse("a,b\n1,2\n").rows == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(parse("a,b\r\n1,2\r\n").rows == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(parse("a,b\r\n1,2").rows == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(parse("a,b\n1,2\r\n3,4").rows == Rows{{"a", "b"}, {"1", "2"}, {"3", "4"}});
  CHECK(parse("").rows.empty());
}

TEST_CASE("csv: quoted comma, doubled quote, embedded line breaks") {
  auto p = parse("x,y\n\"a,b\",\"say \"\"hi\"\"\"\n\"l1\nl2\",\"c1\r\nc2\"\nlast,z\n");
  REQUIRE(p.error.empty());
  CHECK(p.rows == Rows{{"x", "y"}, {"a,b", "say \"hi\""}, {"l1\nl2", "c1\r\nc2"}, {"last", "z"}});
  CHECK(p.lines == std::vector<uint64_t>{1, 2, 3, 6});
}

TEST_CASE("csv: NULL versus empty string") {
  auto p = parse("a,\"\",,\"x\"\n");
  REQUIRE(p.rows.size() == 1);
  CHECK(p.rows[0] == std::vector<std::string>{"a", "", "<null>", "x"});
  CHECK(parse("a,").rows == Rows{{"a", "<null>"}});
  CHECK(parse("\"\"").rows == Rows{{""}});
}

TEST_CASE("csv: an empty line is one NULL field") {
  auto p = parse("a\n\nb\n\r\n");
  CHECK(p.rows == Rows{{"a"}, {"<null>"}, {"b"}, {"<null>"}});
  CHECK(p.lines == std::vector<uint64_t>{1, 2, 3, 4});
}

TEST_CASE("csv: a UTF-8 BOM at the start is ignored, elsewhere kept") {
  CHECK(parse("\xEF\xBB\xBFid,name\n1,x\n").rows == Rows{{"id", "name"}, {"1", "x"}});
  CHECK(parse("\xEF\xBB\xBF").rows.empty());
  CHECK(parse("\xEF\xBB").rows == Rows{{"\xEF\xBB"}});
  CHECK(parse("a\n\xEF\xBB\xBF").rows == Rows{{"a"}, {"\xEF\xBB\xBF"}});
}

TEST_CASE("csv: UTF-8 text passes through") {
  CHECK(parse("名称,地址\n\"市场监督管理局\",郑州\n").rows ==
        Rows{{"名称", "地址"}, {"市场监督管理局", "郑州"}});
}

TEST_CASE("csv: errors name the line") {
  CHECK(parse("a\n\"open\nstill open").error == "CSV line 2: unterminated quoted field");
  CHECK(parse("a,b\n1,x\"y\n").error == "CSV line 2: quote inside an unquoted field");
  CHECK(parse("a\n\"q\"x,1\n").error == "CSV line 2: characters after a closing quote");
  CHECK(parse("a\n\"q\" \n").error == "CSV line 2: characters after a closing quote");
  CHECK(parse("a\nb\rc\n").error.starts_with("CSV line 2: bare CR"));
  CHECK(parse("a\nb\r").error.starts_with("CSV line 2: bare CR"));
  // The line counts line breaks inside quoted fields before the error.
  CHECK(parse("h\n\"x\ny\"\nbad\"\n").error == "CSV line 4: quote inside an unquoted field");
  // A bare CR inside quotes is data.
  CHECK(parse("\"a\rb\"\n").rows == Rows{{"a\rb"}});
}

TEST_CASE("csv: a source error is passed on") {
  FailingSource src;
  CsvReader reader(src);
  CsvRecord rec;
  auto r = reader.next(rec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "disk on fire");
}

TEST_CASE("csv: records across 64 KiB block boundaries") {
  // Long fields of every kind, placed so that they straddle block ends in many ways.
  std::string text = "id,body\n";
  Rows expect{{"id", "body"}};
  std::vector<uint64_t> lines{1};
  uint64_t line = 2;
  for (int i = 0; i < 300; ++i) {
    std::string body(static_cast<size_t>(997 + i), static_cast<char>('a' + i % 26));
    if (i % 3 == 0) {
      text += std::to_string(i) + ",\"" + body + "\"\"\n" + body + "\"\r\n";
      expect.push_back({std::to_string(i), body + "\"\n" + body});
      lines.push_back(line);
      line += 2;
    } else {
      text += std::to_string(i) + "," + body + "\n";
      expect.push_back({std::to_string(i), body});
      lines.push_back(line++);
    }
  }
  auto whole = memory_source(text);
  Parsed a = parse_with(*whole);
  CHECK(a.error.empty());
  CHECK(a.rows == expect);
  CHECK(a.lines == lines);
  for (size_t step : {1u, 7u, 4096u, 65535u}) {
    TrickleSource src(text, step);
    Parsed b = parse_with(src);
    CHECK(b.rows == expect);
    CHECK(b.lines == lines);
  }
}

TEST_CASE("csv: fields reuse the record's storage") {
  auto src = memory_source("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,b\nc,d\ne\n");
  CsvReader reader(*src);
  CsvRecord rec;
  REQUIRE(*reader.next(rec));
  auto cap = rec.fields[0].value.capacity();
  REQUIRE(*reader.next(rec));
  CHECK(rec.fields[0].value == "c");
  CHECK(rec.fields[0].value.capacity() == cap);
  REQUIRE(*reader.next(rec));
  CHECK(rec.fields.size() == 1);
  CHECK_FALSE(*reader.next(rec));
}
