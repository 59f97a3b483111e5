// The keys of folder targets: modes and the limits against decompression bombs.
#include <doctest/doctest.h>

#include "agent/config/tests/config_fixture.h"

using namespace fep;
using namespace fep::config_test;

namespace {

const std::string kHead =
    "node: {id: N-1}\n"
    "exchange: {url: https://x.example/api, token_file: @TOKEN@}\n"
    "targets:\n";

}  // namespace

TEST_CASE("folder targets: defaults come from the table and match config.h") {
  Fixture f;
  auto c = f.parse(kHead + "  files: {type: folder, path: /srv/fep}\nresources: []\n");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  const auto& t = c->targets.at("files");
  const TargetConfig defaults;
  CHECK(t.file_mode == defaults.file_mode);
  CHECK(t.dir_mode == defaults.dir_mode);
  CHECK(t.max_entries == defaults.max_entries);
  CHECK(t.max_total_bytes == defaults.max_total_bytes);
  CHECK(t.max_file_bytes == defaults.max_file_bytes);
  CHECK(t.max_ratio == defaults.max_ratio);
  CHECK(t.file_mode == 0640);
  CHECK(t.dir_mode == 0750);
}

TEST_CASE("folder targets: modes and limits as given") {
  Fixture f;
  auto c = f.parse(kHead +
                   "  files:\n"
                   "    type: folder\n"
                   "    path: /srv/fep\n"
                   "    file_mode: 0644\n"
                   "    dir_mode: \"755\"\n"
                   "    max_entries: 10\n"
                   "    max_total_bytes: 1048576\n"
                   "    max_file_bytes: 4096\n"
                   "    max_ratio: 1000\n"
                   "resources: []\n");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  const auto& t = c->targets.at("files");
  CHECK(t.file_mode == 0644);
  CHECK(t.dir_mode == 0755);
  CHECK(t.max_entries == 10);
  CHECK(t.max_total_bytes == 1048576);
  CHECK(t.max_file_bytes == 4096);
  CHECK(t.max_ratio == 1000);
}

TEST_CASE("folder targets: bad modes and limits name the key") {
  Fixture f;
  const auto with = [&](const std::string& extra) {
    return f.error(kHead + "  files:\n    type: folder\n    path: /srv/fep\n" + extra +
                   "resources: []\n");
  };
  CHECK(contains(with("    file_mode: 4755\n"),
                 "agent.yaml:7:16: targets.files.file_mode: expected an octal mode such as 0640, "
                 "at most 0777 (no setuid, setgid or sticky bits), found \"4755\""));
  CHECK(contains(with("    file_mode: 0648\n"), "targets.files.file_mode: expected an octal mode"));
  CHECK(contains(with("    file_mode: rw-r-----\n"), "targets.files.file_mode: expected an octal"));
  CHECK(contains(with("    file_mode: 0240\n"),
                 "targets.files.file_mode: the owner must be able to read (0400)"));
  CHECK(
      contains(with("    dir_mode: 0550\n"), "targets.files.dir_mode: the owner needs rwx (0700)"));
  CHECK(contains(with("    max_entries: 0\n"),
                 "agent.yaml:7:18: targets.files.max_entries: must be at least 1"));
  CHECK(contains(with("    max_ratio: -5\n"), "targets.files.max_ratio: must be at least 1"));
  CHECK(contains(with("    max_total_bytes: 10G\n"),
                 "targets.files.max_total_bytes: expected an integer, found \"10G\""));
  // Folder keys are not odbc keys, and the other way round.
  CHECK(contains(f.error(kHead + "  db: {type: odbc, connection: \"Driver=X\", max_ratio: 5}\n"
                                 "resources: []\n"),
                 "targets.db.max_ratio: unknown key"));
}

TEST_CASE("the reference lists the folder keys") {
  const auto md = config_reference_markdown();
  CHECK(contains(md, "| `file_mode` | string | no | `0640` |"));
  CHECK(contains(md, "| `max_total_bytes` | integer | no | `10737418240` |"));
}
