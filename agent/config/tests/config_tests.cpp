#include <doctest/doctest.h>

#include "agent/config/tests/config_fixture.h"

using namespace fep;
using namespace fep::config_test;

namespace {

const std::string kSample = R"(node:
  id: N-410404-001
exchange:
  url: https://exchange.example/api
  token_file: @TOKEN@
  allow_insecure_http: false      # true permits http:// (tests, loopback)
state_dir: /var/lib/fep-agent
targets:
  local_db:
    type: odbc
    connection: "Driver=SQLite3;Database=/var/lib/fep-agent/local.db"
    # password_file: ...            # read at start, passed as PWD, never logged
    # dialect: sqlite               # sqlite|postgresql|mysql|dm|kingbase; detected when absent
  files:
    type: folder
    path: /srv/fep/files
resources:
  - id: R-SCJG-0001
    target: local_db
    table: ent_registration         # optional; default: the manifest's table name
    schedule: "every 15m"           # used by the daemon (a later issue); accepted now
  - id: R-ZRZY-0102
    target: files
    path: parcels                   # optional; default: the resource id
status:
  listen: 127.0.0.1:8470
)";

}  // namespace

TEST_CASE("the sample config loads and every field lands") {
  Fixture f;
  write(f.dir / "agent.yaml", f.expand(kSample));
  auto config = load_config(f.dir / "agent.yaml");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  CHECK(config->source == f.dir / "agent.yaml");
  CHECK(config->node.id == "N-410404-001");
  CHECK(config->exchange.url == "https://exchange.example/api");
  CHECK(config->exchange.token_file == f.dir / "token");
  CHECK(config->exchange.token == kToken);
  CHECK_FALSE(config->exchange.allow_insecure_http);
  CHECK(config->state_dir == "/var/lib/fep-agent");
  REQUIRE(config->targets.size() == 2);
  const auto* db = config->find_target("local_db");
  REQUIRE(db != nullptr);
  CHECK(db->name == "local_db");
  CHECK(db->type == TargetType::odbc);
  CHECK(db->connection == "Driver=SQLite3;Database=/var/lib/fep-agent/local.db");
  CHECK_FALSE(db->password_file);
  CHECK_FALSE(db->password);
  CHECK_FALSE(db->dialect);
  const auto* files = config->find_target("files");
  REQUIRE(files != nullptr);
  CHECK(files->type == TargetType::folder);
  CHECK(files->path == "/srv/fep/files");
  CHECK(config->find_target("nope") == nullptr);
  REQUIRE(config->resources.size() == 2);
  const auto* r0 = config->find_resource("R-SCJG-0001");
  REQUIRE(r0 != nullptr);
  CHECK(r0->target == "local_db");
  CHECK(r0->table == "ent_registration");
  CHECK_FALSE(r0->path);
  CHECK(r0->schedule_text == "every 15m");
  CHECK(r0->schedule.kind == Schedule::Kind::interval);
  CHECK(r0->schedule.interval == std::chrono::minutes(15));
  const auto& r1 = config->resources[1];
  CHECK(r1.id == "R-ZRZY-0102");
  CHECK(r1.target == "files");
  CHECK(r1.path == "parcels");
  CHECK_FALSE(r1.table);
  CHECK(r1.schedule.interval == std::chrono::minutes(15));  // the default
  CHECK(config->find_resource("R-none") == nullptr);
  CHECK(config->status.listen == "127.0.0.1:8470");
}

TEST_CASE("defaults come from the tables and match config.h") {
  Fixture f;
  auto config = f.parse(kBase + "  []\n");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  const ExchangeConfig defaults;
  CHECK(config->exchange.allow_insecure_http == defaults.allow_insecure_http);
  CHECK(config->exchange.connect_timeout == defaults.connect_timeout);
  CHECK(config->exchange.low_speed_bytes == defaults.low_speed_bytes);
  CHECK(config->exchange.low_speed_time == defaults.low_speed_time);
  CHECK(config->exchange.max_attempts == defaults.max_attempts);
  CHECK(config->exchange.retry_base == defaults.retry_base);
  CHECK(config->exchange.retry_cap == defaults.retry_cap);
  CHECK(config->state_dir == Config{}.state_dir);
  CHECK(config->status.listen == StatusConfig{}.listen);
  CHECK(config->resources.empty());
}

TEST_CASE("exchange tuning keys, a trailing slash and http with allow_insecure_http") {
  Fixture f;
  auto text = replace_all(kBase, "https://x.example", "http://127.0.0.1:9000/api//");
  text = replace_all(text, "  token_file: @TOKEN@\n",
                     "  token_file: @TOKEN@\n  allow_insecure_http: true\n  connect_timeout: 2m\n"
                     "  low_speed_limit: 0\n  low_speed_time: 1h\n  max_attempts: 7\n"
                     "  retry_base: 250ms\n  retry_cap: 2m\n");
  auto config = f.parse(text + "  []\nstatus: {listen: \"[::1]:9\"}\n");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  CHECK(config->exchange.url == "http://127.0.0.1:9000/api");
  CHECK(config->exchange.allow_insecure_http);
  CHECK(config->exchange.connect_timeout == std::chrono::minutes(2));
  CHECK(config->exchange.low_speed_bytes == 0);
  CHECK(config->exchange.low_speed_time == std::chrono::hours(1));
  CHECK(config->exchange.max_attempts == 7);
  CHECK(config->exchange.retry_base == std::chrono::milliseconds(250));
  CHECK(config->exchange.retry_cap == std::chrono::minutes(2));
  CHECK(config->status.listen == "[::1]:9");
}

TEST_CASE("relative paths resolve against the config file's folder; password_file is read") {
  Fixture f;
  const std::string yaml = R"(node: {id: N-1}
exchange: {url: "https://x.example/", token_file: token}
state_dir: state
targets:
  db: {type: odbc, connection: "Driver=PostgreSQL;Server=db;UID=fep", password_file: pw, dialect: postgresql}
  files: {type: folder, path: ./out/../files}
resources:
  - {id: R-1, target: files}
  - {id: R-2, target: db}
)";
  write(f.dir / "agent.yaml", yaml);
  auto config = load_config(f.dir / "agent.yaml");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  CHECK(config->exchange.url == "https://x.example");
  CHECK(config->exchange.token == kToken);
  CHECK(config->state_dir == f.dir / "state");
  const auto& db = config->targets.at("db");
  CHECK(db.password_file == f.dir / "pw");
  CHECK(db.password == kPassword);
  CHECK(db.dialect == "postgresql");
  CHECK(config->targets.at("files").path == f.dir / "files");
}

TEST_CASE("secrets never appear in messages or the reference") {
  Fixture f;
  write(f.dir / "empty", "\n");
  CHECK(contains(f.error(replace_all(kBase, "@TOKEN@", "@DIR@/missing") + "  []\n"),
                 "agent.yaml:5:15: exchange.token_file: cannot read "));
  CHECK(contains(f.error(replace_all(kBase, "@TOKEN@", "@DIR@/empty") + "  []\n"),
                 "agent.yaml:5:15: exchange.token_file: "));
  // Inline password plus password_file: an error that names the key, not the string.
  const auto both = replace_all(kBase, "Database=/tmp/x.db\"\n",
                                "Database=/tmp/x.db;pwd = hunter2\"\n    password_file: @PW@\n");
  const auto message = f.error(both + "  []\n");
  CHECK(message ==
        "agent.yaml:9:17: targets.db.connection: has a PWD/Password part while password_file is "
        "set; remove it");
  CHECK_FALSE(contains(message, "hunter2"));
  CHECK_FALSE(contains(
      f.error(replace_all(both, "    type: odbc\n", "    type: odbc\n    x: 1\n") + "  []\n"),
      "hunter2"));
  const auto md = config_reference_markdown();
  CHECK_FALSE(contains(md, kToken));
  CHECK_FALSE(contains(md, kPassword));
}

TEST_CASE("all errors of a file are reported at once") {
  Fixture f;
  const auto message = f.error(replace_all(kBase, "N-1", "N 1") + "  - {id: R-1, target: nope}\n");
  CHECK(contains(message, "agent.yaml:2:7: node.id:"));
  CHECK(contains(message, "\nagent.yaml:14:23: resources[0].target:"));
}

TEST_CASE("load_config reports an unreadable file") {
  auto config = load_config("/nonexistent/fep/agent.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(contains(config.error().message, "/nonexistent/fep/agent.yaml"));
}

TEST_CASE("retention: durations in days, at least one day, defaults as in config.h") {
  Fixture f;
  auto defaults = f.parse(kBase + "  []\n");
  REQUIRE(defaults.ok());
  CHECK(defaults->retention.events == RetentionConfig{}.events);
  CHECK(defaults->retention.rejected_payloads == RetentionConfig{}.rejected_payloads);
  CHECK(defaults->retention.events == std::chrono::hours(24 * 180));
  auto set = f.parse(kBase + "  []\nretention:\n  events: 400d\n  rejected_payloads: 72h\n");
  REQUIRE_MESSAGE(set.ok(), (set.ok() ? "" : set.error().message));
  CHECK(set->retention.events == std::chrono::hours(24 * 400));
  CHECK(set->retention.rejected_payloads == std::chrono::hours(72));
  CHECK(f.error(kBase + "  []\nretention:\n  events: 12h\n") ==
        "agent.yaml:16:11: retention.events: must be at least 1d");
  CHECK(f.error(kBase + "  []\nretention:\n  events: 36501d\n") ==
        "agent.yaml:16:11: retention.events: \"36501d\" is longer than the longest duration, "
        "36500d (100 years)");
  CHECK(f.parse(kBase + "  []\ndaemon:\n  heartbeat_interval: 36500d\n").ok());
  CHECK(f.error(kBase + "  []\nretention:\n  keep: 1d\n").find("unknown key") != std::string::npos);
}

TEST_CASE("the reference renders every section from the tables") {
  const auto md = config_reference_markdown();
  for (const char* s : {"## Top level", "## node", "## exchange", "## targets.<name> (type: odbc)",
                        "## targets.<name> (type: folder)", "## resources[]", "## status"})
    CHECK(contains(md, s));
  CHECK(contains(md, "| `connect_timeout` | duration | no | `15s` |"));
  CHECK(contains(md, "| `token_file` | path | yes |  |"));
  CHECK(contains(md, "One of: sqlite, postgresql, mysql, dm, kingbase."));
  CHECK(contains(md, "config file's directory"));
}

TEST_CASE("odbc targets take a schema and a table prefix; resources an on_schema_change") {
  fep::config_test::Fixture f;
  auto c = f.parse(
      "node: {id: N-1}\n"
      "exchange: {url: https://x.example/api, token_file: @TOKEN@}\n"
      "targets:\n"
      "  db: {type: odbc, connection: \"Driver=PostgreSQL Unicode\", schema: ods, "
      "table_prefix: scjg_}\n"
      "resources:\n"
      "  - {id: R-1, target: db, on_schema_change: rebuild}\n"
      "  - {id: R-2, target: db}\n");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  const auto& db = c->targets.at("db");
  CHECK(db.db_schema == "ods");
  CHECK(db.table_prefix == "scjg_");
  CHECK(c->resources[0].on_schema_change == OnSchemaChange::rebuild);
  CHECK(c->resources[1].on_schema_change == OnSchemaChange::reject);
}

TEST_CASE("table names stay clear of the agent's own tables and within 63 characters") {
  fep::config_test::Fixture f;
  const std::string head =
      "node: {id: N-1}\n"
      "exchange: {url: https://x.example/api, token_file: @TOKEN@}\n"
      "targets:\n";
  auto prefix = f.error(head +
                        "  db: {type: odbc, connection: \"Driver=X\", table_prefix: _fep_}\n"
                        "resources: []\n");
  CHECK(fep::config_test::contains(prefix, "targets.db.table_prefix: must match [A-Za-z]"));
  auto schema = f.error(head +
                        "  db: {type: odbc, connection: \"Driver=X\", dialect: mysql, "
                        "schema: ods}\nresources: []\n");
  CHECK(fep::config_test::contains(schema, "targets.db.schema: the mysql dialect has no schemas"));
  auto longname = f.error(
      head + "  db: {type: odbc, connection: \"Driver=X\", table_prefix: " + std::string(30, 'p') +
      "}\nresources:\n  - {id: R-1, target: db, table: " + std::string(40, 't') + "}\n");
  CHECK(fep::config_test::contains(longname, "resources[0].table: with the target's table_prefix"));
}
