// Each error class, with the exact file:line:column and key path it reports.
#include <doctest/doctest.h>

#include "agent/config/tests/config_fixture.h"

using namespace fep;
using namespace fep::config_test;

TEST_CASE("YAML syntax errors and empty files carry a mark") {
  Fixture f;
  CHECK(f.error("") ==
        "agent.yaml:1:1: the file is empty (expected a map with keys: node, "
        "exchange, state_dir, targets, resources, status, daemon, log, retention)");
  CHECK(contains(f.error("# only a comment\n"), "agent.yaml:1:1: the file is empty"));
  CHECK(f.error("node:\n  id: [N-1\nexchange: x\n") ==
        "agent.yaml:3:9: YAML syntax error: end of sequence flow not found");
  CHECK(f.error("- a\n- b\n") == "agent.yaml:1:1: expected a map at the top level, found a list");
  CHECK(contains(f.error(kBase + "  []\n---\nnode: {}\n"),
                 "agent.yaml:16:1: only one YAML document is allowed"));
}

TEST_CASE("text yaml-cpp cannot get past is a syntax error, not an endless parse") {
  // yaml-cpp 0.7 reads a stray ',' as endless empty documents (its issue 1040).
  Fixture f;
  CHECK(f.error(",") == "agent.yaml:1:1: YAML syntax error: unexpected ','");
  CHECK(f.error("\n,\n") == "agent.yaml:2:1: YAML syntax error: unexpected ','");
  CHECK(f.error("# comment\n---\n,\n") == "agent.yaml:3:1: YAML syntax error: unexpected ','");
  CHECK(f.error(kBase + "  []\n,\n") == "agent.yaml:15:1: YAML syntax error: end of map not found");
  CHECK(contains(f.error("node:\n  id: N-1\n ,x\n"), "YAML syntax error"));
}

TEST_CASE("unknown keys are errors that list the valid keys") {
  Fixture f;
  CHECK(f.error(kBase + "  []\ncolour: blue\n") ==
        "agent.yaml:15:1: colour: unknown key (valid keys: node, exchange, state_dir, targets, "
        "resources, status, daemon, log, retention)");
  // A folder key on an odbc target.
  const auto odbc_path = replace_all(kBase, "x.db\"\n", "x.db\"\n    path: /srv/x\n");
  CHECK(f.error(odbc_path + "  []\n") ==
        "agent.yaml:10:5: targets.db.path: unknown key (valid keys: type, connection, "
        "password_file, dialect, schema, table_prefix, statement_timeout, allow_driver_path)");
  CHECK(contains(f.error(kBase + "  - {id: R-1, target: db, tabel: t}\n"),
                 "agent.yaml:14:27: resources[0].tabel: unknown key (valid keys: id, target, "
                 "table, path, schedule, window, on_schema_change)"));
  CHECK(contains(f.error(kBase + "  []\nresources: []\n"),
                 "agent.yaml:15:1: resources: duplicate key (first at line 13)"));
}

TEST_CASE("missing required keys point at the parent map") {
  Fixture f;
  CHECK(f.error(replace_all(kBase, "  token_file: @TOKEN@\n", "") + "  []\n") ==
        "agent.yaml:4:3: exchange.token_file: missing required key");
  const auto no_id = f.error(replace_all(kBase, "  id: N-1\n", "  name: N-1\n") + "  []\n");
  CHECK(contains(no_id, "agent.yaml:2:3: node.name: unknown key (valid keys: id)"));
  CHECK(contains(no_id, "agent.yaml:2:3: node.id: missing required key"));
  const auto bare = f.error("node: {id: N-1}\n");
  CHECK(contains(bare, "agent.yaml:1:1: exchange: missing required key"));
  CHECK(contains(bare, "agent.yaml:1:1: targets: missing required key"));
  CHECK(contains(bare, "agent.yaml:1:1: resources: missing required key"));
  CHECK(contains(f.error(kBase + "  - {target: db}\n"),
                 "agent.yaml:14:5: resources[0].id: missing required key"));
  CHECK(f.error(replace_all(kBase, "    path: /tmp/files\n", "") + "  []\n") ==
        "agent.yaml:11:5: targets.files.path: missing required key");
  CHECK(f.error(replace_all(kBase, "    type: folder\n", "") + "  []\n") ==
        "agent.yaml:11:5: targets.files.type: missing required key (odbc or folder)");
  CHECK(contains(f.error(kBase), "agent.yaml:13:1: resources: has no value (write [] for none)"));
  CHECK(contains(f.error("node: {id: N-1}\nexchange: {url: https://x, token_file: @TOKEN@}\n"
                         "targets: {}\nresources: []\n"),
                 "agent.yaml:3:10: targets: at least one target is required"));
}

TEST_CASE("wrong types") {
  Fixture f;
  CHECK(f.error(replace_all(kBase, "https://x.example", "{a: 1}") + "  []\n") ==
        "agent.yaml:4:8: exchange.url: expected a string, found a map");
  CHECK(f.error(replace_all(kBase, "node:\n  id: N-1\n", "node: [N-1]\n") + "  []\n") ==
        "agent.yaml:1:7: node: expected a map, found a list");
  const auto with = [&](const std::string& line) {
    return f.error(
        replace_all(kBase, "  token_file: @TOKEN@\n", "  token_file: @TOKEN@\n" + line + "\n") +
        "  []\n");
  };
  CHECK(with("  allow_insecure_http: yes") ==
        "agent.yaml:6:24: exchange.allow_insecure_http: expected true or false, found \"yes\"");
  CHECK(with("  max_attempts: 4.5") ==
        "agent.yaml:6:17: exchange.max_attempts: expected an integer, found \"4.5\"");
  CHECK(with("  max_attempts: \"4\"") ==
        "agent.yaml:6:17: exchange.max_attempts: expected an integer, found a quoted string");
  CHECK(with("  max_attempts: 0") == "agent.yaml:6:17: exchange.max_attempts: must be 1 to 100");
  CHECK(with("  max_attempts:") == "agent.yaml:6:3: exchange.max_attempts: has no value");
  CHECK(contains(with("  connect_timeout: 15"),
                 "agent.yaml:6:20: exchange.connect_timeout: expected a duration"));
  CHECK(with("  connect_timeout: 1500ms") ==
        "agent.yaml:6:20: exchange.connect_timeout: must be whole seconds");
  CHECK(with("  retry_base: 0s") == "agent.yaml:6:15: exchange.retry_base: must be more than 0");
  CHECK(with("  retry_cap: 100ms") ==
        "agent.yaml:6:14: exchange.retry_cap: must be at least retry_base");
}

TEST_CASE("value checks") {
  Fixture f;
  CHECK(f.error(replace_all(kBase, "N-1", "N 1") + "  []\n") ==
        "agent.yaml:2:7: node.id: must be 1-128 characters of [A-Za-z0-9._-]");
  const auto http = f.error(replace_all(kBase, "https://", "http://") + "  []\n");
  CHECK(contains(http, "agent.yaml:4:8: exchange.url: http:// sends the token in clear text"));
  CHECK(contains(http, "allow_insecure_http: true"));
  CHECK(contains(f.error(replace_all(kBase, "https://x.example", "ftp://x") + "  []\n"),
                 "agent.yaml:4:8: exchange.url: must start with https://"));
  CHECK(f.error(replace_all(kBase, "    type: odbc\n", "    type: odbc\n    dialect: oracle\n") +
                "  []\n") ==
        "agent.yaml:9:14: targets.db.dialect: unknown value \"oracle\" (one of: sqlite, "
        "postgresql, mysql, dm, kingbase)");
  CHECK(f.error(replace_all(kBase, "  db:", "  d b:") + "  []\n") ==
        "agent.yaml:7:3: targets.d b: target names are [A-Za-z0-9_-]+");
  CHECK(f.error(kBase + "  []\nstatus:\n  listen: 127.0.0.1:0\n") ==
        "agent.yaml:16:11: status.listen: port must be 1-65535");
  CHECK(contains(f.error(kBase + "  []\nstatus: {listen: localhost}\n"),
                 "agent.yaml:15:18: status.listen: must be host:port"));
  CHECK(f.error(kBase + "  []\nstatus: {listen: \"host:70000\"}\n") ==
        "agent.yaml:15:18: status.listen: port must be 1-65535");
}

TEST_CASE("an odbc target's statement timeout: whole seconds, more than 0, at most a day") {
  Fixture f;
  auto with = [](const std::string& value) {
    return replace_all(kBase, "    type: odbc\n",
                       "    type: odbc\n    statement_timeout: " + value + "\n") +
           "  []\n";
  };
  CHECK(f.parse(kBase + "  []\n").value().targets.at("db").statement_timeout ==
        std::chrono::minutes(30));
  CHECK(f.parse(with("90s")).value().targets.at("db").statement_timeout ==
        std::chrono::seconds(90));
  CHECK(f.parse(with("24h")).value().targets.at("db").statement_timeout == std::chrono::hours(24));
  CHECK(f.error(with("0s")) ==
        "agent.yaml:9:24: targets.db.statement_timeout: must be more than 0");
  CHECK(f.error(with("1500ms")) ==
        "agent.yaml:9:24: targets.db.statement_timeout: must be whole seconds");
  CHECK(f.error(with("25h")) ==
        "agent.yaml:9:24: targets.db.statement_timeout: must be at most 24h");
}

TEST_CASE("resource checks") {
  Fixture f;
  const auto res = [&](const std::string& items) { return f.error(kBase + items); };
  CHECK(res("  - {id: R-1, target: db}\n  - {id: R-1, target: files}\n") ==
        "agent.yaml:15:10: resources[1].id: duplicate resource id (first at line 14)");
  CHECK(res("  - {id: R-1, target: dbx}\n") ==
        "agent.yaml:14:23: resources[0].target: no target named \"dbx\" (targets: db, files)");
  CHECK(res("  - {id: R-1, target: db, table: T1}\n  - {id: R-2, target: db, table: t1}\n") ==
        "agent.yaml:15:34: resources[1].table: table t1 is also written by resources[0] (R-1) "
        "on target db");
  CHECK(res("  - {id: R-1, target: files, path: a}\n  - {id: R-2, target: files, path: ./a/}\n") ==
        "agent.yaml:15:36: resources[1].path: folder a overlaps folder a of resources[0] (R-1) on "
        "target files");
  CHECK(contains(res("  - {id: R-1, target: files, path: R-2/x}\n  - {id: R-2, target: files}\n"),
                 "agent.yaml:15:10: resources[1].id: folder R-2 overlaps folder R-2/x"));
  CHECK(res("  - {id: R-1, target: db, table: _t}\n") ==
        "agent.yaml:14:34: resources[0].table: must match [A-Za-z][A-Za-z0-9_]{0,62} (no "
        "leading '_')");
  CHECK(res("  - {id: R-1, target: db, table: 1t}\n") ==
        "agent.yaml:14:34: resources[0].table: must match [A-Za-z][A-Za-z0-9_]{0,62} (no "
        "leading '_')");
  CHECK(res("  - {id: R-1, target: files, table: t}\n") ==
        "agent.yaml:14:37: resources[0].table: applies to odbc targets only; target files is a "
        "folder");
  CHECK(res("  - {id: R-1, target: files, path: /abs}\n") ==
        "agent.yaml:14:36: resources[0].path: must be relative to the target's folder, not "
        "absolute");
  CHECK(res("  - {id: R-1, target: files, path: a/../../b}\n") ==
        "agent.yaml:14:36: resources[0].path: must not contain '..'");
  CHECK(res("  - {id: \"..\", target: files}\n") ==
        "agent.yaml:14:10: resources[0].id: cannot serve as the folder name; set path");
  CHECK(contains(res("  - {id: R-1, target: db, schedule: \"*/15 * * 13 *\"}\n"),
                 "agent.yaml:14:37: resources[0].schedule: expected \"every <n><s|m|h|d>\", a "
                 "5-field cron expression"));
  CHECK(contains(res("  - {id: R-1, target: db, schedule: every 10ms}\n"), "unit"));
  CHECK(contains(res("  - {id: R-1, target: db, window: \"22:00-25:00\"}\n"),
                 "resources[0].window: expected \"HH:MM-HH:MM\""));
  for (const char* ok : {"every 2h", "every 1d", "\"*/15 * * * *\"", "\"0 2 * * 1-5\"", "manual"})
    CHECK(f.parse(kBase + "  - {id: R-1, target: db, schedule: " + ok + "}\n").ok());
}
