#include "agent/sync/housekeeping.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "adapters/base/clock.h"
#include "agent/store/audit_log.h"

namespace fep {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

// Payloads of rejected batches (payload_check.h keeps them as <batch id>.payload) rejected
// before `before`.
void delete_old_payloads(const fs::path& dir, system_clock::time_point before,
                         store::StateStore& store, HousekeepingResult& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec)) continue;
    const auto written = it->last_write_time(entry_ec);
    if (entry_ec) continue;
    const auto rejected_at = std::chrono::time_point_cast<system_clock::duration>(
        std::chrono::file_clock::to_sys(written));
    if (rejected_at >= before) continue;
    const auto name = it->path().filename().string();
    if (!fs::remove(it->path(), entry_ec) || entry_ec) {
      out.problems.push_back("cannot delete " + it->path().string() + ": " + entry_ec.message());
      continue;
    }
    ++out.payloads_deleted;
    const std::string batch = it->path().stem().string();
    auto st =
        store.audit({"housekeeping.payload_deleted", "agent", std::nullopt, batch,
                     store::audit_detail({{"file", name}, {"rejected_at", rfc3339(rejected_at)}})});
    if (!st) out.problems.push_back(st.error().message);
  }
  if (ec) out.problems.push_back("cannot list " + dir.string() + ": " + ec.message());
}

// Spool files no batch will read again: of a batch with an outcome (a run stopped before it
// removed the file), or of a batch the state database does not know that nobody has written to
// for a week (a prefetch for a resource since removed from the configuration). A held batch's
// payload and a download in progress stay.
void delete_stale_spool(const fs::path& dir, system_clock::time_point now, store::StateStore& store,
                        HousekeepingResult& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec) || it->path().extension() != ".payload") continue;
    auto batch = store.batch(it->path().stem().string());
    if (!batch) continue;
    bool stale = *batch && (*batch)->has_outcome();
    if (!*batch) {
      const auto written = it->last_write_time(entry_ec);
      stale =
          !entry_ec && std::chrono::file_clock::to_sys(written) < now - std::chrono::hours(24 * 7);
    }
    if (!stale) continue;
    if (fs::remove(it->path(), entry_ec) && !entry_ec) ++out.spool_files_deleted;
  }
}

}  // namespace

HousekeepingResult housekeep(const Config& config, store::StateStore& store,
                             system_clock::time_point now) {
  HousekeepingResult out;
  const auto events_before = now - config.retention.events;
  if (auto n = store.prune_events(rfc3339(events_before)); n)
    out.events_deleted = *n;
  else
    out.problems.push_back("cannot delete old events: " + n.error().message);
  delete_old_payloads(config.state_dir / "rejected", now - config.retention.rejected_payloads,
                      store, out);
  delete_stale_spool(config.state_dir / "spool", now, store, out);
  if (out.events_deleted > 0 || out.payloads_deleted > 0 || out.spool_files_deleted > 0)
    spdlog::info(
        "housekeeping: deleted {} events older than {}, {} rejected payloads and {} stale spool "
        "files",
        out.events_deleted, rfc3339(events_before), out.payloads_deleted, out.spool_files_deleted);
  for (const auto& p : out.problems) spdlog::warn("housekeeping: {}", p);
  return out;
}

}  // namespace fep
