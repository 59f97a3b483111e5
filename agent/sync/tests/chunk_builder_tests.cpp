#include <doctest/doctest.h>

#include <thread>

#include "adapters/dialects/dialect.h"
#include "agent/sync/chunk_builder.h"
#include "agent/sync/chunk_queue.h"

using namespace fep;

namespace {

struct Fixture {
  sql::TableSchema schema{"t",
                          {{"id", {sql::ColumnKind::bigint_}, false},
                           {"v", {sql::ColumnKind::text_}, true},
                           {"b", {sql::ColumnKind::binary_}, true}},
                          {"id"}};
  std::unique_ptr<sql::Dialect> dialect = sql::make_dialect("sqlite", "\"", std::nullopt).value();
  std::vector<RowChunk> chunks;

  ChunkBuilder builder(size_t max_rows, size_t max_bytes = 1 << 20) {
    return ChunkBuilder(schema, {0}, *dialect, max_rows, max_bytes,
                        [this](RowChunk&& c) { chunks.push_back(std::move(c)); });
  }
  static DecodedRow row(DecodedRow::Op op, std::string id, std::string v = "x") {
    return DecodedRow{op, {std::move(id), std::move(v), "\x01"}, {false, false, false}};
  }
};

}  // namespace

TEST_CASE("chunks hold at most max_rows rows, column-wise, with their lines") {
  Fixture f;
  auto b = f.builder(2);
  for (int i = 0; i < 5; ++i) {
    auto r = Fixture::row(DecodedRow::Op::upsert, std::to_string(i));
    b.add(r, static_cast<uint64_t>(i + 2));
  }
  b.finish();
  REQUIRE(f.chunks.size() == 3);
  CHECK(f.chunks[0].rows() == 2);
  CHECK(f.chunks[2].rows() == 1);
  CHECK(f.chunks[1].columns[0].value(1) == "3");
  CHECK(f.chunks[1].lines == std::vector<uint64_t>{4, 5});
  CHECK(f.chunks[0].columns[2].kind() == odbc::Param::Kind::binary);
}

TEST_CASE("an operation change or a repeated key starts a new chunk, keeping file order") {
  Fixture f;
  auto b = f.builder(100);
  auto u1 = Fixture::row(DecodedRow::Op::upsert, "1");
  auto u2 = Fixture::row(DecodedRow::Op::upsert, "2");
  auto d1 = Fixture::row(DecodedRow::Op::remove, "1");
  auto u1b = Fixture::row(DecodedRow::Op::upsert, "1", "again");
  auto u1c = Fixture::row(DecodedRow::Op::upsert, "1", "and again");
  b.add(u1, 2);
  b.add(u2, 3);
  b.add(d1, 4);
  b.add(u1b, 5);
  b.add(u1c, 6);
  b.finish();
  REQUIRE(f.chunks.size() == 4);
  CHECK(f.chunks[0].rows() == 2);
  CHECK(f.chunks[1].op == DecodedRow::Op::remove);
  CHECK(f.chunks[1].columns.size() == 1);  // only the key
  CHECK(f.chunks[2].lines == std::vector<uint64_t>{5});
  CHECK(f.chunks[3].columns[1].value(0) == "and again");
}

TEST_CASE("a chunk also ends before its padded parameter buffers pass max_bytes") {
  Fixture f;
  // Each row is 1 + 6 + 1 bytes wide: the third row makes (3 + 1) * 8 = 32 >= 30.
  auto b = f.builder(1000, 30);
  for (int i = 0; i < 4; ++i) {
    auto r = Fixture::row(DecodedRow::Op::upsert, std::to_string(i), "123456");
    b.add(r, 1);
  }
  b.finish();
  REQUIRE(f.chunks.size() == 2);
  CHECK(f.chunks[0].rows() == 3);

  // One long value widens every row of its column: the chunk ends at once.
  Fixture g;
  auto c = g.builder(1000, 1 << 20);
  auto small = Fixture::row(DecodedRow::Op::upsert, "1");
  auto huge = Fixture::row(DecodedRow::Op::upsert, "2", std::string(600000, 'x'));
  auto after = Fixture::row(DecodedRow::Op::upsert, "3");
  c.add(small, 1);
  c.add(huge, 2);
  c.add(after, 3);
  c.finish();
  CHECK(g.chunks.size() == 2);
}

TEST_CASE("the chunk queue hands over every item in order, whatever its capacity") {
  for (size_t capacity : {1, 2, 3, 8}) {
    BoundedQueue<int> queue(capacity);
    std::thread producer([&] {
      for (int i = 0; i < 1000; ++i) REQUIRE(queue.push(i));
      queue.close();
    });
    int expected = 0;
    while (auto item = queue.pop()) CHECK(*item == expected++);
    producer.join();
    CHECK(expected == 1000);
  }
}

TEST_CASE("closing the chunk queue wakes a producer waiting for room") {
  BoundedQueue<int> queue(4);
  for (int i = 0; i < 4; ++i) REQUIRE(queue.push(i));
  std::thread producer([&] { CHECK_FALSE(queue.push(99)); });  // full: it waits
  queue.close();
  producer.join();
  int left = 0;
  while (queue.pop()) ++left;
  CHECK(left == 4);
}
