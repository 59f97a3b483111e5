#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "agent/batch/payload_source.h"

using namespace fep;
namespace fs = std::filesystem;

namespace {

// A scratch folder removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("fep-batch-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
    return path / name;
  }
  // Runs a shell command inside the folder; true when it succeeded.
  bool run(const std::string& cmd) const {
    return std::system(("cd '" + path.string() + "' && " + cmd).c_str()) == 0;
  }
};

// Reads a source to the end with a small buffer; "!" + message on error.
std::string drain(ByteSource& src, size_t chunk = 1000) {
  std::string out(chunk, '\0'), all;
  for (;;) {
    auto n = src.read(out.data(), chunk);
    if (!n) return "!" + n.error().message;
    if (*n == 0) return all;
    all.append(out.data(), *n);
  }
}

std::string read_payload(const fs::path& p, std::string_view comp, std::string_view enc = "UTF-8",
                         size_t chunk = 1000) {
  auto src = open_payload(p, comp, enc);
  if (!src) return "!" + src.error().message;
  return drain(**src, chunk);
}

// Big enough to span many 64 KiB blocks, with multi-byte text throughout.
std::string sample_csv() {
  std::string s = "id,名称\n";
  for (int i = 0; i < 20000; ++i)
    s += std::to_string(i) + ",\"企业登记信息 " + std::to_string(i) + "\"\n";
  return s;
}

}  // namespace

TEST_CASE("payload: memory source") {
  auto src = memory_source("abc");
  CHECK(drain(*src, 2) == "abc");
  CHECK(drain(*src) == "");
}

TEST_CASE("payload: compression none reads the file as is, even when empty") {
  TempDir dir;
  CHECK(read_payload(dir.write("p.csv", "a,b\n1,2\n"), "none") == "a,b\n1,2\n");
  CHECK(read_payload(dir.write("empty.csv", ""), "none") == "");
  CHECK(read_payload(dir.path / "missing.csv", "none").starts_with("!"));
}

TEST_CASE("payload: gzip and zstd made by the command-line tools") {
  TempDir dir;
  std::string csv = sample_csv();
  dir.write("data.csv", csv);
  REQUIRE(dir.run("gzip -k -9 data.csv && zstd -q data.csv -o data.csv.zst"));
  CHECK(read_payload(dir.path / "data.csv.gz", "gzip") == csv);
  CHECK(read_payload(dir.path / "data.csv.zst", "zstd") == csv);
  CHECK(read_payload(dir.path / "data.csv.gz", "gzip", "UTF-8", 1).size() == csv.size());

  // An empty payload compressed is still a (empty) payload.
  dir.write("empty.csv", "");
  REQUIRE(dir.run("gzip -k empty.csv && zstd -q empty.csv -o empty.csv.zst"));
  CHECK(read_payload(dir.path / "empty.csv.gz", "gzip") == "");
  CHECK(read_payload(dir.path / "empty.csv.zst", "zstd") == "");
}

TEST_CASE("payload: the declared compression must be the real one") {
  TempDir dir;
  dir.write("plain.csv", "a,b\n1,2\n");
  dir.write("data.csv", "x\n1\n");
  REQUIRE(
      dir.run("zstd -q data.csv -o data.csv.zst && gzip -k data.csv && "
              "gzip -c data.csv.gz > double.gz"));
  CHECK(read_payload(dir.path / "plain.csv", "gzip") == "!payload is not gzip-compressed");
  CHECK(read_payload(dir.path / "data.csv.zst", "gzip") == "!payload is not gzip-compressed");
  CHECK(read_payload(dir.path / "data.csv.gz", "zstd") == "!payload is not zstd-compressed");
  CHECK(read_payload(dir.path / "double.gz", "gzip") == "!payload is not gzip-compressed");
  CHECK(read_payload(dir.write("empty", ""), "gzip") == "!payload is not gzip-compressed");
  CHECK(read_payload(dir.path / "data.csv", "bzip2").starts_with("!unsupported compression"));
  CHECK(read_payload(dir.path / "data.csv", "none", "latin1")
            .starts_with("!unsupported payload encoding"));
}

TEST_CASE("payload: a truncated gzip file is an error") {
  TempDir dir;
  dir.write("data.csv", sample_csv());
  REQUIRE(dir.run("gzip data.csv && head -c 20000 data.csv.gz > cut.gz"));
  CHECK(read_payload(dir.path / "cut.gz", "gzip").starts_with("!"));
}

TEST_CASE("payload: GB18030 converted to UTF-8, across block boundaries") {
  TempDir dir;
  std::string csv = sample_csv() + "末行,𠀀\n";  // a 4-byte GB18030 sequence too
  dir.write("utf8.csv", csv);
  REQUIRE(dir.run("iconv -f UTF-8 -t GB18030 utf8.csv > gb.csv && gzip -k gb.csv"));
  CHECK(read_payload(dir.path / "gb.csv", "none", "GB18030") == csv);
  CHECK(read_payload(dir.path / "gb.csv.gz", "gzip", "GB18030") == csv);
  CHECK(read_payload(dir.path / "gb.csv", "none", "GB18030", 1) == csv);
  // Read as UTF-8 it is not the same text.
  CHECK(read_payload(dir.path / "gb.csv", "none", "UTF-8") != csv);
}

TEST_CASE("payload: invalid or truncated GB18030 names the byte offset") {
  TempDir dir;
  // "企" is C6 F3 in GB18030; 0xFF is never valid.
  dir.write("bad.csv", "ab\xC6\xF3\n\xFF\xFF");
  CHECK(read_payload(dir.path / "bad.csv", "none", "GB18030") ==
        "!invalid GB18030 sequence at byte offset 5");
  dir.write("cut.csv", "ab\xC6");
  CHECK(read_payload(dir.path / "cut.csv", "none", "GB18030") ==
        "!truncated GB18030 sequence at byte offset 2");
}
