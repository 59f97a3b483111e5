#include "tools/exchange-sim/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "adapters/base/files.h"

namespace fep::sim {
namespace {

using nlohmann::json;

// A string member, or an error naming it.
Expected<std::string> string_field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return fail(where + ": \"" + key + "\" must be a string");
  return it->get<std::string>();
}

std::optional<std::int64_t> parse_seq_dir(const std::string& name) {
  if (name.empty() || name.front() == '.') return std::nullopt;
  std::int64_t seq = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), seq);
  if (ec != std::errc() || p != name.data() + name.size() || seq <= 0) return std::nullopt;
  return seq;
}

}  // namespace

nlohmann::ordered_json to_json(const Subscription& s) {
  return {{"resource_id", s.resource_id},
          {"name", s.name},
          {"kind", s.kind},
          {"provider", s.provider},
          {"share_type", s.share_type},
          {"status", s.status}};
}

nlohmann::ordered_json to_json(const BatchInfo& b) {
  return {{"batch_id", b.batch_id}, {"resource_id", b.resource_id},
          {"seq", b.seq},           {"kind", b.kind},
          {"mode", b.mode},         {"created_at", b.created_at},
          {"size", b.size},         {"sha256", b.sha256}};
}

Expected<bool> path_exists(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) return false;
  if (ec) return fail("cannot stat " + path.string() + ": " + ec.message());
  return true;
}

Expected<bool> dir_exists(const fs::path& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) return false;
  if (ec) return fail("cannot stat " + path.string() + ": " + ec.message());
  return fs::is_directory(st);
}

Expected<std::vector<fs::directory_entry>> list_dir(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    out.push_back(*it);
  if (ec) return fail("cannot list " + dir.string() + ": " + ec.message());
  return out;
}

fs::path Store::batches_dir(std::string_view resource_id) const {
  return root_ / "resources" / std::string(resource_id) / "batches";
}

fs::path Store::batch_dir(std::string_view resource_id, std::int64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "%010lld", static_cast<long long>(seq));
  return batches_dir(resource_id) / name;
}

Expected<std::vector<Subscription>> Store::subscriptions() const {
  std::vector<Subscription> out;
  const auto file = subscriptions_file();
  auto present = path_exists(file);
  if (!present) return Unexpected{present.error()};
  if (!*present) return out;
  auto text = read_file(file, kMaxOwnFileBytes);
  if (!text) return fail(text.error().message);
  json doc = json::parse(*text, nullptr, false);
  const std::string where = file.string();
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("subscriptions") ||
      !doc["subscriptions"].is_array())
    return fail(where + ": expected {\"subscriptions\": [...]}");
  for (const auto& item : doc["subscriptions"]) {
    if (!item.is_object()) return fail(where + ": a subscription is not an object");
    Subscription s;
    for (auto [key, field] : {std::pair{"resource_id", &s.resource_id},
                              {"name", &s.name},
                              {"kind", &s.kind},
                              {"provider", &s.provider},
                              {"share_type", &s.share_type},
                              {"status", &s.status}}) {
      auto v = string_field(item, key, where);
      if (!v) return fail(v.error().message);
      *field = std::move(*v);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status Store::save_subscriptions(const std::vector<Subscription>& subs) const {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& s : subs) {
    for (const std::string* field :
         {&s.resource_id, &s.name, &s.kind, &s.provider, &s.share_type, &s.status})
      if (!is_valid_utf8(*field))
        return fail("subscription " + s.resource_id + ": \"" + *field + "\" is not UTF-8");
    list.push_back(to_json(s));
  }
  nlohmann::ordered_json doc = {{"subscriptions", list}};
  if (auto st = ensure_directory(root_); !st) return st;
  return write_file_atomic(subscriptions_file(), doc.dump(2) + "\n");
}

Expected<std::optional<Subscription>> Store::subscription(std::string_view resource_id) const {
  auto subs = subscriptions();
  if (!subs) return fail(subs.error().message);
  for (auto& s : *subs)
    if (s.resource_id == resource_id) return std::optional<Subscription>(std::move(s));
  return std::optional<Subscription>();
}

Expected<std::vector<std::int64_t>> Store::seqs(std::string_view resource_id) const {
  std::vector<std::int64_t> out;
  const auto dir = batches_dir(resource_id);
  auto present = dir_exists(dir);
  if (!present) return Unexpected{present.error()};
  if (!*present) return out;
  auto entries = list_dir(dir);
  if (!entries) return Unexpected{entries.error()};
  for (const auto& entry : *entries) {
    auto seq = parse_seq_dir(entry.path().filename().string());
    if (!seq) continue;
    auto is_dir = dir_exists(entry.path());
    if (!is_dir) return Unexpected{is_dir.error()};
    if (*is_dir) out.push_back(*seq);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Expected<BatchInfo> Store::read_batch(const fs::path& dir) const {
  const auto file = dir / "batch.json";
  auto text = read_file(file, kMaxOwnFileBytes);
  if (!text) return fail(text.error().message);
  json j = json::parse(*text, nullptr, false);
  const std::string where = file.string();
  if (j.is_discarded() || !j.is_object()) return fail(where + ": not a JSON object");
  BatchInfo b;
  b.dir = dir;
  for (auto [key, field] : {std::pair{"batch_id", &b.batch_id},
                            {"resource_id", &b.resource_id},
                            {"kind", &b.kind},
                            {"mode", &b.mode},
                            {"created_at", &b.created_at},
                            {"sha256", &b.sha256}}) {
    auto v = string_field(j, key, where);
    if (!v) return fail(v.error().message);
    *field = std::move(*v);
  }
  if (!j.contains("seq") || !j["seq"].is_number_integer() || !j.contains("size") ||
      !j["size"].is_number_unsigned())
    return fail(where + ": \"seq\" and \"size\" must be integers");
  b.seq = j["seq"].get<std::int64_t>();
  b.size = j["size"].get<std::uint64_t>();
  return b;
}

Expected<BatchPage> Store::list_batches(std::string_view resource_id, std::int64_t after,
                                        std::size_t limit) const {
  auto all = seqs(resource_id);
  if (!all) return fail(all.error().message);
  BatchPage page;
  for (auto seq : *all) {
    if (seq <= after) continue;
    if (page.batches.size() == limit) {
      page.more = true;
      break;
    }
    auto b = read_batch(batch_dir(resource_id, seq));
    if (!b) return fail(b.error().message);
    page.batches.push_back(std::move(*b));
  }
  return page;
}

Status Store::rescan() {
  const auto resources = root_ / "resources";
  auto present = dir_exists(resources);
  if (!present) return Unexpected{present.error()};
  if (!*present) return {};
  auto resource_dirs = list_dir(resources);
  if (!resource_dirs) return Unexpected{resource_dirs.error()};
  for (const auto& res : *resource_dirs) {
    const auto dir = res.path() / "batches";
    auto has_batches = dir_exists(dir);
    if (!has_batches) return Unexpected{has_batches.error()};
    if (!*has_batches) continue;
    auto entries = list_dir(dir);
    if (!entries) return Unexpected{entries.error()};
    for (const auto& entry : *entries) {
      const auto path = entry.path();
      if (!parse_seq_dir(path.filename().string()) || indexed_dirs_.count(path)) continue;
      auto b = read_batch(path);
      if (!b) return fail(b.error().message);
      index_[b->batch_id] = path;
      indexed_dirs_.insert(path);
    }
  }
  return {};
}

Expected<std::optional<BatchInfo>> Store::find_batch(std::string_view batch_id) {
  std::lock_guard lock(mu_);
  auto it = index_.find(batch_id);
  if (it != index_.end()) {
    auto present = path_exists(it->second / "batch.json");
    if (!present) return Unexpected{present.error()};
    if (!*present) {
      indexed_dirs_.erase(it->second);
      index_.erase(it);
      it = index_.end();
    }
  }
  if (it == index_.end()) {
    if (auto st = rescan(); !st) return fail(st.error().message);
    it = index_.find(batch_id);
    if (it == index_.end()) return std::optional<BatchInfo>();
  }
  auto b = read_batch(it->second);
  if (!b) return fail(b.error().message);
  return std::optional<BatchInfo>(std::move(*b));
}

Status Store::append_line(const fs::path& file, std::string_view line) {
  std::lock_guard lock(mu_);
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return fail("cannot open " + file.string() + ": " + std::strerror(errno));
  std::string data(line);
  data += '\n';
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string msg = "cannot write " + file.string() + ": " + std::strerror(errno);
      ::close(fd);
      return fail(msg);
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  return {};
}

}  // namespace fep::sim
