#include "tools/exchange-sim/faults.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "adapters/base/files.h"
#include "tools/exchange-sim/answer.h"

namespace fep::sim {
namespace {

using nlohmann::json;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A number in [0, 1) that depends only on the seed, the request number and the fault.
double draw(std::uint64_t seed, std::uint64_t n, Fault fault) {
  const std::uint64_t h =
      splitmix64(splitmix64(seed) ^ splitmix64(n * 16 + static_cast<std::uint64_t>(fault) + 1));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

constexpr Fault kDrawn[] = {
    Fault::kError500, Fault::kError429,    Fault::kResetPayload,     Fault::kShortBody,
    Fault::kSlowDrip, Fault::kIgnoreRange, Fault::kDuplicateListing, Fault::kLoseReceiptAnswer};

}  // namespace

std::string_view to_string(Route route) {
  switch (route) {
    case Route::kSubscriptions:
      return "subscriptions";
    case Route::kBatchList:
      return "batch_list";
    case Route::kManifest:
      return "manifest";
    case Route::kSignature:
      return "signature";
    case Route::kPayload:
      return "payload";
    case Route::kReceipt:
      return "receipt";
    case Route::kHeartbeat:
      return "heartbeat";
  }
  return "?";
}

std::string_view to_string(Fault fault) {
  switch (fault) {
    case Fault::kError500:
      return "error_500";
    case Fault::kError429:
      return "error_429";
    case Fault::kResetPayload:
      return "reset_payload";
    case Fault::kShortBody:
      return "short_body";
    case Fault::kSlowDrip:
      return "slow_drip";
    case Fault::kIgnoreRange:
      return "ignore_range";
    case Fault::kDuplicateListing:
      return "duplicate_listing";
    case Fault::kLoseReceiptAnswer:
      return "lose_receipt_answer";
    case Fault::kCorruptPayload:
      return "corrupt_payload";
    case Fault::kForbidden:
      return "forbidden";
  }
  return "?";
}

std::vector<Fault> RequestFaults::applied() const {
  std::vector<Fault> out;
  if (answer) out.push_back(answer->status == 429 ? Fault::kError429 : Fault::kError500);
  if (reset_payload) out.push_back(Fault::kResetPayload);
  if (short_body) out.push_back(Fault::kShortBody);
  if (slow_drip) out.push_back(Fault::kSlowDrip);
  if (ignore_range) out.push_back(Fault::kIgnoreRange);
  if (corrupt_payload) out.push_back(Fault::kCorruptPayload);
  if (duplicate_listing) out.push_back(Fault::kDuplicateListing);
  if (lose_receipt_answer) out.push_back(Fault::kLoseReceiptAnswer);
  if (forbidden) out.push_back(Fault::kForbidden);
  return out;
}

Expected<FaultConfig> parse_fault_config(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("the fault file is not a JSON object");
  FaultConfig c;
  auto whole = [](const json& v, const std::string& name, std::int64_t lo,
                  std::int64_t hi) -> Expected<std::int64_t> {
    if (!v.is_number_integer() && !v.is_number_unsigned())
      return fail("\"" + name + "\" must be an integer");
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
      return fail("\"" + name + "\" must be at most " + std::to_string(hi));
    const auto n = v.get<std::int64_t>();
    if (n < lo || n > hi)
      return fail("\"" + name + "\" must be " + std::to_string(lo) + "-" + std::to_string(hi));
    return n;
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "seed") {
      if (!value.is_number_unsigned() &&
          !(value.is_number_integer() && value.get<std::int64_t>() >= 0))
        return fail("\"seed\" must be a non-negative integer");
      c.seed = value.get<std::uint64_t>();
    } else if (key == "rates") {
      if (!value.is_object()) return fail("\"rates\" must be an object");
      for (const auto& [name, rate] : value.items()) {
        const Fault* found = nullptr;
        for (const Fault& f : kDrawn)
          if (to_string(f) == name) found = &f;
        if (!found) return fail("unknown fault \"rates." + name + "\"");
        if (!rate.is_number() || rate.get<double>() < 0 || rate.get<double>() > 1)
          return fail("\"rates." + name + "\" must be a number from 0 to 1");
        c.rates[static_cast<int>(*found)] = rate.get<double>();
      }
    } else if (key == "first") {
      if (!value.is_object()) return fail("\"first\" must be an object");
      for (const auto& [name, count] : value.items()) {
        const Fault* found = nullptr;
        for (const Fault& f : kDrawn)
          if (to_string(f) == name) found = &f;
        if (!found) return fail("unknown fault \"first." + name + "\"");
        auto n = whole(count, "first." + name, 0, 1000000);
        if (!n) return Unexpected{n.error()};
        c.first[static_cast<int>(*found)] = static_cast<std::uint64_t>(*n);
      }
    } else if (key == "corrupt_batches") {
      if (!value.is_array()) return fail("\"corrupt_batches\" must be an array of batch ids");
      for (const auto& id : value) {
        if (!id.is_string()) return fail("\"corrupt_batches\" must be an array of batch ids");
        c.corrupt_batches.insert(id.get<std::string>());
      }
    } else if (key == "forbidden_resources") {
      if (!value.is_array())
        return fail("\"forbidden_resources\" must be an array of resource ids");
      for (const auto& id : value) {
        if (!id.is_string())
          return fail("\"forbidden_resources\" must be an array of resource ids");
        c.forbidden_resources.insert(id.get<std::string>());
      }
    } else if (key == "receipt_status") {
      if (!value.is_object())
        return fail("\"receipt_status\" must be an object of batch id: HTTP status");
      for (const auto& [batch, status] : value.items()) {
        auto n = whole(status, "receipt_status." + batch, 400, 599);
        if (!n) return Unexpected{n.error()};
        c.receipt_status[batch] = static_cast<int>(*n);
      }
    } else if (key == "max_page") {
      auto n = whole(value, key, 0, 1000);
      if (!n) return Unexpected{n.error()};
      c.max_page = static_cast<std::size_t>(*n);
    } else if (key == "drip_pieces") {
      auto n = whole(value, key, 1, 10000);
      if (!n) return Unexpected{n.error()};
      c.drip_pieces = static_cast<int>(*n);
    } else if (key == "drip_pause_ms") {
      auto n = whole(value, key, 0, 60000);
      if (!n) return Unexpected{n.error()};
      c.drip_pause_ms = static_cast<int>(*n);
    } else {
      return fail("unknown member \"" + key + "\" in the fault file");
    }
  }
  return c;
}

FaultPlan::FaultPlan(FaultConfig config, std::filesystem::path log)
    : state_(std::make_unique<State>()) {
  state_->config = std::move(config);
  if (!log.empty()) state_->log.open(log, std::ios::app);
}

Expected<FaultPlan> FaultPlan::load(const std::filesystem::path& file,
                                    const std::filesystem::path& log) {
  auto text = read_file(file, kMaxTextFileBytes);
  if (!text) return Unexpected{text.error()};
  auto config = parse_fault_config(*text);
  if (!config) return fail(file.string() + ": " + config.error().message);
  return FaultPlan(std::move(config).value(), log);
}

RequestFaults FaultPlan::decide(Route route, std::string_view id,
                                const httplib::Request& req) const {
  RequestFaults out;
  if (!state_) return out;
  const FaultConfig& c = state_->config;
  out.n = state_->next.fetch_add(1);
  auto hit = [&](Fault f) {
    const int i = static_cast<int>(f);
    const bool early = c.first[i] > 0 && state_->eligible[i].fetch_add(1) < c.first[i];
    return early || draw(c.seed, out.n, f) < c.rates[i];
  };

  if (hit(Fault::kError500))
    out.answer = FaultAnswer{500, "INTERNAL", "injected fault: error_500", std::nullopt};
  else if (hit(Fault::kError429))
    out.answer = FaultAnswer{429, "TOO_MANY_REQUESTS", "injected fault: error_429", 1};
  if (!out.answer) {
    const bool get = req.method == "GET";
    switch (route) {
      case Route::kPayload:
        out.corrupt_payload = c.corrupt_batches.count(id) > 0;
        out.ignore_range = req.has_header("Range") && hit(Fault::kIgnoreRange);
        // One way for the transfer to go wrong at most.
        if (hit(Fault::kResetPayload))
          out.reset_payload = true;
        else if (hit(Fault::kShortBody))
          out.short_body = true;
        else if (hit(Fault::kSlowDrip))
          out.slow_drip = true;
        break;
      case Route::kBatchList:
        out.duplicate_listing = hit(Fault::kDuplicateListing);
        if (!out.duplicate_listing) out.short_body = get && hit(Fault::kShortBody);
        break;
      case Route::kSubscriptions:
      case Route::kManifest:
        out.short_body = get && hit(Fault::kShortBody);
        break;
      case Route::kReceipt:
        out.lose_receipt_answer = hit(Fault::kLoseReceiptAnswer);
        break;
      case Route::kSignature:
      case Route::kHeartbeat:
        break;
    }
  }

  return out;
}

void FaultPlan::record(Route route, std::string_view id, const httplib::Request& req,
                       const RequestFaults& faults) const {
  if (!state_) return;
  json names = json::array();
  std::string text;
  for (Fault f : faults.applied()) {
    names.push_back(std::string(to_string(f)));
    text += " " + std::string(to_string(f));
  }
  if (!text.empty()) spdlog::info("fault #{}: {} {}:{}", faults.n, req.method, req.path, text);
  if (!state_->log.is_open()) return;
  json line = {{"n", faults.n},
               {"method", req.method},
               {"route", std::string(to_string(route))},
               {"id", std::string(id)},
               {"range", req.has_header("Range") ? json(req.get_header_value("Range")) : json()},
               {"faults", names}};
  std::lock_guard lock(state_->log_mu);
  state_->log << to_text(line) << '\n';
  state_->log.flush();
}

namespace {

bool same_peer(int fd, const std::string& addr, int port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  char text[INET6_ADDRSTRLEN] = {0};
  int peer_port = -1;
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    peer_port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    peer_port = ntohs(in->sin6_port);
  } else {
    return false;
  }
  return peer_port == port && addr == text;
}

}  // namespace

int connection_fd(const httplib::Request& req) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    if (same_peer(static_cast<int>(fd), req.remote_addr, req.remote_port)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  ::closedir(dir);
  return found;
}

bool reset_connection(int fd) {
  // Closing a TCP socket with a zero linger time sends RST. dup2() closes it and puts an
  // unconnected socket in its place in one step, so the number the server holds stays valid.
  linger lg{1, 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) return false;
  const int spare = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (spare < 0) return false;
  const bool ok = ::dup2(spare, fd) == fd;
  ::close(spare);
  return ok;
}

}  // namespace fep::sim
