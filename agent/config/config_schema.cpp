// The tables. Defaults here must match the member initialisers in config.h (a test checks it).
#include "agent/config/config_schema.h"

#include <string>

#include "agent/config/config.h"

namespace fep::config {
namespace {

using enum ValueType;

constexpr KeySpec kTopKeys[] = {
    {"node", map, true, "", "This machine's identity on the exchange."},
    {"exchange", map, true, "", "The city exchange platform to pull batches from."},
    {"state_dir", path, false, "/var/lib/fep-agent",
     "Where the agent keeps its state database and work files. A relative path is resolved "
     "against the config file's directory."},
    {"targets", map, true, "",
     "Named destinations, at least one. Names are [A-Za-z0-9_-]+; each target's `type` decides "
     "its other keys."},
    {"resources", list, true, "",
     "The resources to pull and where each goes; may be empty (`[]`)."},
    {"status", map, false, "", "The local status endpoint."},
    {"daemon", map, false, "", "How `fep-agent run` schedules its work."},
    {"log", map, false, "", "Where the agent logs besides stderr."},
    {"retention", map, false, "", "How long the agent keeps what it no longer needs."},
};

constexpr KeySpec kNodeKeys[] = {
    {"id", string, true, "",
     "This node's id as registered on the exchange: 1-128 characters of [A-Za-z0-9._-]."},
};

constexpr KeySpec kExchangeKeys[] = {
    {"url", string, true, "",
     "Base URL of the exchange API; https:// (http:// only with allow_insecure_http). A trailing "
     "'/' is dropped."},
    {"token_file", path, true, "",
     "File holding this node's API token, read at start and never logged; it must not be "
     "readable by others nor writable by group or others (0600, or 0640 for a group). A relative "
     "path is resolved against the config file's directory."},
    {"allow_insecure_http", boolean, false, "false",
     "Permit an http:// URL (tests, loopback). The token then travels in clear text."},
    {"connect_timeout", duration, false, "15s", "Time allowed to connect (whole seconds)."},
    {"low_speed_limit", integer, false, "1",
     "Bytes per second below which a transfer counts as stalled; 0 disables the check."},
    {"low_speed_time", duration, false, "60s",
     "How long a transfer may stay below low_speed_limit before it is abandoned (whole seconds)."},
    {"max_attempts", integer, false, "4", "Attempts per request for transient failures, 1-100."},
    {"retry_base", duration, false, "500ms", "First retry delay; it doubles on every retry."},
    {"retry_cap", duration, false, "30s", "Longest retry delay (>= retry_base)."},
    {"ca_file", path, false, "",
     "PEM file of the CA certificates the exchange's certificate must chain to, instead of the "
     "system's trust store. A relative path is resolved against the config file's directory."},
    {"client_cert", path, false, "",
     "PEM client certificate (chain) presented to the exchange, for platforms that require one; "
     "give client_key with it."},
    {"client_key", path, false, "",
     "PEM private key of client_cert. Like every secret file it must not be readable by others "
     "nor writable by group or others (0600, or 0640 for a group)."},
    {"key_password_file", path, false, "",
     "File holding client_key's passphrase when the key is encrypted; read at start, never "
     "logged."},
    {"pinned_pubkey", string_or_list, false, "",
     "Public key pins of the exchange's certificate: \"sha256//<base64 of the SHA-256 of its "
     "SubjectPublicKeyInfo>\", one or a list (current and next key). The certificate must still "
     "verify; with pins, its key must also be one of them. See docs/security.md."},
    {"proxy", string, false, "",
     "Proxy URL (http://, https://, socks5://, socks5h://, socks4://, socks4a://) for reaching the "
     "exchange. Absent: no proxy; the http_proxy/https_proxy/all_proxy variables are ignored. "
     "Never printed."},
    {"require_signature", boolean, false, "false",
     "Reject every batch whose manifest is not signed by one of signing_keys (SIGNATURE_INVALID). "
     "Without it, a signature by a known key is still checked and a bad one rejected; a signature "
     "by an unknown key is logged."},
    {"signing_keys", map, false, "",
     "The platform's manifest signing keys: key_id -> PEM public key file (ed25519 or sm2). "
     "Relative paths are resolved against the config file's directory."},
};

constexpr KeySpec kOdbcTargetKeys[] = {
    {"type", string, true, "", "The kind of target.", "odbc|folder"},
    {"connection", string, true, "",
     "ODBC connection string. Never printed; keep the password in password_file."},
    {"password_file", path, false, "",
     "File holding the database password, read at start, passed as PWD and never logged; the "
     "connection string must then have no PWD/Password part. Modes as for exchange.token_file. "
     "A relative path is resolved against the config file's directory."},
    {"dialect", string, false, "",
     "SQL dialect of the database; detected from the driver when absent.",
     "sqlite|postgresql|mysql|dm|kingbase"},
    {"schema", string, false, "",
     "Database schema the tables go in (PostgreSQL, KingbaseES, DM); default: the connection's "
     "own. [A-Za-z_][A-Za-z0-9_]{0,62}."},
    {"table_prefix", string, false, "",
     "Prefix for every table name of this target, e.g. `ods_`. [A-Za-z][A-Za-z0-9_]*, at most "
     "32 characters; the prefixed name must stay within 63 characters (checked by check-config "
     "when the resource sets `table`, else the resource pauses when a batch comes)."},
    {"statement_timeout", duration, false, "30m",
     "Longest time one statement may run (whole seconds, at most 24h): a chunk of rows, a "
     "table's DDL, the swap of a full load. Where the database enforces it, one that runs longer "
     "is cancelled, rolled back and the batch tried again on the next run (no receipt "
     "meanwhile), so that a lock held by another program does not hold the target for ever. "
     "PostgreSQL and KingbaseES as the session's statement_timeout; DM through the driver's "
     "query timeout; MariaDB as "
     "max_statement_time and lock_wait_timeout; MySQL only as lock_wait_timeout (it has no "
     "limit for statements that write); SQLite waits for locks by its driver's own busy "
     "timeout instead."},
    {"allow_driver_path", boolean, false, "false",
     "Let `connection` name the driver by its library file (`Driver=/opt/dmdbms/bin/"
     "libdodbc.so`). Without it, a Driver= value holding a '/' or ending in .so (or .so.N) is "
     "refused: the driver must be one registered in /etc/odbcinst.ini, so that the "
     "configuration cannot make the agent load any other library."},
};

constexpr KeySpec kFolderTargetKeys[] = {
    {"type", string, true, "", "The kind of target.", "odbc|folder"},
    {"path", path, true, "",
     "Root folder; each resource gets a subfolder. A relative path is resolved against the "
     "config file's directory."},
    {"file_mode", string, false, "0640",
     "Mode of every file written, in octal, at most 0777 and readable by the owner. The "
     "archive's own modes, owners, ACLs and xattrs are never applied."},
    {"dir_mode", string, false, "0750",
     "Mode of every directory created, in octal, at most 0777; the owner needs rwx (0700)."},
    {"max_entries", integer, false, "100000",
     "Most entries (files and directories) one archive may hold; more rejects the batch with "
     "TOO_LARGE."},
    {"max_total_bytes", integer, false, "10737418240",
     "Most bytes one archive may decompress to (default 10 GiB), counted as they are "
     "decompressed; more rejects the batch with TOO_LARGE."},
    {"max_file_bytes", integer, false, "4294967296",
     "Most bytes one file of an archive may decompress to (default 4 GiB); more rejects the batch "
     "with TOO_LARGE."},
    {"max_ratio", integer, false, "200",
     "Most decompressed bytes per byte of payload, checked once an archive has decompressed "
     "past 16 MiB; more rejects the batch with TOO_LARGE."},
};

constexpr KeySpec kResourceKeys[] = {
    {"id", string, true, "", "Resource id on the exchange: 1-128 characters of [A-Za-z0-9._-]."},
    {"target", string, true, "",
     "Name of the target (under `targets`) the resource is written to."},
    {"table", string, false, "",
     "odbc targets: table to write; default: the manifest's table name. "
     "[A-Za-z][A-Za-z0-9_]{0,62}."},
    {"path", string, false, "",
     "folder targets: subfolder below the target's path, relative, no '..'; default: the resource "
     "id."},
    {"schedule", string, false, "every 15m",
     "When `fep-agent run` syncs it: \"every <n><s|m|h|d>\", a 5-field cron expression in local "
     "time (\"0 2 * * *\"), or \"manual\" (only `sync --now`)."},
    {"window", string, false, "",
     "Local hours in which `fep-agent run` starts its scheduled syncs, \"HH:MM-HH:MM\" "
     "(\"22:00-06:00\" spans midnight); default: any time. `sync --once` and `sync --now` ignore "
     "it, and a sync started inside the window is not stopped at its end."},
    {"on_schema_change", string, false, "reject",
     "odbc targets: what a manifest whose schema conflicts with the local table does. `reject`: "
     "the batch is held with SCHEMA_MISMATCH (no receipt) until the operator retries, skips or "
     "resyncs; `rebuild`: a full batch recreates the table (incremental batches are still held). "
     "Added nullable columns are always added.",
     "reject|rebuild"},
};

constexpr KeySpec kDaemonKeys[] = {
    {"workers", integer, false, "2", "Resources synced at the same time, 1-32."},
    {"max_connections", integer, false, "2",
     "Batches applied at the same time into one target (its database connections), 1-32. A "
     "SQLite target always takes one batch at a time."},
    {"heartbeat_interval", duration, false, "60s", "How often the heartbeat is sent."},
    {"subscriptions_interval", duration, false, "5m",
     "How often the subscription list is fetched again (newly revoked resources stop, newly "
     "approved ones start)."},
    {"receipts_interval", duration, false, "30s",
     "How often receipts the exchange has not yet taken are sent again."},
    {"jitter", duration, false, "10s",
     "Each scheduled run starts up to this much later, at random, to spread load on the "
     "platform."},
    {"shutdown_grace", duration, false, "30s",
     "How long SIGTERM waits for batches being applied; unfinished ones roll back."},
    {"control_socket", path, false, "",
     "Unix socket through which `sync --now`, `retry`, `skip` and `resync` reach the daemon; "
     "default: <state_dir>/control.sock."},
};

constexpr KeySpec kLogKeys[] = {
    {"file", path, false, "",
     "A log file, rotated by size, in addition to stderr (for machines without journald)."},
    {"max_size", integer, false, "10485760", "Bytes per log file before it is rotated."},
    {"max_files", integer, false, "5", "Rotated files kept."},
};

constexpr KeySpec kRetentionKeys[] = {
    {"events", duration, false, "180d",
     "Events (errors, warnings, outcomes in the state database, shown by the dashboard) older "
     "than this are deleted, at least 1d. The audit log is never deleted."},
    {"rejected_payloads", duration, false, "30d",
     "Payloads of rejected batches kept in <state_dir>/rejected for inspection are deleted this "
     "long after the rejection, at least 1d."},
};

constexpr KeySpec kStatusKeys[] = {
    {"listen", string, false, "127.0.0.1:8470",
     "host:port of the status HTTP endpoint (IPv6 in brackets)."},
    {"allow_remote", boolean, false, "false",
     "Serve the status endpoint on an address that is not loopback. It has no login: restrict "
     "who reaches it with the firewall."},
};

}  // namespace

const SectionSpec kTopSection{"", "The top level of the file.", kTopKeys};
const SectionSpec kNodeSection{"node", "This front-end machine.", kNodeKeys};
const SectionSpec kExchangeSection{"exchange", "The exchange platform and how requests retry.",
                                   kExchangeKeys};
const SectionSpec kOdbcTargetSection{"targets.<name> (type: odbc)", "A database reached over ODBC.",
                                     kOdbcTargetKeys};
const SectionSpec kFolderTargetSection{"targets.<name> (type: folder)",
                                       "A local folder receiving files.", kFolderTargetKeys};
const SectionSpec kResourceSection{"resources[]", "One resource to pull.", kResourceKeys};
const SectionSpec kStatusSection{"status", "The status endpoint.", kStatusKeys};
const SectionSpec kDaemonSection{"daemon", "The daemon's scheduling and timers.", kDaemonKeys};
const SectionSpec kLogSection{"log", "Log files.", kLogKeys};
const SectionSpec kRetentionSection{"retention", "Housekeeping: what is deleted when.",
                                    kRetentionKeys};

std::span<const SectionSpec* const> all_sections() {
  static const SectionSpec* const kAll[] = {
      &kTopSection,          &kNodeSection,     &kExchangeSection, &kOdbcTargetSection,
      &kFolderTargetSection, &kResourceSection, &kStatusSection,   &kDaemonSection,
      &kLogSection,          &kRetentionSection};
  return kAll;
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case string:
      return "string";
    case path:
      return "path";
    case boolean:
      return "boolean";
    case integer:
      return "integer";
    case duration:
      return "duration";
    case map:
      return "map";
    case list:
      return "list";
    case string_or_list:
      return "string or list";
  }
  return "?";
}

const KeySpec* SectionSpec::find(std::string_view key) const {
  for (const auto& k : keys)
    if (k.key == key) return &k;
  return nullptr;
}

std::string SectionSpec::key_list() const {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + std::string(k.key);
  return out;
}

}  // namespace fep::config

namespace fep {
namespace {

// Markdown tables break on '|'.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string config_reference_markdown() {
  std::string md =
      "# fep-agent configuration reference\n\nDurations are an integer and a unit: "
      "`ms`, `s`, `m`, `h` or `d` (`500ms`, `15s`, `2m`, `30d`), at most `36500d`. Booleans are "
      "`true` or "
      "`false`. "
      "Unknown keys are errors.\n";
  for (const auto* section : config::all_sections()) {
    md += "\n## " + std::string(section->name.empty() ? "Top level" : section->name) + "\n\n";
    md += std::string(section->description) + "\n\n";
    md += "| Key | Type | Required | Default | Description |\n|---|---|---|---|---|\n";
    for (const auto& k : section->keys) {
      std::string description(k.description);
      if (!k.choices.empty()) {
        std::string choices;
        for (char c : k.choices) choices += c == '|' ? std::string(", ") : std::string(1, c);
        description += " One of: " + choices + ".";
      }
      md += "| `" + std::string(k.key) + "` | " + std::string(config::type_name(k.type)) + " | " +
            (k.required ? "yes" : "no") + " | " +
            (k.default_value.empty() ? "" : "`" + std::string(k.default_value) + "`") + " | " +
            cell(description) + " |\n";
    }
  }
  return md;
}

}  // namespace fep
