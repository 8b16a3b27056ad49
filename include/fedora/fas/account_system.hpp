// fedora::fas::account_system: python-fedora's AccountSystem, asynchronous. It binds one
// identity (username + password and/or a session id) at construction and keeps the
// current session itself, on top of the same stateless path proxy_client uses.
//
// Session handling (fixes python-fedora's BaseClient): the password is sent only when there
// is no live session (the first call logs in, and every call after that uses the session);
// when the server refuses the session (403) and a password is known, the call logs in
// again once and is sent again. A reply without a new `tg-visit` keeps the old session.
//
// Thread safety: distinct and shared objects are safe; calls may run concurrently from any
// thread. Concurrent first calls may each log in; the last session the server set wins.
//
// Optional session store (off by default): a JSON file (mode 0600, atomic replace) keyed by
// origin and username; a file another user could write is ignored.
#pragma once

#include <fedora/fas/client_base.hpp>

#include <map>

namespace fedora::fas {

struct account_params
{
    client_params client;
    std::string username;
    std::string password;
    std::string session_id;     // a session to start with
    bool http_basic = false;    // credentials as HTTP Basic instead of the login form
    std::string session_store;  // path of the session store file; "" = no store
};

struct avatar_params
{
    int size = 64;                // 32, 64 or 140
    std::string default_url;      // "" = Fedora's infinity logo
    bool lookup_email = true;     // gravatar: ask FAS for the e-mail (one request)
    avatar_service service = avatar_service::libravatar;
};

namespace detail {
class identity;
}

class account_system
{
public:
    // Throws std::invalid_argument when half the credentials are given.
    account_system(boost::asio::any_io_executor executor, account_params params);
    account_system(std::shared_ptr<http::client> transport, account_params params);

    boost::asio::any_io_executor get_executor() const;
    // The current session id ("" before the first authenticated call).
    std::string session_id() const;

    template <class Op, class CompletionToken = default_token>
    auto async_run(Op op, CompletionToken&& token = CompletionToken{})
    {
        using result = reply<typename Op::result_type>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id, Op op) {
                auto req = op.build();
                start(std::move(id), std::move(req),
                      detail::parse_then<Op, decltype(handler)>{std::move(op), std::move(handler)});
            },
            std::forward<CompletionToken>(token), identity_, std::move(op));
    }

#define FEDORA_FAS_OP(name, op_expr, ...)                                                   \
    template <class CompletionToken = default_token>                                        \
    auto name(__VA_ARGS__ __VA_OPT__(, ) CompletionToken&& token = CompletionToken{})       \
    {                                                                                       \
        return async_run(op_expr, std::forward<CompletionToken>(token));                    \
    }

    // Each: one POST (see the README's method table).
    FEDORA_FAS_OP(async_person_by_id, ops::person_by_id{person_id}, std::int64_t person_id)
    FEDORA_FAS_OP(async_person_by_username, ops::person_by_username{std::move(username)}, std::string username)
    FEDORA_FAS_OP(async_group_by_id, ops::group_by_id{group_id}, std::int64_t group_id)
    FEDORA_FAS_OP(async_group_by_name, ops::group_by_name{std::move(groupname)}, std::string groupname)
    FEDORA_FAS_OP(async_group_members, ops::group_members{std::move(groupname)}, std::string groupname)
    FEDORA_FAS_OP(async_people_by_key,
                  (ops::people_by_key{std::move(key), std::move(search), std::move(fields)}),
                  std::string key, std::string search, std::vector<std::string> fields)
    FEDORA_FAS_OP(async_people_query, (ops::people_query{std::move(constraints), std::move(columns)}),
                  std::vector<std::pair<std::string, std::string>> constraints,
                  std::vector<std::string> columns)
    FEDORA_FAS_OP(async_user_id, ops::user_id{})
    FEDORA_FAS_OP(async_user_data, ops::user_data{})
    FEDORA_FAS_OP(async_group_data, ops::group_data{force_refresh}, bool force_refresh)
    FEDORA_FAS_OP(async_get_config,
                  (ops::get_config{std::move(username), std::move(application), std::move(attribute)}),
                  std::string username, std::string application, std::string attribute)
    FEDORA_FAS_OP(async_get_configs_like,
                  (ops::get_configs_like{std::move(username), std::move(application), std::move(pattern)}),
                  std::string username, std::string application, std::string pattern)
    FEDORA_FAS_OP(async_set_config,
                  (ops::set_config{std::move(username), std::move(application), std::move(attribute),
                                   std::move(value)}),
                  std::string username, std::string application, std::string attribute, std::string value)
    FEDORA_FAS_OP(async_create_group, std::move(op), ops::create_group op)
    FEDORA_FAS_OP(async_user_gencert, ops::user_gencert{})
#undef FEDORA_FAS_OP

    // Two requests (json/user_id, group/dump): everyone, by id.
    template <class CompletionToken = default_token>
    auto async_people_by_id(CompletionToken&& token = CompletionToken{})
    {
        using result = reply<std::map<std::int64_t, person_summary>>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id) {
                start_people_by_id(std::move(id), std::move(handler));
            },
            std::forward<CompletionToken>(token), identity_);
    }

    // Three requests: the members of a group, approved and unapproved.
    template <class CompletionToken = default_token>
    auto async_people_by_groupname(std::string groupname, CompletionToken&& token = CompletionToken{})
    {
        using result = reply<std::vector<person_summary>>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id, std::string g) {
                start_people_by_groupname(std::move(id), std::move(g), std::move(handler));
            },
            std::forward<CompletionToken>(token), identity_, std::move(groupname));
    }

    // Checks a password without touching this object's session (one request).
    template <class CompletionToken = default_token>
    auto async_verify_password(std::string username, std::string password,
                               CompletionToken&& token = CompletionToken{})
    {
        using result = reply<bool>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id, std::string u, std::string p) {
                start_verify_password(std::move(id), std::move(u), std::move(p), std::move(handler));
            },
            std::forward<CompletionToken>(token), identity_, std::move(username), std::move(password));
    }

    // The avatar URL; one request only for gravatar with lookup_email.
    template <class CompletionToken = default_token>
    auto async_avatar_url(std::string username, avatar_params params = {},
                          CompletionToken&& token = CompletionToken{})
    {
        using result = reply<std::string>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id, std::string u, avatar_params p) {
                start_avatar_url(std::move(id), std::move(u), std::move(p), std::move(handler));
            },
            std::forward<CompletionToken>(token), identity_, std::move(username), std::move(params));
    }

    template <class CompletionToken = default_token>
    [[deprecated("use async_avatar_url with avatar_service::gravatar")]]
    auto async_gravatar_url(std::string username, avatar_params params = {},
                            CompletionToken&& token = CompletionToken{})
    {
        params.service = avatar_service::gravatar;
        return async_avatar_url(std::move(username), std::move(params),
                                std::forward<CompletionToken>(token));
    }

    // Ends the session on the server (errors other than auth errors are reported) and
    // forgets it here and in the store.
    template <class CompletionToken = default_token>
    auto async_logout(CompletionToken&& token = CompletionToken{})
    {
        using result = reply<none>;
        return fedora::detail::initiate<result>(
            [](auto handler, std::shared_ptr<detail::identity> id) {
                start_logout(std::move(id), std::move(handler));
            },
            std::forward<CompletionToken>(token), identity_);
    }

    static void start(std::shared_ptr<detail::identity> id, operation_request req,
                      detail::raw_handler handler);

private:
    template <class T>
    using handler_of = boost::asio::any_completion_handler<void(error_code, reply<T>)>;
    static void start_people_by_id(std::shared_ptr<detail::identity>,
                                   handler_of<std::map<std::int64_t, person_summary>>);
    static void start_people_by_groupname(std::shared_ptr<detail::identity>, std::string,
                                          handler_of<std::vector<person_summary>>);
    static void start_verify_password(std::shared_ptr<detail::identity>, std::string, std::string,
                                      handler_of<bool>);
    static void start_avatar_url(std::shared_ptr<detail::identity>, std::string, avatar_params,
                                 handler_of<std::string>);
    static void start_logout(std::shared_ptr<detail::identity>, handler_of<none>);

    std::shared_ptr<detail::identity> identity_;
};

} // namespace fedora::fas
