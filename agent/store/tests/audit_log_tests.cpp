#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

#include "adapters/base/clock.h"
#include "agent/store/audit_log.h"
#include "agent/store/state_store.h"
#include "agent/store/tests/store_fixture.h"

using namespace fep;
using namespace fep::store;

namespace {

using store_test::outcome;
using store_test::TempDir;

std::vector<AuditEntry> entries(Database& db) {
  std::vector<AuditEntry> out;
  REQUIRE(read_audit(db, [&](const AuditEntry& e) { out.push_back(e); }).ok());
  return out;
}

// A store that went through the usual life of a few batches: 11 entries.
void populate(const TempDir& dir) {
  auto store = StateStore::open(dir.db());
  REQUIRE(store.ok());
  REQUIRE(store
              ->upsert_subscription(
                  {"R-1", "企业登记信息", "table", "市场监督管理局", "unconditional", "approved"})
              .ok());
  for (int i = 1; i <= 3; ++i) {
    const std::string id = "B-" + std::to_string(i);
    REQUIRE(store->record_listed({id, "R-1", i, "incremental", "", std::nullopt}).ok());
    REQUIRE(store->record_outcome(outcome(id, i, "applied")).ok());
    REQUIRE(store->receipt_delivered("rcpt-" + id, 201).value());
  }
  REQUIRE(store->audit({"batch.verified", "agent", "R-1", "B-3", R"({"sha256":"ab12"})"}).ok());
  REQUIRE(store->audit({"config.reload", "agent", std::nullopt, std::nullopt, "{}"}).ok());
}

AuditVerification verify(const TempDir& dir, const std::optional<AuditAnchor>& anchor = {}) {
  auto db = Database::open_read_only(dir.db());
  REQUIRE(db.ok());
  auto v = verify_audit(*db, anchor);
  REQUIRE(v.ok());
  return *v;
}

Database writer(const TempDir& dir) {
  auto db = Database::open(dir.db());
  REQUIRE(db.ok());
  return std::move(db).value();
}

// What someone with write access and the algorithm can do: rewrite an entry, hash included.
void rewrite(Database& db, int64_t id, const std::string& detail) {
  AuditEntry e;
  for (const auto& x : entries(db))
    if (x.id == id) e = x;
  e.detail = detail;
  e.hash = *audit_hash(e);
  REQUIRE(
      db.run("UPDATE audit_log SET detail = ?, hash = ? WHERE id = ?", {detail, e.hash, id}).ok());
}

}  // namespace

TEST_CASE("the canonical encoding is length-prefixed and keeps NULL apart from empty") {
  AuditEntry e{1,  "2026-11-20T02:03:11+08:00", "agent", "batch.received",           "R-1",
               {}, R"({"seq":1,"名":"企业"})",  "sm3",   std::string(kAuditGenesis), ""};
  CHECK(audit_canonical(e) ==
        "fep-agent audit v1\n1:1\n25:2026-11-20T02:03:11+08:00\n5:agent\n14:batch.received\n"
        "3:R-1\n-\n24:{\"seq\":1,\"名\":\"企业\"}\n3:sm3\n64:" +
            std::string(kAuditGenesis) + "\n");
  // The same values as in docs/security.md's re-verification snippet, with Python's hashlib.
  CHECK(audit_hash(e) == "ac6b7e49fdb75d49fa11a313e2de71cfbca8d30e84fd76060dfd233f6a6b7826");
  e.alg = "sha256";
  CHECK(audit_hash(e) == "10140e0f3aec1094f0a422a5204fc9e64d1cb554e9dc4c424d4cb813987ceb28");
  e.alg = "md5";
  CHECK_FALSE(audit_hash(e).has_value());

  AuditEntry moved = e;
  moved.actor = "agen";
  moved.action = "tbatch.received";
  CHECK(audit_canonical(moved) != audit_canonical(e));
  AuditEntry empty = e;
  empty.batch_id = "";
  CHECK(audit_canonical(empty) != audit_canonical(e));
}

TEST_CASE("state store operations append a linked chain") {
  TempDir dir;
  populate(dir);
  {
    auto store = StateStore::open(dir.db());
    REQUIRE(store.ok());
    // Listed again (every run lists what is not decided yet): recorded once only.
    REQUIRE(store->record_listed({"B-4", "R-1", 4, "full", "", "2026-11-20T02:00:00+08:00"}).ok());
    REQUIRE(store->record_listed({"B-4", "R-1", 4, "full", "", "2026-11-20T02:00:00+08:00"}).ok());
    REQUIRE(store->record_outcome(outcome("B-4", 4, "rejected")).ok());
    REQUIRE(store->record_outcome(outcome("B-4", 4, "rejected")).ok());  // decided: no-op
    REQUIRE(store->receipt_refused("rcpt-B-4", 409, "a different receipt is held").ok());
    REQUIRE(store->unblock("R-1", "operator:alice").ok());
    REQUIRE(store->record_outcome(outcome("B-5", 5, "superseded")).ok());
    auto head = store->audit_head();
    REQUIRE(head.ok());
    CHECK(head->entries == 16);
    CHECK(head->last_id == 16);
  }
  auto db = Database::open_read_only(dir.db());
  REQUIRE(db.ok());
  auto all = entries(*db);
  REQUIRE(all.size() == 16);
  std::vector<std::string> actions;
  for (const auto& e : all) actions.push_back(e.action);
  CHECK(actions == std::vector<std::string>{"batch.received", "batch.applied", "receipt.accepted",
                                            "batch.received", "batch.applied", "receipt.accepted",
                                            "batch.received", "batch.applied", "receipt.accepted",
                                            "batch.verified", "config.reload", "batch.received",
                                            "batch.rejected", "receipt.refused", "operator.unblock",
                                            "batch.superseded"});
  std::string prev(kAuditGenesis);
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].id == static_cast<int64_t>(i + 1));
    CHECK(all[i].alg == "sm3");
    CHECK(all[i].prev_hash == prev);
    CHECK(audit_hash(all[i]) == all[i].hash);
    CHECK(nlohmann::json::parse(all[i].detail).is_object());
    prev = all[i].hash;
  }
  CHECK(all[0].actor == "agent");
  CHECK(all[0].resource_id == "R-1");
  CHECK(all[0].batch_id == "B-1");
  CHECK(nlohmann::json::parse(all[0].detail) ==
        nlohmann::json{{"seq", 1}, {"mode", "incremental"}});
  CHECK(nlohmann::json::parse(all[11].detail)["created_at"] == "2026-11-20T02:00:00+08:00");

  auto applied = nlohmann::json::parse(all[1].detail);
  CHECK(applied["seq"] == 1);
  CHECK(applied["counts"] == nlohmann::json{{"rows", 10}, {"deleted", 0}});
  CHECK(applied["payload_sha256"] == "ab12");
  CHECK(applied["receipt_id"] == "rcpt-B-1");
  CHECK_FALSE(applied.contains("error"));

  auto accepted = nlohmann::json::parse(all[2].detail);
  CHECK(accepted == nlohmann::json{{"http_status", 201}, {"receipt_id", "rcpt-B-1"}});
  CHECK(all[2].batch_id == "B-1");

  CHECK(all[10].resource_id == std::nullopt);
  auto rejected = nlohmann::json::parse(all[12].detail);
  CHECK(rejected["error"] ==
        nlohmann::json{{"code", "PAYLOAD_INVALID"}, {"message", "line 3: bad"}});
  auto refused = nlohmann::json::parse(all[13].detail);
  CHECK(refused["http_status"] == 409);
  CHECK(refused["reason"] == "a different receipt is held");
  CHECK(all[14].actor == "operator:alice");
  CHECK(all[14].batch_id == "B-4");
  CHECK(nlohmann::json::parse(all[14].detail) == nlohmann::json{{"after_seq", 4}});
  CHECK_FALSE(nlohmann::json::parse(all[15].detail).contains("payload_sha256"));

  auto v = verify_audit(*db);
  REQUIRE(v.ok());
  CHECK_FALSE(v->problem);
  CHECK(v->head.entries == 16);
  CHECK(v->head.hash == all.back().hash);
}

TEST_CASE("an entry commits or rolls back with the change it records") {
  TempDir dir;
  populate(dir);
  auto store = StateStore::open(dir.db());
  REQUIRE(store.ok());
  auto again = outcome("B-9", 9, "applied");
  again.receipt_id = "rcpt-B-1";  // the outbox insert fails on the duplicate receipt id
  CHECK_FALSE(store->record_outcome(again).ok());
  CHECK(store->audit_head()->entries == 11);

  auto db = writer(dir);
  {
    Transaction tx(db);
    REQUIRE(tx.begun().ok());
    REQUIRE(append_audit(db, {"operator.resync", "operator:bob", "R-1", std::nullopt, ""}).ok());
  }  // rolled back
  CHECK(store->audit_head()->entries == 11);
  // Without a transaction of the caller's, it makes its own.
  REQUIRE(append_audit(db, {"operator.resync", "operator:bob", "R-1", "", ""}).ok());
  auto all = entries(db);
  REQUIRE(all.size() == 12);
  CHECK(all.back().detail == "{}");
  CHECK(all.back().batch_id == std::nullopt);
  CHECK_FALSE(append_audit(db, {"", "agent", {}, {}, "{}"}).ok());
  CHECK_FALSE(verify(dir).problem);
}

TEST_CASE("the operator actor is the login name of the user running the command") {
  const std::string actor = operator_actor();
  CHECK(actor.rfind("operator:", 0) == 0);
  CHECK(actor.size() > std::string("operator:").size());
}

TEST_CASE("an empty log verifies") {
  TempDir dir;
  REQUIRE(StateStore::open(dir.db()).ok());
  auto v = verify(dir);
  CHECK_FALSE(v.problem);
  CHECK(v.head.entries == 0);
}

TEST_CASE("verify names an edited entry") {
  TempDir dir;
  populate(dir);
  auto db = writer(dir);
  SUBCASE("detail") {
    REQUIRE(
        db.run("UPDATE audit_log SET detail = replace(detail, '10', '11') WHERE id = 5", {}).ok());
  }
  SUBCASE("actor") {
    REQUIRE(db.run("UPDATE audit_log SET actor = 'operator:mallory' WHERE id = 5", {}).ok());
  }
  SUBCASE("a NULL made empty") {
    REQUIRE(db.run("UPDATE audit_log SET resource_id = '' WHERE id = 11", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 11);
    return;
  }
  auto v = verify(dir);
  REQUIRE(v.problem);
  CHECK(v.problem->id == 5);
  CHECK(v.problem->kind == "edited");
  CHECK(v.problem->message.find("entry 5: edited") == 0);
}

TEST_CASE("verify names an entry whose algorithm was changed") {
  TempDir dir;
  populate(dir);
  auto db = writer(dir);
  SUBCASE("to an unknown one") {
    REQUIRE(db.run("UPDATE audit_log SET alg = 'md5' WHERE id = 2", {}).ok());
  }
  SUBCASE("to the other one") {
    REQUIRE(db.run("UPDATE audit_log SET alg = 'sha256' WHERE id = 2", {}).ok());
  }
  auto v = verify(dir);
  REQUIRE(v.problem);
  CHECK(v.problem->id == 2);
  CHECK(v.problem->kind == "edited");
}

TEST_CASE("verify names an entry rewritten with a recomputed hash by the entry after it") {
  TempDir dir;
  populate(dir);
  auto db = writer(dir);
  rewrite(db, 5, R"({"seq":2,"counts":{"rows":0,"deleted":0}})");
  auto v = verify(dir);
  REQUIRE(v.problem);
  CHECK(v.problem->id == 5);
  CHECK(v.problem->kind == "edited");
  CHECK(v.problem->message.find("entry 6 recorded a different hash") != std::string::npos);
}

TEST_CASE("verify names deleted entries") {
  TempDir dir;
  populate(dir);
  auto db = writer(dir);
  SUBCASE("one in the middle") {
    REQUIRE(db.run("DELETE FROM audit_log WHERE id = 4", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 4);
    CHECK(v.problem->kind == "deleted");
    CHECK(v.problem->message == "entry 4: deleted: the log goes from entry 3 to entry 5");
  }
  SUBCASE("several") {
    REQUIRE(db.run("DELETE FROM audit_log WHERE id BETWEEN 4 AND 6", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 4);
    CHECK(v.problem->message == "entries 4 to 6: deleted: the log goes from entry 3 to entry 7");
  }
  SUBCASE("the first ones") {
    REQUIRE(db.run("DELETE FROM audit_log WHERE id <= 2", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 1);
    CHECK(v.problem->message == "entries 1 to 2: deleted: the log starts at entry 3");
  }
  SUBCASE("one, with the later ones renumbered") {
    REQUIRE(db.run("DELETE FROM audit_log WHERE id = 4", {}).ok());
    REQUIRE(db.run("UPDATE audit_log SET id = id - 1 WHERE id > 4", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 4);
    CHECK(v.problem->kind == "deleted");
    CHECK(v.problem->message.find("it was written as entry 5") != std::string::npos);
  }
}

TEST_CASE("verify names reordered entries") {
  TempDir dir;
  populate(dir);
  auto db = writer(dir);
  SUBCASE("two swapped") {
    REQUIRE(db.run("UPDATE audit_log SET id = 100 WHERE id = 4", {}).ok());
    REQUIRE(db.run("UPDATE audit_log SET id = 4 WHERE id = 5", {}).ok());
    REQUIRE(db.run("UPDATE audit_log SET id = 5 WHERE id = 100", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 4);
    CHECK(v.problem->kind == "reordered");
    CHECK(v.problem->message == "entry 4: reordered: it was written as entry 5");
  }
  SUBCASE("one moved to the end") {
    REQUIRE(db.run("UPDATE audit_log SET id = 50 WHERE id = 3", {}).ok());
    auto v = verify(dir);
    REQUIRE(v.problem);
    CHECK(v.problem->id == 3);
    CHECK(v.problem->kind == "reordered");
    CHECK(v.problem->message.find("entry 3: reordered: it is now entry 50") == 0);
  }
}

TEST_CASE("a cut-off tail passes the chain alone, and fails against an anchor") {
  TempDir dir;
  populate(dir);
  auto before = verify(dir);
  REQUIRE_FALSE(before.problem);
  const AuditAnchor anchor{before.head.last_id, before.head.hash};
  CHECK_FALSE(verify(dir, anchor).problem);

  auto db = writer(dir);
  REQUIRE(db.run("DELETE FROM audit_log WHERE id >= 10", {}).ok());
  auto v = verify(dir);
  CHECK_FALSE(v.problem);  // what a hash chain cannot see by itself
  CHECK(v.head.entries == 9);
  v = verify(dir, anchor);
  REQUIRE(v.problem);
  CHECK(v.problem->id == 10);
  CHECK(v.problem->kind == "truncated");
  CHECK(v.problem->message.find("entries 10 to 11: deleted") == 0);

  // Cut and rewritten to the same length: the anchor's hash no longer matches.
  REQUIRE(append_audit(db, {"batch.verified", "agent", "R-1", "B-3", "{}"}).ok());
  REQUIRE(append_audit(db, {"config.reload", "agent", {}, {}, "{}"}).ok());
  CHECK_FALSE(verify(dir).problem);
  v = verify(dir, anchor);
  REQUIRE(v.problem);
  CHECK(v.problem->id == 11);
  CHECK(v.problem->kind == "edited");
}

TEST_CASE("anchors are read as ID:HASH") {
  const std::string hash(64, 'a');
  auto a = parse_audit_anchor("12:" + std::string(64, 'A'));
  REQUIRE(a.ok());
  CHECK(a->id == 12);
  CHECK(a->hash == hash);
  for (std::string bad : {std::string("12"), ":" + hash, "0:" + hash, "x:" + hash,
                          std::string("12:abc"), "12:" + std::string(64, 'g'), "-1:" + hash})
    CHECK_FALSE(parse_audit_anchor(bad).ok());
}
