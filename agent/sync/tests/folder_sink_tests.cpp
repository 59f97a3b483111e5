// The folder sink on a temp folder: versions, the link, deletes, counts, bookkeeping, verify.
// Archives are made with the tar command.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "agent/sync/folder_layout.h"
#include "agent/sync/folder_sink.h"

using namespace fep;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("fep-folder-" + new_uuid());
  TargetConfig target;
  ResourceConfig resource = [] {
    ResourceConfig r;
    r.id = "R-1";
    r.target = "files";
    r.path = "docs/parcels";
    return r;
  }();
  std::unique_ptr<BatchSink> sink;
  int64_t seq = 0;

  Fixture() {
    fs::create_directories(dir);
    target.name = "files";
    target.type = TargetType::folder;
    target.path = dir / "root";
    sink = make_folder_sink(target);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  fs::path folder() const { return target.path / "docs" / "parcels"; }
  folder::Layout layout() const { return folder::layout_of(target, resource); }

  // A tar.gz of `files`, and its manifest.
  std::pair<Manifest, fs::path> batch(BatchMode mode,
                                      const std::map<std::string, std::string>& files,
                                      std::vector<std::string> deletes = {}) {
    ++seq;
    const auto src = dir / ("src-" + std::to_string(seq));
    fs::create_directories(src);
    uint64_t bytes = 0;
    for (const auto& [path, content] : files) {
      write(src / path, content);
      bytes += content.size();
    }
    const auto payload = dir / ("payload-" + std::to_string(seq) + ".tgz");
    const auto cmd = "tar -czf '" + payload.string() + "' -C '" + src.string() + "' .";
    REQUIRE(std::system(cmd.c_str()) == 0);
    Manifest m;
    m.batch_id = "B-" + std::to_string(seq);
    m.resource_id = resource.id;
    m.seq = seq;
    m.kind = ResourceKind::folder;
    m.mode = mode;
    m.payload = {"tar", "gzip", "UTF-8", fs::file_size(payload), "", std::nullopt};
    m.folder = FolderInfo{files.size(), bytes, std::move(deletes)};
    return {m, payload};
  }

  Expected<AppliedCounts, ApplyFailure> apply(const std::pair<Manifest, fs::path>& b) {
    return sink->apply(b.first, b.second, resource);
  }

  std::map<std::string, std::string> contents() const {
    std::map<std::string, std::string> out;
    for (auto& e : fs::recursive_directory_iterator(folder()))
      if (e.is_regular_file())
        out[e.path().lexically_relative(folder()).generic_string()] = slurp(e.path());
    return out;
  }
};

}  // namespace

TEST_CASE("full, then incremental with deletes: versions behind a link") {
  Fixture f;
  auto found = f.sink->find_applied(f.resource, "B-1");
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());

  auto b1 = f.batch(BatchMode::full, {{"a.txt", "alpha"},
                                      {"keep/k.txt", "keep"},
                                      {"old/x.txt", "x"},
                                      {"old/deeper/y.txt", "y"},
                                      {"文件.txt", "中文"}});
  auto r1 = f.apply(b1);
  REQUIRE_MESSAGE(r1.ok(), (r1.ok() ? "" : r1.error().rejection.message));
  CHECK(r1->rows == 5);
  CHECK(r1->deleted == 0);
  CHECK(r1->bytes == 5 + 4 + 1 + 1 + 6);
  CHECK(fs::is_symlink(f.folder()));
  CHECK(fs::read_symlink(f.folder()) == ".parcels.versions/B-1");
  CHECK(f.contents().at("文件.txt") == "中文");
  struct stat st {};
  REQUIRE(::stat((f.folder() / "a.txt").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  REQUIRE(::stat((f.folder() / "keep").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0750);

  auto b2 = f.batch(BatchMode::incremental, {{"a.txt", "ALPHA!"}, {"new.txt", "n"}},
                    {"old", "missing.txt", "文件.txt"});
  auto r2 = f.apply(b2);
  REQUIRE_MESSAGE(r2.ok(), (r2.ok() ? "" : r2.error().rejection.message));
  CHECK(r2->rows == 2);
  CHECK(r2->deleted == 3);  // old/x.txt, old/deeper/y.txt, 文件.txt
  CHECK(r2->bytes == 7);
  CHECK(fs::read_symlink(f.folder()) == ".parcels.versions/B-2");
  const std::map<std::string, std::string> want2 = {
      {"a.txt", "ALPHA!"}, {"keep/k.txt", "keep"}, {"new.txt", "n"}};
  CHECK(f.contents() == want2);
  // The previous version is intact, and unchanged files share their inode with it.
  const auto v1 = f.layout().version("B-1");
  CHECK(slurp(v1 / "a.txt") == "alpha");
  CHECK(slurp(v1 / "old" / "x.txt") == "x");
  CHECK(fs::equivalent(v1 / "keep" / "k.txt", f.folder() / "keep" / "k.txt"));

  // A full batch drops what it does not have; the version before the previous one goes.
  auto b3 = f.batch(BatchMode::full, {{"only.txt", "1"}});
  auto r3 = f.apply(b3);
  REQUIRE(r3.ok());
  CHECK(r3->deleted == 3);
  CHECK(f.contents() == std::map<std::string, std::string>{{"only.txt", "1"}});
  CHECK_FALSE(fs::exists(v1));
  CHECK_FALSE(fs::exists(f.layout().record_file("B-1")));
  CHECK(fs::exists(f.layout().version("B-2")));

  // Recovery: a new sink finds every batch recorded in the target.
  auto other = make_folder_sink(f.target);
  for (const auto& [batch_id, files, deleted] :
       std::vector<std::tuple<std::string, int64_t, int64_t>>{
           {"B-3", 1, 3}, {"B-2", 2, 3}, {"B-1", 5, 0}}) {
    const std::string id = batch_id;  // a structured binding cannot be captured by clang 14
    CAPTURE(id);
    auto c = other->find_applied(f.resource, id);
    REQUIRE(c.ok());
    REQUIRE(c->has_value());
    CHECK((*c)->rows == files);
    CHECK((*c)->deleted == deleted);
    CHECK((*c)->already_in_target);
  }
  auto none = other->find_applied(f.resource, "B-9");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("an incremental batch counts as deleted only the files its deletes named") {
  Fixture f;
  REQUIRE(f.apply(f.batch(BatchMode::full, {{"a", "file"}, {"b.txt", "b"}})).ok());
  // The archive makes a directory where the file `a` was: the file goes, but the protocol
  // counts for an incremental batch only what `deletes` names (here b.txt).
  auto r = f.apply(f.batch(BatchMode::incremental, {{"a/inner.txt", "in"}}, {"b.txt"}));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().rejection.message));
  CHECK(r->deleted == 1);
  const std::map<std::string, std::string> want = {{"a/inner.txt", "in"}};
  CHECK(f.contents() == want);
}

TEST_CASE("a rejected batch leaves the published folder and no staging behind") {
  Fixture f;
  REQUIRE(f.apply(f.batch(BatchMode::full, {{"a.txt", "alpha"}})).ok());
  const auto before = f.contents();

  SUBCASE("counts differ") {
    auto b = f.batch(BatchMode::full, {{"b.txt", "beta"}});
    b.first.folder->files = 2;
    auto r = f.apply(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rejection.code == RejectCode::payload_invalid);
    CHECK(r.error().rejection.message.find("folder.bytes say 2 and 4") != std::string::npos);
  }
  SUBCASE("a delete that leaves the folder") {
    auto r = f.apply(f.batch(BatchMode::incremental, {}, {"../../etc"}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rejection.code == RejectCode::unsafe_path);
  }
  SUBCASE("over a limit") {
    f.target.max_file_bytes = 3;
    auto r = f.apply(f.batch(BatchMode::incremental, {{"big.txt", "four"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rejection.code == RejectCode::too_large);
  }
  SUBCASE("declared beyond a limit") {
    f.target.max_entries = 1;
    auto r = f.apply(f.batch(BatchMode::full, {{"1", "1"}, {"2", "2"}}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rejection.code == RejectCode::too_large);
  }
  CHECK(f.contents() == before);
  CHECK(fs::read_symlink(f.folder()) == ".parcels.versions/B-1");
  for (auto& e : fs::directory_iterator(f.layout().versions()))
    CHECK(e.path().filename().string().find("staging") == std::string::npos);
}

TEST_CASE("not enough free space pauses the resource") {
  Fixture f;
  f.target.max_total_bytes = UINT64_MAX / 8;
  f.target.max_ratio = UINT64_MAX / 1024;
  auto b = f.batch(BatchMode::full, {{"a.txt", "alpha"}});
  b.first.folder->bytes = 1ULL << 60;
  auto r = f.apply(b);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ApplyFailure::Kind::unavailable);
  CHECK(r.error().rejection.message.find("not enough free disk space") != std::string::npos);
  CHECK_FALSE(fs::exists(f.folder()));
}

TEST_CASE("a folder the agent did not make is not replaced") {
  Fixture f;
  write(f.folder() / "mine.txt", "operator's");
  auto r = f.apply(f.batch(BatchMode::full, {{"a.txt", "alpha"}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ApplyFailure::Kind::unavailable);
  CHECK(slurp(f.folder() / "mine.txt") == "operator's");

  // An empty one is.
  Fixture g;
  fs::create_directories(g.folder());
  REQUIRE(g.apply(g.batch(BatchMode::full, {{"a.txt", "alpha"}})).ok());
  CHECK(fs::is_symlink(g.folder()));
}

TEST_CASE("leftovers of a crash are cleared by the next batch") {
  Fixture f;
  REQUIRE(f.apply(f.batch(BatchMode::full, {{"a.txt", "alpha"}})).ok());
  const auto versions = f.layout().versions();
  write(versions / "B-2~staging" / "half.txt", "half");
  write(versions / "B-2" / "unpublished.txt", "u");
  auto r = f.apply(f.batch(BatchMode::incremental, {{"b.txt", "beta"}}));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().rejection.message));
  const std::map<std::string, std::string> want = {{"a.txt", "alpha"}, {"b.txt", "beta"}};
  CHECK(f.contents() == want);
  CHECK_FALSE(fs::exists(versions / "B-2~staging"));
}

TEST_CASE("verify_folder reports changed, missing and unexpected files") {
  Fixture f;
  auto unpublished = verify_folder(f.target, f.resource);
  REQUIRE_FALSE(unpublished.ok());
  CHECK(unpublished.error().message.find("no batch of R-1") != std::string::npos);

  REQUIRE(f.apply(f.batch(BatchMode::full,
                          {{"a.txt", "alpha"}, {"b.txt", "beta"}, {"c/d.txt", "delta"}}))
              .ok());
  auto clean = verify_folder(f.target, f.resource);
  REQUIRE(clean.ok());
  CHECK(clean->ok());
  CHECK(clean->files == 3);
  CHECK(clean->bytes == 14);
  CHECK(format_verification(f.resource, *clean).find(": OK\n") != std::string::npos);

  // Local changes: new inodes, so the hard-linked previous versions are not touched.
  fs::remove(f.folder() / "a.txt");
  write(f.folder() / "a.txt", "ALPHA");
  fs::remove(f.folder() / "b.txt");
  write(f.folder() / "b.txt", "much longer");
  fs::remove(f.folder() / "c" / "d.txt");
  write(f.folder() / "extra.txt", "?");
  auto v = verify_folder(f.target, f.resource);
  REQUIRE(v.ok());
  REQUIRE(v->differences.size() == 4);
  CHECK(v->differences[0].path == "a.txt");
  CHECK(v->differences[0].kind == FolderDifference::Kind::changed);
  CHECK(v->differences[1].detail == "size 11, recorded 4");
  CHECK(v->differences[2].path == "c/d.txt");
  CHECK(v->differences[2].kind == FolderDifference::Kind::missing);
  CHECK(v->differences[3].kind == FolderDifference::Kind::unexpected);
  const auto text = format_verification(f.resource, *v);
  CHECK(text.find("4 differences\n") != std::string::npos);
  CHECK(text.find("\nchanged    b.txt  (size 11, recorded 4)\n") != std::string::npos);
  CHECK(text.find("\nmissing    c/d.txt\n") != std::string::npos);
  CHECK(text.find("\nunexpected extra.txt\n") != std::string::npos);
}

TEST_CASE("the listing round-trips names with spaces and CJK") {
  Fixture f;
  const auto layout = f.layout();
  fs::create_directories(layout.versions());
  folder::Listing listing{{"a b/c d.txt", {12, std::string(64, 'a')}},
                          {"报告/附件 一.pdf", {0, std::string(64, 'b')}}};
  REQUIRE(folder::write_listing(layout, "B-1", listing).ok());
  auto back = folder::read_listing(layout, "B-1");
  REQUIRE(back.ok());
  CHECK(back->size() == 2);
  CHECK(back->at("a b/c d.txt").size == 12);
  CHECK(back->at("报告/附件 一.pdf").sha256 == std::string(64, 'b'));
}
