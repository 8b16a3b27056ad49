// What proxy_client and account_system share: configuration, and the generic path that
// runs any operation of <fedora/fas/operations.hpp>.
#pragma once

#include <fedora/async.hpp>
#include <fedora/detail/internal_failure.hpp>
#include <fedora/fas/operations.hpp>
#include <fedora/http/client.hpp>

#include <boost/asio/any_completion_handler.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace fedora::fas {

struct client_params
{
    // Where FAS lives; a missing trailing '/' is added.
    std::string base_url = "https://admin.fedoraproject.org/accounts/";
    std::string user_agent;                   // "" = "fedora-client/<version>"
    std::chrono::milliseconds timeout{0};     // per call; 0 = the transport's default
    // Applied to reads (safe_to_repeat operations) only; writes are never repeated.
    http::retry_policy read_retry;
    // Used when the client creates its own transport.
    http::client_params http;
};

namespace detail {

class fas_core;
using raw_handler = boost::asio::any_completion_handler<void(error_code, raw_reply)>;

// Turns the raw reply into the operation's typed reply, on the caller's executor.
template <class Op, class Handler>
struct parse_then
{
    using forwarded_handler_type = Handler;  // its associations are the caller's (async.hpp)
    Op op;
    Handler handler;

    void operator()(error_code ec, raw_reply&& r)
    {
        reply<typename Op::result_type> out;
        if (!ec) {
            try {
                ec = op.parse(r, out.value);
            } catch (const std::exception& e) {  // allocation failure: complete, do not lose the handler
                ec = fedora::detail::internal_failure(r.diag, e);
            }
        }
        if constexpr (requires { op.recover(ec, r, out.value); })
            if (ec)
                ec = op.recover(ec, r, out.value);
        out.session_id = std::move(r.session_id);
        out.diag = std::move(r.diag);
        std::move(handler)(ec, std::move(out));
    }
};

} // namespace detail
} // namespace fedora::fas

