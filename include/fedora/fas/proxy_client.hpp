// fedora::fas::proxy_client: python-fedora's FasProxyClient, asynchronous. It keeps no
// per-user state: every call takes the caller's auth_params and completes with
// reply<T>{value, session_id, diag}, session_id being the `tg-visit` the server set.
//
// Thread safety: distinct and shared objects are safe; one proxy_client may serve any
// number of users from any number of threads at once. No answer can reach the wrong user:
// nothing about a user is kept between calls, and the transport has no cookie jar.
//
// Costs: one HTTP request per call (reads may be repeated by the retry policy; writes
// never). Completion: see <fedora/async.hpp>.
#pragma once

#include <fedora/fas/client_base.hpp>

namespace fedora::fas {

class proxy_client
{
public:
    // Creates its own transport on executor.
    explicit proxy_client(boost::asio::any_io_executor executor, client_params params = {});
    // Shares a transport (and its pools) with other clients.
    proxy_client(std::shared_ptr<http::client> transport, client_params params = {});

    boost::asio::any_io_executor get_executor() const;
    const std::shared_ptr<http::client>& transport() const noexcept;

    // Runs any operation with the given identity.
    template <class Op, class CompletionToken = default_token>
    auto async_run(Op op, auth_params auth, CompletionToken&& token = CompletionToken{})
    {
        using result = reply<typename Op::result_type>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::fas_core> core, Op op, auth_params auth) {
                auto req = op.build();
                start(std::move(core), std::move(req), std::move(auth),
                      detail::parse_then<Op, decltype(handler)>{std::move(op), std::move(handler)});
            },
            std::forward<CompletionToken>(token), core_, std::move(op), std::move(auth));
    }

    // POST login with the credentials: the new session and the caller's record.
    template <class CompletionToken = default_token>
    auto async_login(std::string username, std::string password, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::login{username, password}, auth_params::credentials(username, password),
                         std::forward<CompletionToken>(token));
    }

    // POST logout: ends the session on the server.
    template <class CompletionToken = default_token>
    auto async_logout(std::string session_id, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::logout{}, auth_params::session(std::move(session_id)),
                         std::forward<CompletionToken>(token));
    }

    // POST to the base URL: extends the session; completes with the server's answer.
    template <class CompletionToken = default_token>
    auto async_refresh_session(std::string session_id, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::refresh_session{}, auth_params::session(std::move(session_id)),
                         std::forward<CompletionToken>(token));
    }

    // true if the session is valid (false on an auth error or an empty id, without I/O then).
    template <class CompletionToken = default_token>
    auto async_verify_session(std::string session_id, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::verify_home{}, auth_params::session(std::move(session_id)),
                         std::forward<CompletionToken>(token));
    }

    // true if FAS accepts the password; no session is kept.
    template <class CompletionToken = default_token>
    auto async_verify_password(std::string username, std::string password,
                               CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::verify_home{.credentials_only = true},
                         auth_params::credentials(std::move(username), std::move(password)),
                         std::forward<CompletionToken>(token));
    }

    // POST user/view: the caller's own record.
    template <class CompletionToken = default_token>
    auto async_get_user_info(auth_params auth, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::get_user_info{}, std::move(auth), std::forward<CompletionToken>(token));
    }

    template <class CompletionToken = default_token>
    auto async_person_by_id(std::int64_t person_id, auth_params auth, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::proxy_person_by_id{person_id}, std::move(auth),
                         std::forward<CompletionToken>(token));
    }

    template <class CompletionToken = default_token>
    auto async_group_list(auth_params auth, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::group_list_op{}, std::move(auth), std::forward<CompletionToken>(token));
    }

    // Any endpoint: the JSON answer as it came. Not repeated unless safe_to_repeat.
    template <class CompletionToken = default_token>
    auto async_send_request(std::string method, http::form req_params, auth_params auth,
                            bool safe_to_repeat = false, CompletionToken&& token = CompletionToken{})
    {
        return async_run(ops::send_request{std::move(method), std::move(req_params), safe_to_repeat},
                         std::move(auth), std::forward<CompletionToken>(token));
    }

    // The generic path, compiled once in the library.
    static void start(std::shared_ptr<detail::fas_core> core, operation_request req,
                      auth_params auth, detail::raw_handler handler);

private:
    std::shared_ptr<detail::fas_core> core_;
};

} // namespace fedora::fas
