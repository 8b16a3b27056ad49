// Errors of the whole SDK: one error category (`fedora::errc`), one exception type
// (`fedora::error`) and one details object (`fedora::diagnostics`).
//
// Every asynchronous operation completes with `void(boost::system::error_code, R)`, where R
// carries a `diagnostics` member named `diag` (see <fedora/async.hpp>). Callers who do not
// want exceptions read `ec` and `r.diag`; with the default completion token the operation
// throws `fedora::error`, which holds both.
//
// Server text inside diagnostics (messages, body snippets) is untrusted input: print it,
// never interpret it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <string>
#include <type_traits>

namespace fedora {

using boost::system::error_code;

// The kinds mirror python-fedora's exceptions (AuthError, AppError, ServerError, CLAError)
// plus the transport's own failures.
enum class errc : int {
    auth_error = 1,       // 401/403, identity refused, missing or half-given credentials
    app_error,            // the server reported an application error (`exc`, cornice errors)
    cla_error,            // user_gencert without a signed CLA
    server_error,         // HTTP status >= 400 or a body that is not the expected JSON
    not_supported,        // the server (e.g. Bodhi 1 vs 2) cannot do this operation
    invalid_argument,     // bad input from the caller, refused before any I/O
    timeout,              // the call's deadline passed
    cancelled,            // the caller cancelled the operation
    queue_full,           // the origin's pool and its wait queue are both full
    connect_error,        // resolve/connect failed, or the connection broke
    tls_error,            // handshake or certificate verification failed
    protocol_error,       // malformed HTTP: bad status line, headers, framing, truncated body
    limit_exceeded,       // header or body larger than the configured limit
    redirect_error,       // too many redirects, https->http, or another origin not allowed
    client_closed,        // the client was shut down while the call was pending
};

const boost::system::error_category& error_category() noexcept;

inline error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

// Everything known about a failure (and, on success, about the exchange).
struct diagnostics
{
    unsigned http_status = 0;      // 0 when no response arrived
    std::string url;               // scheme://host:port/path, no credentials, no query
    std::string message;           // a human-readable account, secrets masked
    std::string body_snippet;      // at most 1 KiB of an unexpected body (untrusted text)
    error_code cause;              // the underlying Asio/Beast/SSL error, if any
    // Whether the request may have been processed by the server. False only when the SDK
    // knows nothing was sent (refused before I/O, connect or TLS failure, queue full).
    bool may_have_reached_server = false;
    unsigned attempts = 0;         // how many times the request was sent (retries included)
    // App errors: the server's exception name (`exc`, cornice `name`) and any extra fields.
    std::string app_error_name;
    boost::json::object extras;
};

// The SDK's exception: an error_code (category fedora::error_category() or an
// underlying one) plus the diagnostics of the call.
class error : public boost::system::system_error
{
public:
    error(error_code ec, diagnostics diag);
    const diagnostics& diag() const noexcept { return diag_; }

private:
    diagnostics diag_;
};

// Masks the value of secrets (password, session ids, CSRF tokens, cookies) in free text
// such as a URL query or a form body, so that it may be logged.
std::string mask_secrets(std::string_view text);

} // namespace fedora

template <>
struct boost::system::is_error_code_enum<fedora::errc> : std::true_type
{
};
