#include "tls.hpp"

#include <boost/asio/ip/address.hpp>

#include <openssl/x509v3.h>

namespace fedora::http::detail {
namespace ssl = boost::asio::ssl;

ssl::context make_tls_context(const tls_params& params)
{
    ssl::context ctx(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    if (params.insecure) {
        ctx.set_verify_mode(ssl::verify_none);
        return ctx;
    }
    ctx.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (!params.ca_file.empty()) {
        ctx.load_verify_file(params.ca_file, ec);
        if (ec) {
            diagnostics d;
            d.message = "cannot load CA file " + params.ca_file + ": " + ec.message();
            d.cause = ec;
            throw error(make_error_code(errc::tls_error), std::move(d));
        }
    }
    return ctx;
}

void load_system_ca_store(ssl::context& ctx, const tls_params& params)
{
    if (params.insecure || !params.use_system_ca_store)
        return;
    error_code ec;
    ctx.set_default_verify_paths(ec);  // a machine without a CA store still works with ca_file
}

bool prepare_tls_session(SSL* ssl, const std::string& host, bool insecure)
{
    error_code ec;
    (void)boost::asio::ip::make_address(host, ec);
    const bool is_ip = !ec;
    if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
        return false;
    if (insecure)
        return true;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_ip)
        return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string describe_tls_failure(SSL* ssl, const error_code& ec)
{
    long result = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (result != X509_V_OK)
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(result);
    return "TLS handshake failed: " + ec.message();
}

} // namespace fedora::http::detail
