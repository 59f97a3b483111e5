// load_config / parse_config: YAML text to a validated Config. yaml-cpp throws; nothing leaves
// here.
#include <yaml-cpp/eventhandler.h>

#include <exception>
#include <optional>
#include <sstream>
#include <system_error>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "agent/config/config.h"
#include "agent/config/config_build.h"
#include "agent/config/config_values.h"

namespace fep {
namespace config {

std::filesystem::path resolve(const BuildContext& ctx, const std::string& path) {
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : ctx.base_dir / p).lexically_normal();
}

std::optional<std::string> read_secret(const Section& section, std::string_view key,
                                       const std::filesystem::path& file, BuildContext& ctx) {
  if (auto problem = check_secret_mode(file)) {
    ctx.diag.error(section.mark(key), section.path(key), *problem);
    return std::nullopt;
  }
  auto secret = read_secret_file(file);
  if (secret) return std::move(*secret);
  ctx.diag.error(section.mark(key), section.path(key), secret.error().message);
  return std::nullopt;
}

bool check_duration(const Section& s, std::string_view key, bool whole_seconds, Diagnostics& diag) {
  const auto d = s.duration(key);
  if (d.count() <= 0) {
    diag.error(s.mark(key), s.path(key), "must be more than 0");
    return false;
  }
  if (whole_seconds && d.count() % 1000 != 0) {
    diag.error(s.mark(key), s.path(key), "must be whole seconds");
    return false;
  }
  return true;
}

namespace {

void build_node(const Section& top, BuildContext& ctx, Config& config) {
  const auto node = check_map(top.node("node"), kNodeSection, "node", ctx.diag);
  if (!node.given("id")) return;
  config.node.id = node.text("id");
  if (!is_valid_id(config.node.id))
    ctx.diag.error(node.mark("id"), node.path("id"), "must be 1-128 characters of [A-Za-z0-9._-]");
}

void build_exchange(const Section& top, BuildContext& ctx, Config& config) {
  const auto ex = check_map(top.node("exchange"), kExchangeSection, "exchange", ctx.diag);
  auto& out = config.exchange;
  out.allow_insecure_http = ex.boolean("allow_insecure_http");
  if (ex.given("url")) {
    // The URL is not echoed: it may carry credentials.
    if (auto error = check_url(ex.text("url"), out.allow_insecure_http))
      ctx.diag.error(ex.mark("url"), ex.path("url"), *error);
    else
      out.url = normalize_url(ex.text("url"));
  }
  if (ex.given("token_file")) {
    out.token_file = resolve(ctx, ex.text("token_file"));
    if (auto token = read_secret(ex, "token_file", out.token_file, ctx))
      out.token = std::move(*token);
  }
  using std::chrono::duration_cast;
  if (check_duration(ex, "connect_timeout", true, ctx.diag))
    out.connect_timeout = duration_cast<std::chrono::seconds>(ex.duration("connect_timeout"));
  if (check_duration(ex, "low_speed_time", true, ctx.diag))
    out.low_speed_time = duration_cast<std::chrono::seconds>(ex.duration("low_speed_time"));
  if (ex.integer("low_speed_limit") < 0 || ex.integer("low_speed_limit") > 1'000'000'000'000)
    ctx.diag.error(ex.mark("low_speed_limit"), ex.path("low_speed_limit"),
                   "must be 0 (off) to 1000000000000 bytes per second");
  else
    out.low_speed_bytes = static_cast<long>(ex.integer("low_speed_limit"));
  if (ex.integer("max_attempts") < 1 || ex.integer("max_attempts") > 100)
    ctx.diag.error(ex.mark("max_attempts"), ex.path("max_attempts"), "must be 1 to 100");
  else
    out.max_attempts = static_cast<int>(ex.integer("max_attempts"));
  const bool base_ok = check_duration(ex, "retry_base", false, ctx.diag);
  const bool cap_ok = check_duration(ex, "retry_cap", false, ctx.diag);
  if (base_ok && cap_ok && ex.duration("retry_cap") < ex.duration("retry_base"))
    ctx.diag.error(ex.mark("retry_cap"), ex.path("retry_cap"), "must be at least retry_base");
  out.retry_base = ex.duration("retry_base");
  out.retry_cap = ex.duration("retry_cap");
  build_exchange_security(ex, ctx, out);
}

void build_status(const Section& top, BuildContext& ctx, Config& config) {
  // Absent: check an empty map, which yields the table's defaults.
  const auto node = top.given("status") ? top.node("status") : YAML::Node(YAML::NodeType::Map);
  const auto status = check_map(node, kStatusSection, "status", ctx.diag);
  if (auto error = check_listen(status.text("listen")))
    ctx.diag.error(status.mark("listen"), status.path("listen"), *error);
  else
    config.status.listen = status.text("listen");
  config.status.allow_remote = status.boolean("allow_remote");
}

// An optional section: absent, its table's defaults apply.
Section optional_section(const Section& top, const SectionSpec& spec, const std::string& key,
                         BuildContext& ctx) {
  const auto node = top.given(key) ? top.node(key) : YAML::Node(YAML::NodeType::Map);
  return check_map(node, spec, key, ctx.diag);
}

int bounded(const Section& s, std::string_view key, long long lo, long long hi, int fallback,
            BuildContext& ctx) {
  const long long v = s.integer(key);
  if (v >= lo && v <= hi) return static_cast<int>(v);
  ctx.diag.error(s.mark(key), s.path(key),
                 "must be " + std::to_string(lo) + " to " + std::to_string(hi));
  return fallback;
}

void build_daemon(const Section& top, BuildContext& ctx, Config& config) {
  const auto d = optional_section(top, kDaemonSection, "daemon", ctx);
  auto& out = config.daemon;
  out.workers = bounded(d, "workers", 1, 32, out.workers, ctx);
  out.max_connections = bounded(d, "max_connections", 1, 32, out.max_connections, ctx);
  for (const char* key :
       {"heartbeat_interval", "subscriptions_interval", "receipts_interval", "shutdown_grace"})
    (void)check_duration(d, key, false, ctx.diag);
  out.heartbeat_interval = d.duration("heartbeat_interval");
  out.subscriptions_interval = d.duration("subscriptions_interval");
  out.receipts_interval = d.duration("receipts_interval");
  out.jitter = d.duration("jitter");
  out.shutdown_grace = d.duration("shutdown_grace");
  if (d.given("control_socket")) out.control_socket = resolve(ctx, d.text("control_socket"));
}

void build_log(const Section& top, BuildContext& ctx, Config& config) {
  const auto l = optional_section(top, kLogSection, "log", ctx);
  if (l.given("file")) config.log.file = resolve(ctx, l.text("file"));
  if (l.integer("max_size") < 65536)
    ctx.diag.error(l.mark("max_size"), l.path("max_size"), "must be at least 65536 bytes");
  else
    config.log.max_size = l.integer("max_size");
  config.log.max_files = bounded(l, "max_files", 1, 100, config.log.max_files, ctx);
}

void build_retention(const Section& top, BuildContext& ctx, Config& config) {
  const auto r = optional_section(top, kRetentionSection, "retention", ctx);
  for (const char* key : {"events", "rejected_payloads"}) {
    if (!check_duration(r, key, false, ctx.diag)) continue;
    const auto value = r.duration(key);
    if (value < std::chrono::hours(24)) {
      ctx.diag.error(r.mark(key), r.path(key), "must be at least 1d");
      continue;
    }
    (std::string_view(key) == "events" ? config.retention.events
                                       : config.retention.rejected_payloads) = value;
  }
}

// Where the documents of `yaml` stop making progress, if they do. yaml-cpp 0.7's LoadAll never
// returns, allocating without end, on some invalid text such as a stray ',' (yaml-cpp issue
// 1040): its parser then reports empty document after empty document, consuming nothing. Read
// first with events only, a document that starts where the previous one started is that case.
std::optional<YAML::Mark> stuck_at(const std::string& yaml) {
  struct Starts final : YAML::EventHandler {
    std::optional<YAML::Mark> last;
    bool stuck = false;
    void OnDocumentStart(const YAML::Mark& mark) override {
      stuck = last && last->pos == mark.pos;
      last = mark;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  while (parser.HandleNextDocument(starts))
    if (starts.stuck) return starts.last;
  return std::nullopt;
}

Expected<Config> parse_document(const std::string& yaml, const std::string& name) {
  Diagnostics diag(name);
  std::vector<YAML::Node> docs;
  try {
    if (const auto stuck = stuck_at(yaml)) {
      const auto pos = static_cast<size_t>(stuck->pos);
      const char c = pos < yaml.size() ? yaml[pos] : '\0';
      diag.error({stuck->line + 1, stuck->column + 1}, "",
                 c > ' ' && c < 0x7f ? "YAML syntax error: unexpected '" + std::string(1, c) + "'"
                                     : std::string("YAML syntax error: unexpected character"));
      return fail(diag.text());
    }
    docs = YAML::LoadAll(yaml);
  } catch (const YAML::ParserException& e) {
    diag.error({e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return fail(diag.text());
  }
  if (docs.empty() || docs.front().IsNull()) {
    diag.error({}, "",
               "the file is empty (expected a map with keys: " + kTopSection.key_list() + ")");
    return fail(diag.text());
  }
  if (docs.size() > 1) diag.error(mark_of(docs[1]), "", "only one YAML document is allowed");
  if (!docs.front().IsMap()) {
    diag.error(mark_of(docs.front()), "",
               "expected a map at the top level, found " + std::string(describe(docs.front())));
    return fail(diag.text());
  }

  Config config;
  std::error_code ec;
  config.source = std::filesystem::absolute(name, ec).lexically_normal();
  if (ec) config.source = name;
  BuildContext ctx{diag, config.source.parent_path(), {}};

  const auto top = check_map(docs.front(), kTopSection, "", diag);
  if (top.given("node")) build_node(top, ctx, config);
  if (top.given("exchange")) build_exchange(top, ctx, config);
  config.state_dir = resolve(ctx, top.text("state_dir"));
  if (top.given("targets")) build_targets(top, ctx, config);
  if (top.given("resources")) build_resources(top, ctx, config);
  build_status(top, ctx, config);
  build_daemon(top, ctx, config);
  build_log(top, ctx, config);
  build_retention(top, ctx, config);
  if (!diag.empty()) return fail(diag.text());
  return config;
}

}  // namespace
}  // namespace config

const ResourceConfig* Config::find_resource(const std::string& id) const {
  for (const auto& r : resources)
    if (r.id == id) return &r;
  return nullptr;
}

const TargetConfig* Config::find_target(const std::string& name) const {
  const auto it = targets.find(name);
  return it == targets.end() ? nullptr : &it->second;
}

Expected<Config> parse_config(const std::string& yaml, const std::string& name) {
  try {
    return config::parse_document(yaml, name);
  } catch (const std::exception& e) {
    // yaml-cpp may throw beyond parsing (e.g. on a malformed node); keep it inside this module.
    return fail(name + ": cannot load the configuration: " + e.what());
  }
}

Expected<Config> load_config(const std::filesystem::path& path) {
  auto text = read_file(path, kMaxTextFileBytes);
  if (!text) return fail(text.error().message);
  return parse_config(*text, path.string());
}

}  // namespace fep
