// Test certificates made at run time with OpenSSL: the emulator's HTTPS certificate, the
// client certificates of /user/dogencert, and the TLS matrix of the test suite. Nothing
// here is for production use; private keys are generated fresh and never written to the
// repository.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fedora::emulator {

struct pem_pair
{
    std::string key_pem;
    std::string cert_pem;
};

// A self-signed CA (EC P-256).
pem_pair make_ca(const std::string& common_name);

struct cert_request
{
    std::string common_name;
    std::vector<std::string> dns_names;     // subjectAltName DNS entries
    std::vector<std::string> ip_addresses;  // subjectAltName IP entries
    std::chrono::seconds not_before_offset{-3600};  // relative to now
    std::chrono::seconds valid_for{86400 * 30};
    bool is_ca = false;
    std::string email;
};

// A certificate for `req` signed by `ca`. Throws std::runtime_error if OpenSSL fails.
pem_pair make_certificate(const pem_pair& ca, const cert_request& req);

// A self-signed end-entity certificate for `req` (issuer == subject, not a CA): what a
// server set up without any CA presents. Throws std::runtime_error if OpenSSL fails.
pem_pair make_self_signed(const cert_request& req);

// Writes text to path with mode 0600 (keys) or 0644; throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& text, bool secret);

} // namespace fedora::emulator
