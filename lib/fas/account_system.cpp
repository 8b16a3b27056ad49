#include "core.hpp"
#include "../detail/completion.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace fedora::fas {

namespace asio = boost::asio;
using detail::identity;
using fedora::detail::continue_on;
using fedora::detail::spawn_with;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using tuple_awaitable_t = std::decay_t<decltype(tuple_awaitable)>;

// One exchange with the identity's session, logging in again once if FAS refuses it.
asio::awaitable<std::tuple<error_code, raw_reply>> exchange(std::shared_ptr<identity> id,
                                                            operation_request req)
{
    auto send = [&](auth_params auth) {
        return asio::async_initiate<const tuple_awaitable_t, void(error_code, raw_reply)>(
            [](auto handler, std::shared_ptr<detail::fas_core> core, operation_request r, auth_params a) {
                proxy_client::start(std::move(core), std::move(r), std::move(a), std::move(handler));
            },
            tuple_awaitable, id->core, req, std::move(auth));
    };
    auth_params auth = id->current();
    auto [ec, r] = co_await send(auth);
    // FAS answers 403 to an expired or unknown session; with a password we can get a new
    // one. The refused request did nothing on the server, so sending it again is safe.
    if (ec == errc::auth_error && auth.has_session() && r.diag.http_status != 0 && id->has_credentials()) {
        id->forget(auth.session_id);
        std::tie(ec, r) = co_await send(id->current());
    }
    if (!ec || ec == errc::app_error)
        id->adopt(r.session_id);
    co_return std::tuple<error_code, raw_reply>{ec, std::move(r)};
}

template <class Op>
asio::awaitable<std::tuple<error_code, reply<typename Op::result_type>>> run(std::shared_ptr<identity> id, const Op& op)
{
    auto [ec, r] = co_await exchange(id, op.build());
    reply<typename Op::result_type> out;
    if (!ec)
        ec = op.parse(r, out.value);
    out.session_id = std::move(r.session_id);
    out.diag = std::move(r.diag);
    co_return std::tuple{ec, std::move(out)};
}

std::string bugzilla_email_of(const std::string& email) { return email; }

} // namespace

account_system::account_system(asio::any_io_executor executor, account_params params)
    : account_system(std::make_shared<http::client>(executor, params.client.http), params)
{
}

account_system::account_system(std::shared_ptr<http::client> transport, account_params params)
{
    auto core = std::make_shared<detail::fas_core>(std::move(transport), params.client);
    identity_ = std::make_shared<identity>(std::move(core), std::move(params));
}

asio::any_io_executor account_system::get_executor() const { return identity_->core->transport->get_executor(); }
std::string account_system::session_id() const { return identity_->session(); }

namespace {

// The second half of one exchange (see exchange() above, which composites use): adopts the
// session the server set, or after FAS refused the identity's session, logs in again once.
// Plain completion handlers rather than a coroutine: this is the path of every single call.
struct account_completion
{
    std::shared_ptr<identity> id;
    std::optional<operation_request> again;  // kept only when a refused session can be replaced
    std::string session_sent;
    detail::raw_handler handler;

    void operator()(error_code ec, raw_reply&& r)
    {
        if (ec == errc::auth_error && again && r.diag.http_status != 0) {
            id->forget(session_sent);
            auto retry = std::move(*again);
            again.reset();
            session_sent.clear();
            auto core = id->core;
            auto ex = core->transport->get_executor();
            auto next = id->current();
            auto h = continue_on(handler, ex);
            proxy_client::start(std::move(core), std::move(retry), std::move(next), h(std::move(*this)));
            return;
        }
        if (!ec || ec == errc::app_error)
            id->adopt(r.session_id);
        std::move(handler)(ec, std::move(r));
    }
};

} // namespace

void account_system::start(std::shared_ptr<identity> id, operation_request req, detail::raw_handler handler)
{
    auto core = id->core;
    auto ex = core->transport->get_executor();
    auth_params auth = id->current();
    auto prepared = detail::prepare_operation(*core, req, auth);
    // Prepared, the request itself is not needed any more: kept (moved, not copied) only
    // when a refused session can be replaced by logging in, for sending it again then.
    std::optional<operation_request> again;
    if (auth.has_session() && id->has_credentials())
        again = std::move(req);  // FAS refused requests did nothing, so the same one may go again
    auto bind = continue_on(handler, ex);
    detail::send_prepared(std::move(core), std::move(prepared),
                          bind(account_completion{std::move(id), std::move(again), std::move(auth.session_id),
                                                  std::move(handler)}));
}

void account_system::start_people_by_id(std::shared_ptr<identity> id,
                                        handler_of<std::map<std::int64_t, person_summary>> handler)
{
    using result = reply<std::map<std::int64_t, person_summary>>;
    auto ex = id->core->transport->get_executor();
    auto work = [](std::shared_ptr<identity> id) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        // (Operations are named locals before co_await: GCC 12 destroys a temporary
        // argument of a coroutine call twice.)
        ops::user_id ids_op;
        auto [ec, ids] = co_await run(id, ids_op);
        out.diag = ids.diag;
        out.session_id = ids.session_id;
        if (ec)
            co_return std::tuple{ec, std::move(out)};
        std::map<std::string, std::int64_t> by_name;
        for (auto& [pid, name] : ids.value) {
            out.value[pid] = person_summary{pid, name, {}, {}, {}};
            by_name[name] = pid;
        }
        ops::group_dump_all dump_op;
        auto [ec2, dump] = co_await run(id, dump_op);
        out.diag = dump.diag;
        if (!dump.session_id.empty())
            out.session_id = dump.session_id;
        if (ec2)
            co_return std::tuple{ec2, std::move(out)};
        for (auto& row : dump.value) {
            if (row.size() < 3 || !row[0].is_string())
                continue;
            auto it = by_name.find(std::string(row[0].get_string()));
            if (it == by_name.end())
                continue;  // python-fedora raised KeyError here; a stale row is skipped
            auto& p = out.value[it->second];
            p.email = row[1].is_string() ? std::string(row[1].get_string()) : "";
            p.human_name = row[2].is_string() ? std::string(row[2].get_string()) : "";
            p.bugzilla_email = bugzilla_email_of(p.email);
        }
        co_return std::tuple{error_code{}, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(id)), std::move(handler));
}

void account_system::start_people_by_groupname(std::shared_ptr<identity> id, std::string groupname,
                                               handler_of<std::vector<person_summary>> handler)
{
    using result = reply<std::vector<person_summary>>;
    auto ex = id->core->transport->get_executor();
    auto work = [](std::shared_ptr<identity> id, std::string groupname) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        auto [ec, everyone] = co_await asio::async_initiate<const tuple_awaitable_t,
                                                            void(error_code, reply<std::map<std::int64_t, person_summary>>)>(
            [](auto h, std::shared_ptr<identity> i) { start_people_by_id(std::move(i), std::move(h)); },
            tuple_awaitable, id);
        out.diag = everyone.diag;
        out.session_id = everyone.session_id;
        if (ec)
            co_return std::tuple{ec, std::move(out)};
        ops::group_by_name group_op{groupname};
        auto [ec2, g] = co_await run(id, group_op);
        out.diag = g.diag;
        if (!g.session_id.empty())
            out.session_id = g.session_id;
        if (ec2)
            co_return std::tuple{ec2, std::move(out)};
        for (const auto* roles : {&g.value.approved_roles, &g.value.unapproved_roles})
            for (const auto& r : *roles)
                if (auto it = everyone.value.find(r.person_id); it != everyone.value.end())
                    out.value.push_back(it->second);
        co_return std::tuple{error_code{}, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(id), std::move(groupname)), std::move(handler));
}

void account_system::start_verify_password(std::shared_ptr<identity> id, std::string username,
                                           std::string password, handler_of<bool> handler)
{
    // A credential-only request through the stateless path: this object's session is
    // neither sent nor replaced.
    auto core = id->core;
    auto ex = core->transport->get_executor();
    ops::verify_home op{.credentials_only = true};
    proxy_client::start(std::move(core), op.build(), auth_params::credentials(std::move(username), std::move(password)),
                        detail::parse_then<ops::verify_home, handler_of<bool>>{op, std::move(handler)});
}

void account_system::start_avatar_url(std::shared_ptr<identity> id, std::string username, avatar_params p,
                                      handler_of<std::string> handler)
{
    using result = reply<std::string>;
    auto ex = id->core->transport->get_executor();
    auto work = [](std::shared_ptr<identity> id, std::string username,
                   avatar_params p) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        if (!valid_avatar_size(p.size)) {
            out.diag.message = "avatar size must be 32, 64 or 140";
            co_return std::tuple{make_error_code(errc::invalid_argument), std::move(out)};
        }
        if (p.service == avatar_service::libravatar) {
            out.value = libravatar_url_for_username(username, p.size, p.default_url);
            co_return std::tuple{error_code{}, std::move(out)};
        }
        std::string email = username + "@fedoraproject.org";
        if (p.lookup_email) {
            ops::person_by_username person_op{username};
            auto [ec, person] = co_await run(id, person_op);
            out.diag = person.diag;
            out.session_id = person.session_id;
            if (ec)
                co_return std::tuple{ec, std::move(out)};
            email = person.value ? person.value->email : "no_email";
        }
        out.value = gravatar_url_for_email(email, p.size, p.default_url);
        co_return std::tuple{error_code{}, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(id), std::move(username), std::move(p)), std::move(handler));
}

void account_system::start_logout(std::shared_ptr<identity> id, handler_of<none> handler)
{
    using result = reply<none>;
    auto ex = id->core->transport->get_executor();
    auto work = [](std::shared_ptr<identity> id) -> asio::awaitable<std::tuple<error_code, result>> {
        result out;
        const std::string session = id->session();
        if (session.empty())
            co_return std::tuple{error_code{}, std::move(out)};  // nothing to end
        auto core = id->core;
        ops::logout op;
        auto [ec, r] = co_await asio::async_initiate<const tuple_awaitable_t, void(error_code, raw_reply)>(
            [](auto h, std::shared_ptr<detail::fas_core> c, operation_request req, auth_params a) {
                proxy_client::start(std::move(c), std::move(req), std::move(a), std::move(h));
            },
            tuple_awaitable, core, op.build(), auth_params::session(session));
        id->forget(session);
        out.diag = std::move(r.diag);
        // An auth error means the session was already over: logged out all the same.
        if (ec == errc::auth_error)
            ec = {};
        co_return std::tuple{ec, std::move(out)};
    };
    spawn_with<result>(ex, work(std::move(id)), std::move(handler));
}

} // namespace fedora::fas
