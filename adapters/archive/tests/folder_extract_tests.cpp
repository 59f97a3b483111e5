// Safe folder extraction: the path checks, entry types, limits and name conversion, on archives
// written here with libarchive.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <clocale>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/archive/folder_extract.h"
#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "adapters/base/utf8.h"

using namespace fep;
using namespace fep::archive;
namespace fs = std::filesystem;

namespace {

struct Entry {
  Entry(std::string n, std::string d = "", unsigned t = AE_IFREG, std::string l = "",
        bool h = false)
      : name(std::move(n)), data(std::move(d)), type(t), link(std::move(l)), hard(h) {}
  std::string name;
  std::string data;
  unsigned type;
  std::string link;  // symlink target, or hard link target when `hard`
  bool hard;
};

struct Tmp {
  fs::path dir = fs::temp_directory_path() / ("fep-extract-" + new_uuid());
  Tmp() {
    std::setlocale(LC_CTYPE, "C.UTF-8");  // the writer below converts names through it
    fs::create_directories(dir / "dest");
  }
  ~Tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dest() const { return dir / "dest"; }

  // format: pax | gnutar | zip; filter: gzip | zstd | none.
  fs::path archive(const std::vector<Entry>& entries, const std::string& format = "pax",
                   const std::string& filter = "gzip", const char* options = nullptr) {
    const auto path = dir / ("a-" + new_uuid());
    ::archive* a = archive_write_new();
    if (format == "zip")
      archive_write_set_format_zip(a);
    else if (format == "gnutar")
      archive_write_set_format_gnutar(a);
    else
      archive_write_set_format_pax_restricted(a);
    if (filter == "gzip") archive_write_add_filter_gzip(a);
    if (filter == "zstd") archive_write_add_filter_zstd(a);
    if (options) REQUIRE(archive_write_set_options(a, options) == ARCHIVE_OK);
    REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
    for (const auto& e : entries) {
      archive_entry* entry = archive_entry_new();
      archive_entry_copy_pathname(entry, e.name.c_str());
      archive_entry_set_filetype(entry, e.type);
      archive_entry_set_perm(entry, e.type == AE_IFDIR ? 0755 : 04777);
      if (e.hard) archive_entry_copy_hardlink(entry, e.link.c_str());
      if (e.type == AE_IFLNK) archive_entry_copy_symlink(entry, e.link.c_str());
      if (e.type == AE_IFCHR) archive_entry_set_rdev(entry, makedev(1, 3));
      if (e.type == AE_IFREG && !e.hard) archive_entry_set_size(entry, la_int64_t(e.data.size()));
      REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
      if (e.type == AE_IFREG && !e.hard && !e.data.empty())
        REQUIRE(archive_write_data(a, e.data.data(), e.data.size()) == la_ssize_t(e.data.size()));
      archive_entry_free(entry);
    }
    REQUIRE(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    return path;
  }

  static ExtractOptions options(const fs::path& payload, uint64_t files, uint64_t bytes,
                                const std::string& format = "tar",
                                const std::string& compression = "gzip") {
    ExtractOptions o;
    o.format = format;
    o.compression = compression;
    o.payload_size = fs::file_size(payload);
    o.declared_files = files;
    o.declared_bytes = bytes;
    return o;
  }

  // Everything under the temp folder except the payloads: what extraction created.
  std::vector<std::string> created() const {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().filename().string().rfind("a-", 0) != 0)
        out.push_back(e.path().lexically_relative(dir).generic_string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha(std::string_view s) {
  Sha256 h;
  h.update(s);
  return h.hex_digest();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("safe_relative_path keeps names inside the folder") {
  CHECK(*safe_relative_path("a.txt") == "a.txt");
  CHECK(*safe_relative_path("./a/b.txt") == "a/b.txt");
  CHECK(*safe_relative_path("a//./b/") == "a/b");
  CHECK(*safe_relative_path("dir\\file.txt") == "dir/file.txt");
  CHECK(*safe_relative_path("报告/附件 1.pdf") == "报告/附件 1.pdf");
  CHECK(*safe_relative_path("./") == "");
  CHECK(*safe_relative_path("a..b/..c") == "a..b/..c");

  for (const char* bad : {"../../tmp/evil.txt", "a/../../b", "..", "a/..", "..\\..\\tmp\\evil.txt",
                          "a\\..\\..\\b", "/etc/passwd", "\\\\server\\share\\x", "C:\\Windows\\x",
                          "c:/x", "", "a\nb", "tab\there", "del\x7f"}) {
    CAPTURE(bad);
    CHECK_FALSE(safe_relative_path(bad).ok());
  }
  CHECK_FALSE(safe_relative_path("\xb1\xa8\xb8\xe6.txt").ok());  // GBK bytes, not UTF-8
  CHECK_FALSE(safe_relative_path("\xc0\xae\xc0\xae/x").ok());    // overlong "..": not UTF-8
  CHECK_FALSE(safe_relative_path("\xed\xa0\x80").ok());          // a surrogate
  CHECK_FALSE(safe_relative_path(std::string(256, 'x')).ok());
  CHECK(safe_relative_path(std::string(255, 'x')).ok());
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += std::string(250, 'd') + "/";
  CHECK_FALSE(safe_relative_path(deep).ok());
  std::string levels;
  for (size_t i = 0; i < kMaxPathDepth; ++i) levels += "a/";
  CHECK(safe_relative_path(levels + "f").error().message.find("levels deep") != std::string::npos);
  CHECK(safe_relative_path(levels).ok());  // 128 levels (the last a directory)
}

TEST_CASE("a zip listing more entries than max_entries is refused before it is read") {
  Tmp t;
  std::vector<Entry> entries;
  for (int i = 0; i < 6; ++i) entries.emplace_back("f" + std::to_string(i), "x");
  const auto zip = t.archive(entries, "zip", "none");
  auto options = Tmp::options(zip, 6, 6, "zip", "none");
  options.limits.max_entries = 5;
  auto r = extract_folder(zip, t.dest(), options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ExtractError::Kind::too_large);
  CHECK(r.error().message == "the zip's central directory holds more than 5 entries (max_entries)");
  options.limits.max_entries = 6;
  CHECK(extract_folder(zip, t.dest(), options).ok());
}

TEST_CASE("ratio_allowance has a floor and does not overflow") {
  CHECK(ratio_allowance(100, 200) == kRatioGraceBytes);
  CHECK(ratio_allowance(1ULL << 30, 200) == 200ULL << 30);
  CHECK(ratio_allowance(UINT64_MAX / 2, 200) == UINT64_MAX);
}

TEST_CASE("files and directories land with the configured modes and their digests") {
  Tmp t;
  auto payload = t.archive({{"./docs/", "", AE_IFDIR},
                            {"docs/a.txt", "alpha"},
                            {"deep/er/b.bin", std::string(100000, 'b')},
                            {"空文件.txt", ""}});
  auto r = extract_folder(payload, t.dest(), Tmp::options(payload, 3, 100005));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  REQUIRE(r->files.size() == 3);
  CHECK(r->entries == 4);
  CHECK(r->bytes == 100005);
  CHECK(r->files[0].path == "docs/a.txt");
  CHECK(r->files[0].sha256 == sha("alpha"));
  CHECK(r->files[2].path == "空文件.txt");
  CHECK(slurp(t.dest() / "deep/er/b.bin") == std::string(100000, 'b'));
  CHECK(mode_of(t.dest() / "docs/a.txt") == 0640);  // not the archive's 04777
  CHECK(mode_of(t.dest() / "docs") == 0750);
  CHECK(mode_of(t.dest() / "deep") == 0750);  // made as a parent
  CHECK(mode_of(t.dest() / "deep/er") == 0750);

  ExtractOptions o = Tmp::options(payload, 3, 100005);
  o.file_mode = 0604;
  o.dir_mode = 0711;
  fs::remove_all(t.dest());
  fs::create_directory(t.dest());
  REQUIRE(extract_folder(payload, t.dest(), o).ok());
  CHECK(mode_of(t.dest() / "docs/a.txt") == 0604);
  CHECK(mode_of(t.dest() / "deep/er") == 0711);
}

TEST_CASE("unsafe entries are refused and nothing lands outside the staging folder") {
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    const char* format;
  };
  const std::vector<Case> cases = {
      {"dot-dot", {{"ok.txt", "x"}, {"../../evil.txt", "evil"}}, "pax"},
      {"windows dot-dot", {{"..\\..\\evil.txt", "evil"}}, "pax"},
      {"absolute", {{"/tmp/fep-evil-abs.txt", "evil"}}, "pax"},
      {"symlink then write through it",
       {{"link", "", AE_IFLNK, ".."}, {"link/evil.txt", "evil"}},
       "pax"},
      {"hard link", {{"passwd", "", AE_IFREG, "/etc/passwd", true}}, "pax"},
      {"character device", {{"null", "", AE_IFCHR}}, "pax"},
      {"fifo", {{"pipe", "", AE_IFIFO}}, "pax"},
      {"zip symlink", {{"link", "", AE_IFLNK, "/etc"}}, "zip"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    Tmp t;
    const bool zip = std::string(c.format) == "zip";
    auto payload = t.archive(c.entries, c.format, zip ? "none" : "gzip");
    auto r =
        extract_folder(payload, t.dest(),
                       Tmp::options(payload, 9, 100, zip ? "zip" : "tar", zip ? "none" : "gzip"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::unsafe_path);
    CHECK_FALSE(fs::exists(t.dir / "evil.txt"));
    CHECK_FALSE(fs::exists("/tmp/fep-evil-abs.txt"));
    for (const auto& p : t.created()) CHECK((p == "dest" || p == "dest/ok.txt"));
  }
}

TEST_CASE("limits count decompressed bytes") {
  Tmp t;
  const std::string zeros(8 << 20, '\0');
  auto bomb = t.archive({{"a.bin", zeros}, {"b.bin", zeros}, {"c.bin", zeros}});
  const uint64_t total = 3 * zeros.size();

  SUBCASE("max_file_bytes") {
    auto o = Tmp::options(bomb, 3, total);
    o.limits.max_file_bytes = 1 << 20;
    auto r = extract_folder(bomb, t.dest(), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::too_large);
    CHECK(r.error().message.find("max_file_bytes") != std::string::npos);
    // Stopped at the limit, not after the whole file.
    CHECK(fs::file_size(t.dest() / "a.bin") <= (1 << 20) + (64 << 10));
  }
  SUBCASE("max_total_bytes") {
    auto o = Tmp::options(bomb, 3, total);
    o.limits.max_total_bytes = 10 << 20;
    auto r = extract_folder(bomb, t.dest(), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::too_large);
    CHECK(r.error().message.find("max_total_bytes") != std::string::npos);
    CHECK_FALSE(fs::exists(t.dest() / "c.bin"));
  }
  SUBCASE("max_ratio") {
    auto o = Tmp::options(bomb, 3, total);  // 24 MiB of zeros in a few dozen KiB
    auto r = extract_folder(bomb, t.dest(), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::too_large);
    CHECK(r.error().message.find("max_ratio") != std::string::npos);
    o.limits.max_ratio = 100000;
    fs::remove_all(t.dest());
    fs::create_directory(t.dest());
    CHECK(extract_folder(bomb, t.dest(), o).ok());
  }
  SUBCASE("max_entries") {
    std::vector<Entry> many;
    for (int i = 0; i < 20; ++i) many.push_back({"f" + std::to_string(i), "x"});
    auto p = t.archive(many);
    auto o = Tmp::options(p, 20, 20);
    o.limits.max_entries = 10;
    auto r = extract_folder(p, t.dest(), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::too_large);
    o.limits.max_entries = 20;
    fs::remove_all(t.dest());
    fs::create_directory(t.dest());
    CHECK(extract_folder(p, t.dest(), o).ok());
  }
  SUBCASE("more than the manifest declared stops at once") {
    auto o = Tmp::options(bomb, 3, 1000);
    o.limits.max_ratio = 100000;
    auto r = extract_folder(bomb, t.dest(), o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::invalid);
    CHECK(r.error().message.find("folder.bytes") != std::string::npos);
    auto fewer = Tmp::options(bomb, 2, total);
    fewer.limits.max_ratio = 100000;
    fs::remove_all(t.dest());
    fs::create_directory(t.dest());
    r = extract_folder(bomb, t.dest(), fewer);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("folder.files") != std::string::npos);
  }
}

TEST_CASE("the declared format and compression are the only ones read") {
  Tmp t;
  auto tgz = t.archive({{"a", "x"}});
  auto zst = t.archive({{"a", "x"}}, "pax", "zstd");
  auto tar = t.archive({{"a", "x"}}, "pax", "none");
  auto zip = t.archive({{"a", "x"}}, "zip", "none");
  CHECK(extract_folder(zst, t.dest(), Tmp::options(zst, 1, 1, "tar", "zstd")).ok());
  CHECK(extract_folder(tar, t.dest(), Tmp::options(tar, 1, 1, "tar", "none")).ok());
  CHECK(extract_folder(zip, t.dest(), Tmp::options(zip, 1, 1, "zip", "none")).ok());
  struct Bad {
    fs::path payload;
    const char* format;
    const char* compression;
  };
  for (const auto& b : std::vector<Bad>{{tgz, "tar", "zstd"},
                                        {tgz, "tar", "none"},
                                        {tar, "tar", "gzip"},
                                        {zip, "tar", "none"},
                                        {tgz, "zip", "none"},
                                        {tar, "zip", "none"}}) {
    CAPTURE(b.payload);
    CAPTURE(b.format);
    CAPTURE(b.compression);
    auto r =
        extract_folder(b.payload, t.dest(), Tmp::options(b.payload, 1, 1, b.format, b.compression));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ExtractError::Kind::invalid);
  }
}

TEST_CASE("zip names without the UTF-8 flag are read as GB18030") {
  Tmp t;
  // libarchive writes GB18030 names without the UTF-8 flag when told this charset.
  auto zip = t.archive({{"报告/二〇二六年.txt", "gbk"}}, "zip", "none", "zip:hdrcharset=GB18030");
  CHECK(slurp(zip).find("\xb1\xa8\xb8\xe6") != std::string::npos);  // 报告 in GBK
  auto r = extract_folder(zip, t.dest(), Tmp::options(zip, 1, 3, "zip", "none"));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(r->files.at(0).path == "报告/二〇二六年.txt");
  CHECK(slurp(t.dest() / "报告/二〇二六年.txt") == "gbk");

  // The same with the UTF-8 flag.
  Tmp u;
  auto utf8 = u.archive({{"报告/a.txt", "u"}}, "zip", "none", "zip:hdrcharset=UTF-8");
  auto r2 = extract_folder(utf8, u.dest(), Tmp::options(utf8, 1, 1, "zip", "none"));
  REQUIRE_MESSAGE(r2.ok(), (r2.ok() ? "" : r2.error().message));
  CHECK(r2->files.at(0).path == "报告/a.txt");
}

TEST_CASE("a tar name that is not UTF-8 is refused") {
  Tmp t;
  auto tar = t.archive({{"\xb1\xa8\xb8\xe6.txt", "x"}}, "gnutar", "gzip");
  auto r = extract_folder(tar, t.dest(), Tmp::options(tar, 1, 1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ExtractError::Kind::unsafe_path);
  // The message shows the bytes escaped: it goes into receipts and JSON, which need UTF-8.
  CHECK(is_valid_utf8(r.error().message));
  CHECK(r.error().message.find("\\xb1\\xa8\\xb8\\xe6.txt") != std::string::npos);
  auto name = safe_relative_path("ok/\xed\xa0\x80\xff");
  REQUIRE_FALSE(name.ok());
  CHECK(name.error().message == "\"ok/\\xed\\xa0\\x80\\xff\" is not valid UTF-8");
}

TEST_CASE("a file that is a hard link into the previous version is replaced, not written") {
  Tmp t;
  const auto published = t.dir / "published.txt";
  std::ofstream(published) << "old";
  fs::create_hard_link(published, t.dest() / "a.txt");
  fs::create_directories(t.dest() / "sub");
  std::ofstream(t.dest() / "sub" / "keep.txt") << "keep";
  std::ofstream(t.dest() / "was-file") << "file";
  auto payload = t.archive({{"a.txt", "new"}, {"was-file/inside.txt", "in"}});
  auto r = extract_folder(payload, t.dest(), Tmp::options(payload, 2, 5));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(slurp(published) == "old");
  CHECK(slurp(t.dest() / "a.txt") == "new");
  CHECK(slurp(t.dest() / "sub" / "keep.txt") == "keep");
  CHECK(slurp(t.dest() / "was-file" / "inside.txt") == "in");
}

TEST_CASE("the process's working directory and umask are untouched") {
  Tmp t;
  const auto cwd = fs::current_path();
  const mode_t before = ::umask(022);
  auto payload = t.archive({{"a", "x"}});
  REQUIRE(extract_folder(payload, t.dest(), Tmp::options(payload, 1, 1)).ok());
  CHECK(fs::current_path() == cwd);
  CHECK(::umask(before) == 022);
}
