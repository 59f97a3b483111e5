// fep-agent: pulls subscribed resources from the city exchange into local targets.
#include <curl/curl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "agent/app/commands.h"
#include "agent/config/config.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/fep-agent/agent.yaml";

std::string default_config_path() {
  const char* env = std::getenv("FEP_AGENT_CONFIG");
  return env && *env ? env : kDefaultConfig;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("fep-agent");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S%z %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
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

  auto* sync = cli.add_subcommand("sync", "sync subscribed resources");
  bool once = false;
  std::optional<std::string> resource;
  sync->add_flag("--once", once, "sync once, deliver pending receipts, then exit")->required();
  sync->add_option("--resource", resource, "only this resource id");

  auto* status = cli.add_subcommand("status", "show each resource's sync state");
  bool json = false;
  status->add_flag("--json", json, "print JSON instead of a table");

  auto* check = cli.add_subcommand("check-config", "validate the configuration and exit");
  auto* reference =
      cli.add_subcommand("config-reference", "print every configuration key (Markdown)");

  CLI11_PARSE(cli, argc, argv);
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
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = fep::app::run_sync_once(*config, resource);
  curl_global_cleanup();
  return rc;
}
