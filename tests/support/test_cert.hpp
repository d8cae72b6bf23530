#pragma once

// Self-signed certificates for TLS tests (https_client, realtime_client).

#include <string>

namespace al::test {

struct test_cert {
  std::string cert_pem;
  std::string key_pem;
};

/// A self-signed CA:TRUE certificate (P-256, valid for a day) for `san`,
/// e.g. "DNS:localhost".
test_cert make_cert(const std::string& san);

} // namespace al::test
