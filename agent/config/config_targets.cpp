// The targets map and the resources list, with the checks that span entries.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include "adapters/base/clock.h"
#include "adapters/dialects/table_schema.h"
#include "agent/config/config_build.h"
#include "agent/config/config_values.h"

namespace fep::config {
namespace {

// The target's `type` picks its table; reported here so a bad type does not also produce
// unknown-key errors for every other key of the target.
const SectionSpec* target_spec(const YAML::Node& entry, const std::string& path,
                               Diagnostics& diag) {
  const auto type = entry["type"];
  const auto type_path = join_path(path, "type");
  if (!type) {
    diag.error(mark_of(entry), type_path, "missing required key (odbc or folder)");
    return nullptr;
  }
  if (type.IsScalar() && type.Scalar() == "odbc") return &kOdbcTargetSection;
  if (type.IsScalar() && type.Scalar() == "folder") return &kFolderTargetSection;
  diag.error(mark_of(type), type_path,
             type.IsScalar() ? "unknown value \"" + type.Scalar() + "\" (one of: odbc, folder)"
                             : "expected a string, found " + std::string(describe(type)));
  return nullptr;
}

// "0640" or "640": three or four octal digits, no special bits.
std::optional<unsigned> parse_mode(const std::string& text) {
  if (text.size() < 3 || text.size() > 4) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 0777) return std::nullopt;
  return mode;
}

void build_folder_limits(const Section& t, BuildContext& ctx, TargetConfig& out) {
  // The agent itself must read the files (verify, incremental copies) and manage the folders.
  const struct {
    const char* key;
    unsigned& value;
    unsigned owner_needs;
    const char* what;
  } modes[] = {{"file_mode", out.file_mode, 0400, "the owner must be able to read (0400)"},
               {"dir_mode", out.dir_mode, 0700, "the owner needs rwx (0700)"}};
  for (const auto& m : modes) {
    const auto mode = parse_mode(t.text(m.key));
    if (!mode)
      ctx.diag.error(t.mark(m.key), t.path(m.key),
                     "expected an octal mode such as 0640, at most 0777 (no setuid, setgid or "
                     "sticky bits), found \"" +
                         t.text(m.key) + "\"");
    else if ((*mode & m.owner_needs) != m.owner_needs)
      ctx.diag.error(t.mark(m.key), t.path(m.key), m.what);
    else
      m.value = *mode;
  }
  const struct {
    const char* key;
    uint64_t& value;
  } limits[] = {{"max_entries", out.max_entries},
                {"max_total_bytes", out.max_total_bytes},
                {"max_file_bytes", out.max_file_bytes},
                {"max_ratio", out.max_ratio}};
  for (const auto& l : limits) {
    if (t.integer(l.key) < 1)
      ctx.diag.error(t.mark(l.key), t.path(l.key), "must be at least 1");
    else
      l.value = static_cast<uint64_t>(t.integer(l.key));
  }
}

void build_target(const YAML::Node& entry, const SectionSpec& spec, const std::string& path,
                  BuildContext& ctx, TargetConfig& out) {
  const auto t = check_map(entry, spec, path, ctx.diag);
  if (&spec == &kFolderTargetSection) {
    out.type = TargetType::folder;
    if (t.given("path")) out.path = resolve(ctx, t.text("path"));
    build_folder_limits(t, ctx, out);
    return;
  }
  out.type = TargetType::odbc;
  out.connection = t.text("connection");
  build_odbc_target_security(t, ctx, out);
  if (check_duration(t, "statement_timeout", true, ctx.diag)) {
    const auto timeout =
        std::chrono::duration_cast<std::chrono::seconds>(t.duration("statement_timeout"));
    // PostgreSQL's statement_timeout is a 32-bit count of milliseconds (24.8 days).
    if (timeout > std::chrono::hours(24))
      ctx.diag.error(t.mark("statement_timeout"), t.path("statement_timeout"),
                     "must be at most 24h");
    else
      out.statement_timeout = timeout;
  }
  if (t.given("dialect")) out.dialect = t.text("dialect");
  if (t.given("schema")) {
    out.db_schema = t.text("schema");
    if (!sql::is_valid_name(*out.db_schema))
      ctx.diag.error(t.mark("schema"), t.path("schema"), "must match [A-Za-z_][A-Za-z0-9_]{0,62}");
    else if (out.dialect == "sqlite" || out.dialect == "mysql")
      ctx.diag.error(t.mark("schema"), t.path("schema"),
                     "the " + *out.dialect +
                         " dialect has no schemas (MySQL: name the database in the connection)");
  }
  if (t.given("table_prefix")) {
    out.table_prefix = t.text("table_prefix");
    // No leading '_': names starting with '_' belong to the protocol and the agent (_fep_*).
    if (!sql::is_valid_name(out.table_prefix) || out.table_prefix.front() == '_' ||
        out.table_prefix.size() > 32)
      ctx.diag.error(t.mark("table_prefix"), t.path("table_prefix"),
                     "must match [A-Za-z][A-Za-z0-9_]* and be at most 32 characters");
  }
  if (!t.given("password_file")) return;
  out.password_file = resolve(ctx, t.text("password_file"));
  out.password = read_secret(t, "password_file", *out.password_file, ctx);
  // Two passwords would leave which one the driver uses to chance.
  if (t.given("connection") && connection_has_password(out.connection))
    ctx.diag.error(t.mark("connection"), t.path("connection"),
                   "has a PWD/Password part while password_file is set; remove it");
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// True when one folder is the other or contains it.
bool overlaps(const std::filesystem::path& a, const std::filesystem::path& b) {
  auto ia = a.begin(), ib = b.begin();
  for (; ia != a.end() && ib != b.end(); ++ia, ++ib)
    if (*ia != *ib) return false;
  return true;
}

// What one resource writes to, for the checks between resources.
struct Destination {
  std::string label;             // "resources[1] (R-1)"
  std::filesystem::path folder;  // folder targets: subfolder (given or the id)
  std::string table;             // odbc targets: given table
  Mark mark;
  std::string path;  // key path for errors
};

}  // namespace

void build_targets(const Section& top, BuildContext& ctx, Config& config) {
  const auto& targets = top.node("targets");
  if (targets.size() == 0)
    ctx.diag.error(top.mark("targets"), "targets", "at least one target is required");
  for (auto it = targets.begin(); it != targets.end(); ++it) {
    const Mark key_mark = mark_of(it->first);
    if (!it->first.IsScalar()) {
      ctx.diag.error(key_mark, "targets", "target names must be plain strings");
      continue;
    }
    const std::string name = it->first.Scalar();
    const auto path = join_path("targets", name);
    if (!is_valid_target_name(name)) {
      ctx.diag.error(key_mark, path, "target names are [A-Za-z0-9_-]+");
      continue;
    }
    if (config.targets.contains(name)) {
      ctx.diag.error(key_mark, path, "duplicate target name");
      continue;
    }
    auto& target = config.targets[name];
    target.name = name;
    if (!it->second.IsMap()) {
      ctx.untyped_targets.insert(name);
      ctx.diag.error(it->second.IsNull() ? key_mark : mark_of(it->second), path,
                     "expected a map, found " + std::string(describe(it->second)));
      continue;
    }
    if (const auto* spec = target_spec(it->second, path, ctx.diag))
      build_target(it->second, *spec, path, ctx, target);
    else
      ctx.untyped_targets.insert(name);
  }
}

namespace {

// Checks one resource's own keys and its fit with its target; returns what it writes to when
// that is known, for the checks between resources.
std::optional<Destination> build_resource(const Section& r, const Config& config, BuildContext& ctx,
                                          ResourceConfig& out) {
  out.id = r.text("id");
  out.target = r.text("target");
  if (r.given("table")) out.table = r.text("table");
  if (r.given("path")) out.path = r.text("path");
  if (r.given("schedule")) {
    out.schedule_text = r.text("schedule");
    if (auto parsed = parse_schedule(out.schedule_text))
      out.schedule = *parsed;
    else
      ctx.diag.error(r.mark("schedule"), r.path("schedule"), parsed.error().message);
  }
  if (r.given("window")) {
    if (auto parsed = parse_window(r.text("window")))
      out.window = *parsed;
    else
      ctx.diag.error(r.mark("window"), r.path("window"), parsed.error().message);
  }
  if (r.given("on_schema_change") && r.text("on_schema_change") == "rebuild")
    out.on_schema_change = OnSchemaChange::rebuild;
  if (r.given("id") && !is_valid_id(out.id))
    ctx.diag.error(r.mark("id"), r.path("id"), "must be 1-128 characters of [A-Za-z0-9._-]");
  if (out.table && (!sql::is_valid_name(*out.table) || out.table->front() == '_'))
    ctx.diag.error(r.mark("table"), r.path("table"),
                   "must match [A-Za-z][A-Za-z0-9_]{0,62} (no leading '_')");
  const auto path_error = out.path ? check_subfolder(*out.path) : std::nullopt;
  if (path_error) ctx.diag.error(r.mark("path"), r.path("path"), *path_error);

  const TargetConfig* target = r.given("target") ? config.find_target(out.target) : nullptr;
  if (r.given("target") && !target) {
    std::string names;
    for (const auto& [name, t] : config.targets) names += (names.empty() ? "" : ", ") + name;
    ctx.diag.error(r.mark("target"), r.path("target"),
                   "no target named \"" + out.target + "\" (targets: " + names + ")");
  }
  if (!target || ctx.untyped_targets.contains(out.target)) return std::nullopt;

  const auto label = r.path() + " (" + out.id + ")";
  if (target->type == TargetType::odbc) {
    if (out.path)
      ctx.diag.error(r.mark("path"), r.path("path"),
                     "applies to folder targets only; target " + out.target + " is odbc");
    if (!out.table) return std::nullopt;  // the manifest's name: unknown until a batch comes
    if (target->table_prefix.size() + out.table->size() > 63)
      ctx.diag.error(r.mark("table"), r.path("table"),
                     "with the target's table_prefix the name is longer than 63 characters");
    return Destination{
        label, {}, target->table_prefix + *out.table, r.mark("table"), r.path("table")};
  }
  for (const char* key : {"table", "on_schema_change"})
    if (r.given(key))
      ctx.diag.error(r.mark(key), r.path(key),
                     "applies to odbc targets only; target " + out.target + " is a folder");
  if (out.path) {
    if (path_error) return std::nullopt;
    auto folder = std::filesystem::path(*out.path).lexically_normal();
    if (!folder.has_filename()) folder = folder.parent_path();  // "a/" -> "a"
    return Destination{label, folder, {}, r.mark("path"), r.path("path")};
  }
  if (!r.given("id")) return std::nullopt;
  // The id becomes the folder name: "." or ".." would leave the target's folder.
  if (check_subfolder(out.id)) {
    ctx.diag.error(r.mark("id"), r.path("id"), "cannot serve as the folder name; set path");
    return std::nullopt;
  }
  return Destination{label, out.id, {}, r.mark("id"), r.path("id")};
}

void check_overlap(const Destination& d, const std::string& target,
                   const std::vector<Destination>& others, Diagnostics& diag) {
  for (const auto& o : others) {
    if (!d.table.empty() && iequals(o.table, d.table))
      diag.error(d.mark, d.path,
                 "table " + d.table + " is also written by " + o.label + " on target " + target);
    if (d.table.empty() && overlaps(o.folder, d.folder))
      diag.error(d.mark, d.path,
                 "folder " + d.folder.string() + " overlaps folder " + o.folder.string() + " of " +
                     o.label + " on target " + target);
  }
}

}  // namespace

void build_resources(const Section& top, BuildContext& ctx, Config& config) {
  const auto& list = top.node("resources");
  std::map<std::string, int> ids;  // id -> line of its first use
  std::map<std::string, std::vector<Destination>> by_target;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto r =
        check_map(list[i], kResourceSection, "resources[" + std::to_string(i) + "]", ctx.diag);
    ResourceConfig out;
    const auto destination = build_resource(r, config, ctx, out);
    if (r.given("id") && is_valid_id(out.id) && !ids.emplace(out.id, r.mark("id").line).second)
      ctx.diag.error(r.mark("id"), r.path("id"),
                     "duplicate resource id (first at line " + std::to_string(ids[out.id]) + ")");
    if (destination) {
      auto& others = by_target[out.target];
      check_overlap(*destination, out.target, others, ctx.diag);
      others.push_back(*destination);
    }
    config.resources.push_back(std::move(out));
  }
}

}  // namespace fep::config
