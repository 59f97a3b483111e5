// Test helpers: an in-process HTTP server on a free loopback port, and a config pointing at it.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include "agent/config/config.h"

namespace fep::testing {

struct LoopbackServer {
  httplib::Server http;
  int port = 0;
  std::thread thread;
  void start() {
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
  }
  ~LoopbackServer() {
    http.stop();
    if (thread.joinable()) thread.join();
  }
};

// Fast retries, so that tests of retrying stay quick.
inline Config config_for(int port) {
  Config c;
  c.node.id = "N-1";
  c.exchange.url = "http://127.0.0.1:" + std::to_string(port);
  c.exchange.token = "tok";
  c.exchange.allow_insecure_http = true;
  c.exchange.max_attempts = 3;
  c.exchange.retry_base = std::chrono::milliseconds(10);
  c.exchange.retry_cap = std::chrono::milliseconds(50);
  return c;
}

}  // namespace fep::testing
