// `fedora fas ...`: each command is one proxy_client or account_system call.
#include "runtime.hpp"
#include "to_json.hpp"

#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>

namespace fedora::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A line on stderr saying how long a big transfer has been running, redrawn in place and
// erased when it ends. The transport reports no partial progress, so it shows the time.
class progress_line
{
public:
    progress_line(asio::any_io_executor ex, bool enabled, std::string what)
        : state_(std::make_shared<state>(ex, std::move(what)))
    {
        if (enabled)
            asio::co_spawn(ex, tick(state_), asio::detached);
    }
    ~progress_line()
    {
        state_->done = true;
        state_->timer.cancel();
        if (state_->drawn)
            std::fprintf(stderr, "\r\033[K");
    }

private:
    struct state
    {
        state(asio::any_io_executor ex, std::string w) : timer(ex), what(std::move(w)) {}
        asio::steady_timer timer;
        std::string what;
        bool done = false;
        bool drawn = false;
    };
    static asio::awaitable<void> tick(std::shared_ptr<state> s)
    {
        const auto t0 = std::chrono::steady_clock::now();
        while (!s->done) {
            s->timer.expires_after(std::chrono::milliseconds(200));
            auto [ec] = co_await s->timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec || s->done)
                break;
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::fprintf(stderr, "\rfedora: %s ... %.1f s", s->what.c_str(), secs);
            std::fflush(stderr);
            s->drawn = true;
        }
    }
    std::shared_ptr<state> state_;
};

std::int64_t id_arg(const std::string& text, const char* what)
{
    return parse_int(what, text, 0, std::numeric_limits<std::int64_t>::max());
}

json::value people_map_json(const fas::people_map& m)
{
    json::array rows;
    if (const auto* by_id = std::get_if<fas::people_by_id_map>(&m)) {
        for (const auto& [k, p] : *by_id) {
            json::object o = to_json(p).as_object();
            o["key"] = k;
            rows.push_back(std::move(o));
        }
    } else {
        for (const auto& [k, p] : std::get<fas::people_by_text_map>(m)) {
            json::object o = to_json(p).as_object();
            o["key"] = k;
            rows.push_back(std::move(o));
        }
    }
    return rows;
}

} // namespace

[[noreturn]] void throw_not_found(const std::string& what)
{
    throw not_found(what);
}

asio::awaitable<json::value> run_fas(context& ctx)
{
    const auto& inv = ctx.inv;
    const std::string_view name = inv.command->name;
    const auto& a = inv.args;
    fas::proxy_client proxy(ctx.transport, ctx.fas);

    // ---- FasProxyClient ----
    if (name == "login") {
        auto r = co_await proxy.async_login(ctx.who.username, ctx.who.password);
        json::object o = to_json(r.value).as_object();
        o["session_id"] = r.session_id;
        co_return o;
    }
    if (name == "logout") {
        co_await proxy.async_logout(ctx.who.session_id);
        co_return json::value("logged out");
    }
    if (name == "refresh-session") {
        auto r = co_await proxy.async_refresh_session(ctx.who.session_id);
        co_return json::value(std::move(r.value));
    }
    if (name == "verify-session" || name == "verify-password") {
        fas::reply<bool> r;
        if (name == "verify-session")
            r = co_await proxy.async_verify_session(ctx.who.session_id);
        else
            r = co_await proxy.async_verify_password(ctx.who.username, ctx.who.password);
        if (!r.value)
            ctx.exit = exit_auth;
        co_return json::value(r.value);
    }
    if (name == "user-info") {
        auto r = co_await proxy.async_get_user_info(ctx.who.fas_auth());
        co_return to_json(r.value);
    }
    if (name == "group-list") {
        auto r = co_await proxy.async_group_list(ctx.who.fas_auth());
        co_return to_json(r.value);
    }
    if (name == "send-request") {
        http::form form;
        for (const auto& kv : inv.all("param")) {
            auto [k, v] = split_key_value("--param", kv);
            form.add(k, v);
        }
        auto r = co_await proxy.async_send_request(a[0], std::move(form), ctx.who.fas_auth(), inv.has("safe"));
        co_return std::move(r.value);
    }

    // ---- AccountSystem ----
    fas::account_params ap;
    ap.client = ctx.fas;
    ap.username = ctx.who.username;
    ap.password = ctx.who.password;
    ap.session_id = ctx.who.session_id;
    fas::account_system as(ctx.transport, ap);

    if (name == "person" || name == "person-by-id") {
        fas::reply<std::optional<fas::person>> r;
        if (name == "person")
            r = co_await as.async_person_by_username(a[0]);
        else
            r = co_await as.async_person_by_id(id_arg(a[0], "ID"));
        if (!r.value)
            throw_not_found("no person " + a[0]);
        co_return to_json(*r.value);
    }
    if (name == "group") {
        auto r = co_await as.async_group_by_name(a[0]);
        co_return to_json(r.value);
    }
    if (name == "group-by-id") {
        auto r = co_await as.async_group_by_id(id_arg(a[0], "ID"));
        if (!r.value)
            throw_not_found("no group with id " + a[0]);
        co_return to_json(*r.value);
    }
    if (name == "group-members") {
        auto r = co_await as.async_group_members(a[0]);
        co_return to_json(r.value);
    }
    if (name == "people-by-key") {
        auto fields = inv.list("fields");
        auto r = co_await as.async_people_by_key(inv.get("key", "username"), inv.get("search", "*"), fields);
        co_return people_map_json(r.value);
    }
    if (name == "people-by-id") {
        auto r = co_await as.async_people_by_id();
        json::array rows;
        for (const auto& [id, p] : r.value)
            rows.push_back(to_json(p));
        co_return rows;
    }
    if (name == "people-by-groupname") {
        auto r = co_await as.async_people_by_groupname(a[0]);
        co_return to_json(r.value);
    }
    if (name == "people-query") {
        std::vector<std::pair<std::string, std::string>> constraints;
        for (const auto& c : inv.all("constraint"))
            constraints.push_back(split_key_value("--constraint", c));
        auto columns = inv.list("columns");
        auto r = co_await as.async_people_query(std::move(constraints), std::move(columns));
        json::array rows;
        for (auto& o : r.value)
            rows.push_back(std::move(o));
        co_return rows;
    }
    if (name == "user-id") {
        auto r = co_await as.async_user_id();
        json::array rows;
        for (const auto& [id, user] : r.value)
            rows.push_back(json::object{{"id", id}, {"username", user}});
        co_return rows;
    }
    if (name == "user-data") {
        fas::reply<std::map<std::string, fas::user_data_entry>> r;
        {
            progress_line line(co_await asio::this_coro::executor, ctx.progress, "reading the user_data dump");
            r = co_await as.async_user_data();
        }
        json::array rows;
        for (const auto& [id, e] : r.value)
            rows.push_back(json::object{{"id", id},
                                        {"username", e.username},
                                        {"human_name", e.human_name},
                                        {"email", e.email},
                                        {"password", e.password},
                                        {"ssh_key", e.ssh_key},
                                        {"alias_enabled", e.alias_enabled}});
        co_return rows;
    }
    if (name == "group-data") {
        auto r = co_await as.async_group_data(inv.has("force-refresh"));
        json::array rows;
        for (const auto& [g, e] : r.value) {
            auto ids = [](const std::vector<std::int64_t>& v) {
                json::array x;
                for (auto i : v)
                    x.push_back(i);
                return x;
            };
            rows.push_back(json::object{{"name", g},
                                        {"id", e.id},
                                        {"type", e.type},
                                        {"administrators", ids(e.administrators)},
                                        {"sponsors", ids(e.sponsors)},
                                        {"users", ids(e.users)}});
        }
        co_return rows;
    }
    if (name == "get-config") {
        auto r = co_await as.async_get_config(a[0], a[1], a[2]);
        if (!r.value)
            throw_not_found("no configuration " + a[1] + "/" + a[2] + " for " + a[0]);
        co_return json::value(*r.value);
    }
    if (name == "get-configs-like") {
        auto r = co_await as.async_get_configs_like(a[0], a[1], a.size() > 2 ? a[2] : std::string("*"));
        json::array rows;
        for (const auto& [k, v] : r.value)
            rows.push_back(json::object{{"attribute", k}, {"value", v}});
        co_return rows;
    }
    if (name == "set-config") {
        co_await as.async_set_config(a[0], a[1], a[2], a[3]);
        co_return json::value("set");
    }
    if (name == "create-group") {
        fas::ops::create_group op;
        op.name = a[0];
        op.display_name = inv.get("display-name", a[0]);
        op.owner = inv.get("owner", ctx.who.username);
        op.group_type = inv.get("group-type", "tracking");
        op.invite_only = inv.has("invite-only") ? 1 : 0;
        op.needs_sponsor = inv.has("needs-sponsor") ? 1 : 0;
        op.user_can_remove = inv.has("no-user-can-remove") ? 0 : 1;
        op.prerequisite = inv.get("prerequisite");
        op.joinmsg = inv.get("joinmsg");
        auto r = co_await as.async_create_group(std::move(op));
        co_return json::value(std::move(r.value));
    }
    if (name == "user-gencert") {
        auto r = co_await as.async_user_gencert();
        co_return json::value(std::move(r.value));
    }
    if (name == "avatar-url") {
        fas::avatar_params p;
        p.size = static_cast<int>(inv.get_int("size", 64, 1, 10000));
        p.default_url = inv.get("default");
        const std::string service = inv.get("service", "libravatar");
        if (service == "gravatar")
            p.service = fas::avatar_service::gravatar;
        else if (service != "libravatar")
            throw usage_error("--service: '" + service + "' is neither libravatar nor gravatar");
        auto r = co_await as.async_avatar_url(a[0], p);
        co_return json::value(std::move(r.value));
    }
    throw usage_error("'fedora fas " + std::string(name) + "' is not implemented");
}

} // namespace fedora::cli
