// Private: the generic path every FAS operation runs through, and the identity that
// account_system binds.
#pragma once

#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include "../detail/joined_urls.hpp"

#include <boost/url/url.hpp>

#include <mutex>
#include <string_view>

namespace fedora::fas::detail {

class json_dump_sink;

class fas_core
{
public:
    fas_core(std::shared_ptr<http::client> transport, client_params params);

    std::shared_ptr<http::client> transport;
    client_params params;
    fedora::detail::joined_urls urls;  // from the base URL, which always ends with '/'
    std::string origin;
};

// Reads what every FAS answer needs read (pure; unit-tested): the session cookie,
// 401/403, other failing statuses, JSON, `exc`.
// With a sink that took the body, the answer is what the sink kept (see json_dump_sink).
error_code read_fas_answer(http::response& resp, raw_reply& out, json_dump_sink* sink = nullptr);

// Builds the HTTP request of an operation for an identity, or says why it cannot.
// Only reads `req`, so that the same request can be sent again (a relogin).
error_code build_http_request(const fas_core& core, const operation_request& req,
                              const auth_params& auth, http::request& out, diagnostics& diag);

// An operation checked and built for an identity, ready to send; or why it cannot be.
struct prepared_operation
{
    error_code refused;
    raw_reply refusal;   // its diagnostics, when refused
    http::request http;
    bool follow_redirects = true;
    std::shared_ptr<json_dump_sink> sink;
};
prepared_operation prepare_operation(const fas_core& core, const operation_request& req,
                                     const auth_params& auth);
// Sends it and completes `handler` with the FAS answer; a refused one completes later, on
// the handler's executor, without any I/O.
void send_prepared(std::shared_ptr<fas_core> core, prepared_operation&& op, raw_handler handler);

class identity
{
public:
    identity(std::shared_ptr<fas_core> core, account_params params);

    std::shared_ptr<fas_core> core;
    const std::string username;
    const std::string password;
    const bool http_basic;
    const std::string store_path;

    // The session if there is one, else the credentials.
    auth_params current() const;
    bool has_credentials() const noexcept { return !username.empty() && !password.empty(); }
    std::string session() const;
    void adopt(const std::string& session_id);
    // Forgets `session_id` if it is still the current one.
    void forget(const std::string& session_id);

private:
    mutable std::mutex mutex_;
    std::string session_;
};

// The JSON session store: {"<origin> <username>": "<session id>"}.
std::string load_stored_session(const std::string& path, const std::string& key);
void store_session(const std::string& path, const std::string& key, const std::string& session_id);

} // namespace fedora::fas::detail
