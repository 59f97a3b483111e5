#include "tools/exchange-sim/tls.h"

#include "adapters/base/files.h"

namespace fep::sim {

Status check_tls_options(const ServeOptions& opts) {
  if (opts.tls_cert.has_value() != opts.tls_key.has_value())
    return fail("give --tls-cert and --tls-key together");
  if (opts.client_ca && !opts.tls_cert) return fail("--client-ca needs --tls-cert and --tls-key");
  for (const auto* file : {&opts.tls_cert, &opts.tls_key, &opts.client_ca})
    if (*file)
      if (auto text = read_file(**file, kMaxTextFileBytes); !text) return Unexpected{text.error()};
  return {};
}

std::unique_ptr<httplib::Server> make_http_server(const ServeOptions& opts) {
  if (!opts.tls_cert || !opts.tls_key) return std::make_unique<httplib::Server>();
  // With a client CA, httplib sets SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT: a client
  // without a certificate from that CA fails the handshake.
  return std::make_unique<httplib::SSLServer>(opts.tls_cert->c_str(), opts.tls_key->c_str(),
                                              opts.client_ca ? opts.client_ca->c_str() : nullptr);
}

}  // namespace fep::sim
