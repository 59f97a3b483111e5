#include "tools/exchange-sim/publish.h"

#include <ctime>
#include <iostream>
#include <string_view>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "adapters/base/files.h"
#include "adapters/crypto/base64.h"
#include "adapters/crypto/signature.h"
#include "tools/exchange-sim/archive.h"

namespace fep::sim {
namespace {

using ojson = nlohmann::ordered_json;

std::string today_yyyymmdd() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &local);
  return buf;
}

// A batch being written in a hidden folder beside the others; renamed into place at the end so
// the server never sees half a batch. Removed again when publishing fails.
class PendingBatch {
 public:
  ~PendingBatch() {
    std::error_code ec;
    if (!tmp.empty()) fs::remove_all(tmp, ec);
  }

  BatchInfo info;
  fs::path tmp;
  fs::path payload() const { return tmp / "payload"; }
};

// The signing key and its algorithm, checked before anything is written.
struct Signer {
  std::string alg;
  std::string key_id;
  std::string private_pem;
};

Expected<std::optional<Signer>> load_signer(const BatchOptions& opts) {
  if (!opts.sign) return std::optional<Signer>();
  const SignOptions& s = *opts.sign;
  if (!is_valid_id(s.key_id)) return fail("--key-id must be 1-128 characters of [A-Za-z0-9._-]");
  auto pem = read_file(s.key, kMaxTextFileBytes);
  if (!pem) return Unexpected{pem.error()};
  auto key_alg = crypto::private_key_alg(*pem);
  if (!key_alg) return fail("--sign-key " + s.key.string() + ": " + key_alg.error().message);
  const std::string alg = s.alg.value_or(*key_alg);
  if (alg != *key_alg)
    return fail("--sign-key " + s.key.string() + " is an " + *key_alg + " key, not " + alg);
  return std::optional<Signer>(Signer{alg, s.key_id, std::move(*pem)});
}

Status ensure_subscription(Store& store, const std::string& resource_id, const std::string& kind) {
  auto subs = store.subscriptions();
  if (!subs) return Unexpected{subs.error()};
  for (const auto& s : *subs) {
    if (s.resource_id != resource_id) continue;
    if (s.kind != kind)
      std::cerr << "exchange-sim: warning: " << resource_id << " is subscribed as " << s.kind
                << ", publishing a " << kind << " batch\n";
    return {};
  }
  Subscription s;
  s.resource_id = resource_id;
  s.name = resource_id;
  s.kind = kind;
  subs->push_back(s);
  return store.save_subscriptions(*subs);
}

Status begin(Store& store, const BatchOptions& opts, const std::string& kind, PendingBatch& out) {
  if (!is_valid_id(opts.resource_id)) return fail("invalid resource id " + opts.resource_id);
  if (opts.created_at && !is_valid_utf8(*opts.created_at)) return fail("--created-at is not UTF-8");
  if (auto st = ensure_subscription(store, opts.resource_id, kind); !st) return st;
  auto seqs = store.seqs(opts.resource_id);
  if (!seqs) return Unexpected{seqs.error()};
  const std::int64_t last = seqs->empty() ? 0 : seqs->back();
  const std::int64_t seq = opts.seq.value_or(last + 1);
  if (seq <= last) return fail("--seq must be greater than the last seq " + std::to_string(last));

  std::string id;
  if (opts.batch_id) {
    id = *opts.batch_id;
    if (!is_valid_id(id)) return fail("invalid batch id " + id);
    auto taken = store.find_batch(id);
    if (!taken) return Unexpected{taken.error()};
    if (*taken) return fail("batch id " + id + " is already published");
  } else {
    char base[48];
    std::snprintf(base, sizeof base, "B-%s-%04lld", today_yyyymmdd().c_str(),
                  static_cast<long long>(seq));
    id = base;  // another resource may hold this id already: add a suffix
    for (int n = 2;; ++n) {
      auto taken = store.find_batch(id);
      if (!taken) return Unexpected{taken.error()};
      if (!*taken) break;
      id = std::string(base) + "-" + std::to_string(n);
    }
  }
  out.info = BatchInfo{
      id, opts.resource_id, seq, kind, opts.mode, opts.created_at.value_or(rfc3339_now()), 0, "",
      {}};
  out.tmp = store.batches_dir(opts.resource_id) / (".tmp-" + new_uuid());
  return ensure_directory(out.tmp);
}

ojson manifest_head(const BatchInfo& b) {
  return {
      {"protocol", 1},  {"batch_id", b.batch_id}, {"resource_id", b.resource_id}, {"seq", b.seq},
      {"kind", b.kind}, {"mode", b.mode},         {"created_at", b.created_at}};
}

Status measure_payload(PendingBatch& batch) {
  std::error_code ec;
  batch.info.size = fs::file_size(batch.payload(), ec);
  if (ec) return fail("cannot stat payload: " + ec.message());
  auto sha = sha256_file(batch.payload());
  if (!sha) return Unexpected{sha.error()};
  batch.info.sha256 = *sha;
  return {};
}

Status commit(Store& store, PendingBatch& batch, const ojson& manifest,
              const std::optional<Signer>& signer) {
  const std::string manifest_text = manifest.dump(2) + "\n";
  if (auto st = write_file_atomic(batch.tmp / "manifest.json", manifest_text); !st) return st;
  if (signer) {
    // Over the exact bytes the manifest route serves.
    auto signature = crypto::sign(signer->alg, signer->private_pem, manifest_text);
    if (!signature) return fail("cannot sign the manifest: " + signature.error().message);
    const ojson body = {{"alg", signer->alg},
                        {"key_id", signer->key_id},
                        {"value", crypto::base64_encode(*signature)}};
    if (auto st = write_file_atomic(batch.tmp / "signature.json", body.dump(2) + "\n"); !st)
      return st;
  }
  if (auto st = write_file_atomic(batch.tmp / "batch.json", to_json(batch.info).dump(2) + "\n");
      !st)
    return st;
  const auto final_dir = store.batch_dir(batch.info.resource_id, batch.info.seq);
  std::error_code ec;
  fs::rename(batch.tmp, final_dir, ec);
  if (ec) return fail("cannot publish " + final_dir.string() + ": " + ec.message());
  batch.tmp.clear();
  return fsync_file(final_dir.parent_path());
}

}  // namespace

Expected<std::string> publish_table(Store& store, const TableOptions& opts) {
  if (opts.csv.has_value() == opts.payload.has_value())
    return fail("give exactly one of --csv and --payload");
  if (opts.payload && !opts.compression)
    return fail("--payload needs --compression (the payload is taken as is)");
  const std::string compression = opts.compression.value_or("gzip");
  auto signer = load_signer(opts.batch);
  if (!signer) return Unexpected{signer.error()};

  auto schema_text = read_file(opts.schema, kMaxTextFileBytes);
  if (!schema_text) return Unexpected{schema_text.error()};
  ojson table = ojson::parse(*schema_text, nullptr, false);
  if (table.is_discarded() || !table.is_object())
    return fail(opts.schema.string() + ": not a JSON object");

  PendingBatch batch;
  if (auto st = begin(store, opts.batch, "table", batch); !st) return Unexpected{st.error()};
  if (opts.csv) {
    if (auto st = compress_file(*opts.csv, batch.payload(), compression); !st)
      return Unexpected{st.error()};
  } else {
    std::error_code ec;
    fs::copy_file(*opts.payload, batch.payload(), ec);
    if (ec) return fail("cannot copy " + opts.payload->string() + ": " + ec.message());
    if (auto st = fsync_file(batch.payload()); !st) return Unexpected{st.error()};
  }
  if (auto st = measure_payload(batch); !st) return Unexpected{st.error()};

  std::int64_t rows = 0;
  if (opts.row_count) {
    rows = *opts.row_count;
  } else {
    CsvRecordCounter counter;
    auto sink = [&](const char* d, size_t n) { counter.feed(d, n); };
    auto st = opts.csv ? read_decompressed(*opts.csv, "none", sink)
                       : read_decompressed(batch.payload(), compression, sink);
    if (!st) return fail(st.error().message + " (give --row-count to publish it anyway)");
    rows = counter.records() > 0 ? static_cast<std::int64_t>(counter.records() - 1) : 0;
  }

  ojson manifest = manifest_head(batch.info);
  manifest["payload"] = {{"format", "csv"},
                         {"compression", compression},
                         {"encoding", opts.encoding},
                         {"size", batch.info.size},
                         {"sha256", batch.info.sha256}};
  manifest["table"] = table;
  manifest["row_count"] = rows;
  if (auto st = commit(store, batch, manifest, *signer); !st) return Unexpected{st.error()};
  return batch.info.batch_id;
}

Expected<std::string> publish_folder(Store& store, const FolderOptions& opts) {
  if (opts.dir.has_value() == opts.payload.has_value())
    return fail("give exactly one of --dir and --payload");
  if (opts.format != "tar" && opts.format != "zip") return fail("--format is tar or zip");
  if (opts.batch.mode == "full" && !opts.deletes.empty())
    return fail("--delete is for incremental batches only");
  for (const auto& path : opts.deletes)
    if (!is_valid_utf8(path)) return fail("--delete " + path + " is not UTF-8");
  const std::string compression = opts.compression.value_or(opts.format == "zip" ? "none" : "gzip");
  auto signer = load_signer(opts.batch);
  if (!signer) return Unexpected{signer.error()};

  PendingBatch batch;
  if (auto st = begin(store, opts.batch, "folder", batch); !st) return Unexpected{st.error()};
  FolderTotals totals;
  if (opts.dir) {
    auto written = write_folder_archive(*opts.dir, batch.payload(), opts.format, compression);
    if (!written) return Unexpected{written.error()};
    totals = *written;
  } else {
    std::error_code ec;
    fs::copy_file(*opts.payload, batch.payload(), ec);
    if (ec) return fail("cannot copy " + opts.payload->string() + ": " + ec.message());
    if (auto st = fsync_file(batch.payload()); !st) return Unexpected{st.error()};
    if (!opts.files || !opts.bytes) {
      auto counted = count_archive(batch.payload());
      if (!counted)
        return fail(counted.error().message + " (give --files and --bytes to publish it anyway)");
      totals = *counted;
    }
  }
  if (opts.files) totals.files = *opts.files;
  if (opts.bytes) totals.bytes = *opts.bytes;
  if (auto st = measure_payload(batch); !st) return Unexpected{st.error()};

  ojson manifest = manifest_head(batch.info);
  manifest["payload"] = {{"format", opts.format},
                         {"compression", compression},
                         {"size", batch.info.size},
                         {"sha256", batch.info.sha256}};
  ojson folder = {{"files", totals.files}, {"bytes", totals.bytes}};
  if (opts.batch.mode == "incremental") folder["deletes"] = opts.deletes;
  manifest["folder"] = folder;
  if (auto st = commit(store, batch, manifest, *signer); !st) return Unexpected{st.error()};
  return batch.info.batch_id;
}

}  // namespace fep::sim
