// fep-agent: pulls subscribed resources from the city exchange into local targets.
#include <curl/curl.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "agent/app/audit_command.h"
#include "agent/app/commands.h"
#include "agent/config/config.h"
#include "agent/daemon/daemon.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/fep-agent/agent.yaml";

std::string default_config_path() {
  const char* env = std::getenv("FEP_AGENT_CONFIG");
  return env && *env ? env : kDefaultConfig;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("fep-agent");
  // Under journald (JOURNAL_STREAM set) the journal stamps each line itself.
  logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l %v" : "%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

// The configured log file, rotated by size, next to stderr.
void add_log_file(const fep::LogConfig& log) {
  if (log.file.empty()) return;
  try {
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        log.file.string(), static_cast<size_t>(log.max_size), static_cast<size_t>(log.max_files));
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    spdlog::default_logger()->sinks().push_back(sink);
  } catch (const spdlog::spdlog_ex& e) {
    spdlog::warn("cannot write the log file {}: {}", log.file.string(), e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"fep-agent: syncs subscribed tables and folders from the city exchange platform"};
  cli.set_version_flag("--version", "fep-agent " FEP_VERSION);
  std::string config_path = default_config_path();
  std::string log_level = "info";
  cli.add_option("-c,--config", config_path,
                 "configuration file (default: $FEP_AGENT_CONFIG or /etc/fep-agent/agent.yaml)");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.require_subcommand(1);

  auto* run = cli.add_subcommand("run", "run as a daemon: sync every resource on its schedule");

  auto* sync = cli.add_subcommand("sync", "sync subscribed resources now");
  bool once = false, now = false;
  std::optional<std::string> resource, positional;
  auto* once_flag = sync->add_flag("--once", once, "sync in this process, then exit");
  auto* now_flag = sync->add_flag(
      "--now", now, "ask the running daemon to sync now and wait (without a daemon: as --once)");
  once_flag->excludes(now_flag);
  sync->add_option("--resource", resource, "only this resource id");
  sync->add_option("RESOURCE", positional, "only this resource id");

  auto* status = cli.add_subcommand("status", "show each resource's sync state");
  bool json = false;
  status->add_flag("--json", json, "print JSON instead of a table");

  auto* unblock = cli.add_subcommand(
      "unblock", "let a resource blocked by a rejected batch go on after that batch");
  std::string unblock_id;
  unblock->add_option("RESOURCE", unblock_id, "resource id")->required();

  auto* history = cli.add_subcommand("history", "show batches, newest first");
  std::optional<std::string> history_id;
  int history_limit = 20;
  bool history_json = false;
  history->add_option("RESOURCE", history_id, "only this resource id");
  history->add_option("--limit", history_limit, "at most this many batches (default 20)")
      ->check(CLI::Range(1, 100000));
  history->add_flag("--json", history_json, "print JSON instead of a table");

  auto* resources = cli.add_subcommand(
      "resources", "list every subscription on the platform and whether it is configured here");
  bool resources_json = false;
  resources->add_flag("--json", resources_json, "print JSON instead of a table");

  auto* retry = cli.add_subcommand(
      "retry", "try a blocked resource's failed batch again (after fixing the target), and sync");
  std::string retry_id;
  retry->add_option("RESOURCE", retry_id, "resource id")->required();

  auto* skip = cli.add_subcommand(
      "skip", "send a rejected receipt for the batch blocking a resource and go on after it");
  std::string skip_id, skip_batch, skip_reason;
  skip->add_option("RESOURCE", skip_id, "resource id")->required();
  skip->add_option("--batch", skip_batch, "the blocking batch's id (see fep-agent status)")
      ->required();
  skip->add_option("--reason", skip_reason, "why; goes into the receipt and the logs")->required();

  auto* resync = cli.add_subcommand(
      "resync", "apply no incremental batch until the next full batch, then apply that");
  std::string resync_id;
  resync->add_option("RESOURCE", resync_id, "resource id")->required();

  auto* verify = cli.add_subcommand(
      "verify", "re-hash a folder resource and report files changed, missing or unexpected");
  std::string verify_id;
  verify->add_option("RESOURCE", verify_id, "resource id")->required();

  auto* check = cli.add_subcommand("check-config", "validate the configuration and exit");
  auto* reference =
      cli.add_subcommand("config-reference", "print every configuration key (Markdown)");

  fep::app::AuditArgs audit;
  fep::app::add_audit_command(cli, audit);

  CLI11_PARSE(cli, argc, argv);
  // Threads started from here on leave SIGTERM, SIGINT and SIGHUP to the daemon's handler. The
  // commands that may ask a running daemon instead (sync --now, retry, skip, resync) block them
  // only when they sync in their own process (run_sync_once): while a daemon works for them,
  // Ctrl-C ends the command at once and the daemon finishes the run.
  if (run->parsed()) fep::daemon::block_daemon_signals();
  setup_logging(log_level);

  if (reference->parsed()) {
    std::cout << fep::config_reference_markdown();
    return 0;
  }
  auto config = fep::load_config(config_path);
  if (!config) {
    std::cerr << "fep-agent: " << config.error().message << "\n";
    return 1;
  }
  if (check->parsed()) return fep::app::run_check_config(*config);
  if (status->parsed()) return fep::app::run_status(*config, json);
  if (unblock->parsed()) return fep::app::run_unblock(*config, unblock_id);
  if (verify->parsed()) return fep::app::run_verify(*config, verify_id);
  if (history->parsed())
    return fep::app::run_history(*config, history_id, history_limit, history_json);
  if (audit.parsed()) return fep::app::run_audit(*config, audit);
  add_log_file(config->log);
  if (sync->parsed() && !once && !now) {
    std::cerr << "fep-agent: sync needs --once or --now\n";
    return 1;
  }
  if (positional && !resource) resource = positional;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  if (run->parsed()) {
    fep::daemon::Daemon daemon(std::make_shared<const fep::Config>(std::move(config).value()),
                               config_path);
    rc = daemon.run();
  } else if (resources->parsed()) {
    rc = fep::app::run_resources(*config, resources_json);
  } else if (retry->parsed()) {
    rc = fep::app::run_retry(*config, retry_id);
  } else if (skip->parsed()) {
    rc = fep::app::run_skip(*config, skip_id, skip_batch, skip_reason);
  } else if (resync->parsed()) {
    rc = fep::app::run_resync(*config, resync_id);
  } else if (now) {
    rc = fep::app::run_sync_now(*config, resource);
  } else {
    rc = fep::app::run_sync_once(*config, resource);
  }
  curl_global_cleanup();
  return rc;
}
