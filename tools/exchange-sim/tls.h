// TLS serving for exchange-sim (`serve --tls-cert --tls-key [--client-ca]`): the server object,
// plain or TLS, made from the serve options.
#pragma once

#include <httplib.h>

#include <memory>

#include "adapters/base/expected.h"
#include "tools/exchange-sim/server.h"

namespace fep::sim {

// Checks the TLS options fit together and their files can be read.
Status check_tls_options(const ServeOptions& opts);

// An httplib::SSLServer when opts has tls_cert and tls_key (requiring and verifying client
// certificates against client_ca when given), else a plain httplib::Server.
// Check is_valid() before use: a certificate or key OpenSSL cannot load leaves it invalid.
std::unique_ptr<httplib::Server> make_http_server(const ServeOptions& opts);

}  // namespace fep::sim
