// fep-status-serve: the status endpoint on its own, over a state database, read-only. For a
// look at an agent's state without the daemon (a copy of state.db, a stopped agent) and for
// tests. Prints "listening on HOST:PORT" once it listens; stops on SIGINT or SIGTERM.
#include <signal.h>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "adapters/base/clock.h"
#include "agent/status/status_server.h"

int main(int argc, char** argv) {
  CLI::App cli{
      "fep-status-serve: the fep-agent status dashboard, API and metrics over a state "
      "database (read-only)"};
  std::string listen = "127.0.0.1:8470";
  std::string state_db;
  std::string node;
  bool allow_remote = false;
  cli.add_option("--listen", listen, "host:port (port 0: any free port)");
  cli.add_option("--state-db", state_db, "the agent's state database (<state_dir>/state.db)")
      ->required();
  cli.add_option("--node", node, "the node id to show");
  cli.add_flag("--allow-remote", allow_remote,
               "listen on an address that is not loopback (no authentication!)");
  CLI11_PARSE(cli, argc, argv);

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  fep::status::AgentInfo info;
  info.version = FEP_VERSION;
  info.started_at = fep::rfc3339_now();
  info.node_id = node;
  fep::status::StatusServer server;
  fep::status::ServerOptions options;
  options.allow_remote = allow_remote;
  if (auto st = server.start(listen, state_db, std::move(info), options); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  std::cout << "listening on " << server.address() << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  server.stop();
  return 0;
}
