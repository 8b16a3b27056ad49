// Private: TLS set-up shared by the client's connections.
#pragma once

#include <fedora/http/client.hpp>

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <string>

namespace fedora::http::detail {

// Verification on (optional CA file now, the system store by load_system_ca_store) unless
// params.insecure; TLS 1.2 minimum. Throws fedora::error(errc::tls_error) when the CA file
// cannot be loaded.
boost::asio::ssl::context make_tls_context(const tls_params& params);

// Adds the system's CA store to the context if params ask for it. Parsing the store's
// hundred-odd certificates costs about 250 million instructions: a client that never opens
// an HTTPS connection should not pay it, so the client calls this before its first one.
void load_system_ca_store(boost::asio::ssl::context& ctx, const tls_params& params);

// SNI for DNS names, and host-name (or IP address) verification by OpenSSL itself, so that
// a mismatch is reported as X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH.
// Returns false if OpenSSL refused the settings.
bool prepare_tls_session(SSL* ssl, const std::string& host, bool insecure);

// Why the handshake failed, in words: the certificate verification result when there is
// one ("certificate has expired", "hostname mismatch"...), else the OpenSSL reason.
std::string describe_tls_failure(SSL* ssl, const error_code& ec);

} // namespace fedora::http::detail
