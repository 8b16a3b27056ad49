// The FAS clients against the FAS2 emulator, over HTTP and HTTPS.
#include "support.hpp"

#include <fedora/emulator/fas.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

using namespace test_support;
namespace fas = fedora::fas;
namespace emu = fedora::emulator;
using fedora::errc;

namespace {

struct fas_server
{
    std::shared_ptr<emu::fas_directory> directory;
    std::shared_ptr<emu::fas_application> app;
    std::shared_ptr<emu::server> server;
    std::atomic<long long> clock_offset_s{0};

    explicit fas_server(bool tls = false, std::size_t people = 60)
    {
        emu::fas_data_params dp;
        dp.people = people;
        directory = emu::fas_directory::generate(dp);
        emu::fas_app_params ap;
        ap.clock = [this] { return std::chrono::system_clock::now() + std::chrono::seconds(clock_offset_s.load()); };
        app = std::make_shared<emu::fas_application>(directory, ap);
        emu::server_params sp;
        sp.tls = tls;
        sp.threads = 2;
        server = std::make_shared<emu::server>(sp);
        server->mount("/accounts", app);
        server->start();
    }

    fas::client_params params() const
    {
        fas::client_params p;
        p.base_url = server->origin() + "/accounts/";
        p.http.tls.ca_file = server->ca_file();
        return p;
    }

    fas::account_params account(std::string user, std::string pass) const
    {
        fas::account_params a;
        a.client = params();
        a.username = std::move(user);
        a.password = std::move(pass);
        return a;
    }

    emu::http_request last(const std::string& path) const
    {
        auto r = server->last_request("/accounts/" + path);
        REQUIRE(r);
        return *r;
    }
};

template <class T>
struct result
{
    fedora::error_code ec;
    fas::reply<T> r;
};

// Runs one FAS call (a function taking a completion token) to completion.
template <class T, class F>
result<T> call(asio::io_context& ioc, F f)
{
    result<T> out;
    f([&](fedora::error_code ec, fas::reply<T> r) {
        if (ec)
            MESSAGE("call failed: " << ec.message() << ": " << r.diag.message << " [" << r.diag.url << "]");
        out.ec = ec;
        out.r = std::move(r);
    });
    ioc.restart();
    ioc.run();
    return out;
}

fedora::http::form decoded_body(const emu::http_request& r) { return fedora::http::form::decode(r.body()); }

} // namespace

TEST_CASE_TEMPLATE("FasProxyClient operations", tls_t, std::false_type, std::true_type)
{
    fas_server fx(tls_t::value);
    asio::io_context ioc;
    fas::proxy_client proxy(ioc.get_executor(), fx.params());

    auto login = call<fas::login_info>(ioc, [&](auto h) { proxy.async_login("jdoe", "jdoe-pass", h); });
    REQUIRE(!login.ec);
    const std::string session = login.r.session_id;
    CHECK(!session.empty());
    CHECK(login.r.value.user.username == "jdoe");
    {
        auto req = fx.last("login");
        auto form = decoded_body(req);
        CHECK(req.method() == boost::beast::http::verb::post);
        CHECK(*form.find("user_name") == "jdoe");
        CHECK(*form.find("login") == "Login");
        CHECK(req[boost::beast::http::field::accept] == "application/json");
        CHECK(req.find(boost::beast::http::field::cookie) == req.end());
    }

    SUBCASE("wrong password: auth error")
    {
        auto bad = call<fas::login_info>(ioc, [&](auto h) { proxy.async_login("jdoe", "nope", h); });
        CHECK(bad.ec == errc::auth_error);
        CHECK(bad.r.diag.http_status == 403);
    }
    SUBCASE("verify_session, verify_password, refresh_session")
    {
        CHECK(call<bool>(ioc, [&](auto h) { proxy.async_verify_session(session, h); }).r.value);
        auto bogus = call<bool>(ioc, [&](auto h) { proxy.async_verify_session("0123456789abcdef", h); });
        CHECK(!bogus.ec);
        CHECK_FALSE(bogus.r.value);
        fx.server->reset_stats();
        auto empty = call<bool>(ioc, [&](auto h) { proxy.async_verify_session("", h); });
        CHECK_FALSE(empty.r.value);
        CHECK(fx.server->stats().requests_total == 0);  // no I/O for an empty id
        CHECK(call<bool>(ioc, [&](auto h) { proxy.async_verify_password("jdoe", "jdoe-pass", h); }).r.value);
        CHECK_FALSE(call<bool>(ioc, [&](auto h) { proxy.async_verify_password("jdoe", "wrong", h); }).r.value);
        auto refreshed = call<boost::json::object>(ioc, [&](auto h) { proxy.async_refresh_session(session, h); });
        CHECK(!refreshed.ec);
        CHECK(refreshed.r.session_id == session);
    }
    SUBCASE("get_user_info shows the caller's own private fields")
    {
        auto me = call<fas::person>(ioc, [&](auto h) { proxy.async_get_user_info(fas::auth_params::session(session), h); });
        REQUIRE(!me.ec);
        CHECK(me.r.value.username == "jdoe");
        CHECK(me.r.value.password != "*");
        CHECK(me.r.session_id == session);
        auto req = fx.last("user/view");
        CHECK(req[boost::beast::http::field::cookie] == "tg-visit=" + session);
        CHECK(*decoded_body(req).find("_csrf_token") == fas::csrf_token_for(session));
    }
    SUBCASE("person_by_id: another user's record is privacy-filtered")
    {
        auto other = fx.directory->person("privuser");
        REQUIRE(other);
        auto p = call<fas::person>(ioc, [&](auto h) { proxy.async_person_by_id(other->id, fas::auth_params::session(session), h); });
        REQUIRE(!p.ec);
        CHECK(p.r.value.username == "privuser");
        CHECK(p.r.value.password == "*");
        CHECK(p.r.value.human_name.empty());  // privacy level hides it
        auto req = fx.last("json/person_by_id");
        CHECK(*decoded_body(req).find("person_id") == std::to_string(other->id));
        auto nobody = call<fas::person>(ioc, [&](auto h) { proxy.async_person_by_id(999999999, fas::auth_params::session(session), h); });
        CHECK(nobody.ec == errc::app_error);
    }
    SUBCASE("group_list and send_request")
    {
        auto gl = call<fas::group_list>(ioc, [&](auto h) { proxy.async_group_list(fas::auth_params::session(session), h); });
        REQUIRE(!gl.ec);
        CHECK(gl.r.value.groups.size() > 5);
        CHECK(gl.r.value.memberships.empty());  // FAS fills it only for tg_format=json, which python-fedora never sent
        auto raw = call<boost::json::value>(ioc, [&](auto h) {
            proxy.async_send_request("json/user_id", {}, fas::auth_params::session(session), true, h);
        });
        REQUIRE(!raw.ec);
        CHECK(raw.r.value.as_object().contains("people"));
    }
    SUBCASE("calls that need auth fail before any I/O without it")
    {
        fx.server->reset_stats();
        auto anon = call<fas::person>(ioc, [&](auto h) { proxy.async_get_user_info(fas::auth_params::anonymous(), h); });
        CHECK(anon.ec == errc::auth_error);
        fas::auth_params half;
        half.username = "jdoe";
        auto partial = call<fas::group_list>(ioc, [&](auto h) { proxy.async_group_list(half, h); });
        CHECK(partial.ec == errc::auth_error);
        auto injected = call<fas::person>(ioc, [&](auto h) {
            proxy.async_get_user_info(fas::auth_params::session("x\r\nX-Evil: 1"), h);
        });
        CHECK(injected.ec == errc::invalid_argument);
        CHECK(fx.server->stats().requests_total == 0);
    }
    SUBCASE("logout ends the session")
    {
        CHECK(!call<fas::none>(ioc, [&](auto h) { proxy.async_logout(session, h); }).ec);
        CHECK_FALSE(call<bool>(ioc, [&](auto h) { proxy.async_verify_session(session, h); }).r.value);
    }
}

TEST_CASE_TEMPLATE("AccountSystem operations", tls_t, std::false_type, std::true_type)
{
    fas_server fx(tls_t::value);
    asio::io_context ioc;
    fas::account_system as(ioc.get_executor(), fx.account("admin", "admin"));

    SUBCASE("the password goes once; later calls use the session")
    {
        auto p = call<std::optional<fas::person>>(ioc, [&](auto h) { as.async_person_by_username("jdoe", h); });
        REQUIRE(!p.ec);
        REQUIRE(p.r.value);
        CHECK(p.r.value->email == fx.directory->person("jdoe")->email);
        CHECK(!as.session_id().empty());
        CHECK(decoded_body(fx.last("json/person_by_username")).find("password"));
        call<std::optional<fas::person>>(ioc, [&](auto h) { as.async_person_by_id(fx.directory->person("jdoe")->id, h); });
        auto second = decoded_body(fx.last("json/person_by_id"));
        CHECK_FALSE(second.find("password"));
        CHECK(*second.find("_csrf_token") == fas::csrf_token_for(as.session_id()));
    }
    SUBCASE("an expired session: one silent login again")
    {
        call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); });
        const auto old = as.session_id();
        fx.clock_offset_s += 21 * 60;  // past FAS's 20 idle minutes
        auto r = call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); });
        CHECK(!r.ec);
        CHECK(as.session_id() != old);
        CHECK(!as.session_id().empty());
    }
    SUBCASE("person and group lookups")
    {
        auto jdoe = *fx.directory->person("jdoe");
        auto none = call<std::optional<fas::person>>(ioc, [&](auto h) { as.async_person_by_username("no-such-user", h); });
        CHECK(!none.ec);
        CHECK_FALSE(none.r.value);
        auto g = call<std::optional<fas::group>>(ioc, [&](auto h) { as.async_group_by_id(fx.directory->group("packager")->id, h); });
        REQUIRE(g.r.value);
        CHECK(g.r.value->name == "packager");
        CHECK(!g.r.value->approved_roles.empty());
        auto gn = call<fas::group>(ioc, [&](auto h) { as.async_group_by_name("packager", h); });
        CHECK(gn.r.value.id == g.r.value->id);
        auto missing = call<fas::group>(ioc, [&](auto h) { as.async_group_by_name("nosuchgroup", h); });
        CHECK(missing.ec == errc::app_error);
        CHECK(missing.r.diag.app_error_name == "FASError");
        auto members = call<std::vector<fas::member>>(ioc, [&](auto h) { as.async_group_members("packager", h); });
        REQUIRE(!members.ec);
        CHECK(std::any_of(members.r.value.begin(), members.r.value.end(), [](auto& m) { return m.username == "jdoe"; }));
    }
    SUBCASE("people_by_key, people_by_id, people_by_groupname, user_id, people_query")
    {
        auto byname = call<fas::people_map>(ioc, [&](auto h) { as.async_people_by_key("username", "j*", {"id", "email"}, h); });
        REQUIRE(!byname.ec);
        auto& names = std::get<fas::people_by_text_map>(byname.r.value);
        CHECK(names.count("jdoe") == 1);
        auto byid = call<fas::people_map>(ioc, [&](auto h) { as.async_people_by_key("id", "jdoe", {"username"}, h); });
        auto& ids = std::get<fas::people_by_id_map>(byid.r.value);
        CHECK(ids.at(fx.directory->person("jdoe")->id).username == "jdoe");
        auto bad = call<fas::people_map>(ioc, [&](auto h) { as.async_people_by_key("username", "*", {"roles"}, h); });
        CHECK(bad.ec == errc::invalid_argument);

        auto everyone = call<std::map<std::int64_t, fas::person_summary>>(ioc, [&](auto h) { as.async_people_by_id(h); });
        REQUIRE(!everyone.ec);
        CHECK(everyone.r.value.at(fx.directory->person("jdoe")->id).username == "jdoe");
        auto group = call<std::vector<fas::person_summary>>(ioc, [&](auto h) { as.async_people_by_groupname("packager", h); });
        REQUIRE(!group.ec);
        CHECK(!group.r.value.empty());
        auto uid = call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); });
        CHECK(uid.r.value.size() == fx.directory->people_count());
        auto rows = call<std::vector<boost::json::object>>(ioc, [&](auto h) {
            as.async_people_query({{"username", "jdoe"}}, {"id", "username", "email"}, h);
        });
        REQUIRE(!rows.ec);
        REQUIRE(rows.r.value.size() == 1);
        auto badq = call<std::vector<boost::json::object>>(ioc, [&](auto h) { as.async_people_query({}, {"shoe_size"}, h); });
        CHECK(badq.ec == errc::app_error);
    }
    SUBCASE("user_data and group_data")
    {
        auto ud = call<std::map<std::string, fas::user_data_entry>>(ioc, [&](auto h) { as.async_user_data(h); });
        REQUIRE(!ud.ec);
        CHECK(ud.r.value.at(std::to_string(fx.directory->person("jdoe")->id)).username == "jdoe");
        auto gd = call<std::map<std::string, fas::group_data_entry>>(ioc, [&](auto h) { as.async_group_data(true, h); });
        REQUIRE(!gd.ec);
        CHECK(!gd.r.value.at("packager").users.empty());
        CHECK(*decoded_body(fx.last("json/fas_client/group_data")).find("force_refresh") == "True");
    }
    SUBCASE("configs: set, get, like; someone else's is an app error")
    {
        CHECK(!call<fas::none>(ioc, [&](auto h) { as.async_set_config("admin", "moin", "theme", "light blue & \xc3\xbc", h); }).ec);
        auto v = call<std::optional<std::string>>(ioc, [&](auto h) { as.async_get_config("admin", "moin", "theme", h); });
        REQUIRE(v.r.value);
        CHECK(*v.r.value == "light blue & \xc3\xbc");
        auto like = call<std::map<std::string, std::string>>(ioc, [&](auto h) { as.async_get_configs_like("admin", "moin", "*", h); });
        CHECK(like.r.value.count("theme") == 1);
        CHECK(fx.last("config/list/admin/moin/%2A").method() == boost::beast::http::verb::post);
        auto absent = call<std::optional<std::string>>(ioc, [&](auto h) { as.async_get_config("admin", "moin", "nothing", h); });
        CHECK(!absent.ec);
        CHECK_FALSE(absent.r.value);
        fas::account_system jdoe(ioc.get_executor(), fx.account("jdoe", "jdoe-pass"));
        auto other = call<std::optional<std::string>>(ioc, [&](auto h) { jdoe.async_get_config("admin", "moin", "theme", h); });
        CHECK(other.ec == errc::app_error);
        CHECK(other.r.diag.app_error_name == "AuthorizationError");
        auto escape = call<std::optional<std::string>>(ioc, [&](auto h) { as.async_get_config("..", "..", "..", h); });
        CHECK(escape.ec == errc::invalid_argument);
    }
    SUBCASE("create_group follows the redirect to the new group")
    {
        fas::account_system sysadm(ioc.get_executor(), fx.account("sysadm", "sysadm-pass"));
        auto created = call<boost::json::object>(ioc, [&](auto h) {
            sysadm.async_create_group(fas::ops::create_group{"newgroup", "New Group", "sysadm", "user"}, h);
        });
        REQUIRE(!created.ec);
        CHECK(fx.directory->group("newgroup"));
        CHECK(created.r.value.contains("group"));
        auto req = fx.last("group/create/newgroup/New%20Group/sysadm/user");
        CHECK(req.method() == boost::beast::http::verb::post);
    }
    SUBCASE("user_gencert: a certificate with CLA, a CLA error without")
    {
        fas::account_system jdoe(ioc.get_executor(), fx.account("jdoe", "jdoe-pass"));
        auto cert = call<std::string>(ioc, [&](auto h) { jdoe.async_user_gencert(h); });
        REQUIRE(!cert.ec);
        CHECK(cert.r.value.find("BEGIN CERTIFICATE") != std::string::npos);
        CHECK(cert.r.value.find("PRIVATE KEY") != std::string::npos);
        fas::account_system nocla(ioc.get_executor(), fx.account("nocla", "nocla-pass"));
        CHECK(call<std::string>(ioc, [&](auto h) { nocla.async_user_gencert(h); }).ec == errc::cla_error);
    }
    SUBCASE("verify_password, avatar_url, logout")
    {
        CHECK(call<bool>(ioc, [&](auto h) { as.async_verify_password("jdoe", "jdoe-pass", h); }).r.value);
        CHECK_FALSE(call<bool>(ioc, [&](auto h) { as.async_verify_password("jdoe", "bad", h); }).r.value);
        CHECK(as.session_id().empty());  // verify_password does not touch our session
        auto url = call<std::string>(ioc, [&](auto h) {
            as.async_avatar_url("jdoe", {.size = 32, .service = fas::avatar_service::gravatar}, h);
        });
        REQUIRE(!url.ec);
        CHECK(url.r.value == fas::gravatar_url_for_email(fx.directory->person("jdoe")->email, 32, ""));
        auto libre = call<std::string>(ioc, [&](auto h) { as.async_avatar_url("JDoe", {.size = 140}, h); });
        CHECK(libre.r.value.find("e8f59ef5c00f427698fa88353b7ec501ea732951431137f1ccffb9f390ead962") != std::string::npos);
        auto bad = call<std::string>(ioc, [&](auto h) { as.async_avatar_url("jdoe", {.size = 100}, h); });
        CHECK(bad.ec == errc::invalid_argument);

        call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); });
        const auto s = as.session_id();
        CHECK(!call<fas::none>(ioc, [&](auto h) { as.async_logout(h); }).ec);
        CHECK(as.session_id().empty());
        fas::proxy_client proxy(ioc.get_executor(), fx.params());
        CHECK_FALSE(call<bool>(ioc, [&](auto h) { proxy.async_verify_session(s, h); }).r.value);
    }
    SUBCASE("no credentials at all: auth error before any I/O")
    {
        fx.server->reset_stats();
        fas::account_system anon(ioc.get_executor(), fx.account("", ""));
        CHECK(call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { anon.async_user_id(h); }).ec == errc::auth_error);
        CHECK(fx.server->stats().requests_total == 0);
    }
}

TEST_CASE("one proxy_client, 50 users, 200 interleaved calls each, several threads")
{
    fas_server fx(false, 80);
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    std::vector<std::thread> loop;
    for (int i = 0; i < 3; ++i)
        loop.emplace_back([&] { ioc.run(); });
    fas::client_params params = fx.params();
    params.http.pool.max_connections_per_origin = 16;
    fas::proxy_client proxy(ioc.get_executor(), params);

    // 50 users: generated accounts share one password.
    std::vector<std::pair<std::string, std::int64_t>> users;
    {
        auto r = fx.directory->read();
        for (auto& p : r.people())
            if (users.size() < 50 && p.id >= 200000 && p.status == emu::fas_account_status::active)
                users.emplace_back(p.username, p.id);
    }
    REQUIRE(users.size() == 50);
    const std::string password = emu::fas_data_params{}.generated_password;
    std::vector<std::string> sessions(users.size());
    for (std::size_t u = 0; u < users.size(); ++u) {
        auto r = proxy.async_login(users[u].first, password, fedora::with_diagnostics(asio::use_future)).get();
        sessions[u] = r.session_id;
    }

    std::atomic<int> right{0}, wrong{0}, failed{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 5; ++t) {
        callers.emplace_back([&, t] {
            std::vector<std::future<fas::reply<fas::person>>> pending;
            std::vector<std::size_t> who;
            for (int round = 0; round < 200; ++round) {
                for (std::size_t u = t; u < users.size(); u += 5) {
                    auto auth = fas::auth_params::session(sessions[u]);
                    if (round % 2 == 0)
                        pending.push_back(proxy.async_get_user_info(auth, fedora::with_diagnostics(asio::use_future)));
                    else
                        pending.push_back(proxy.async_person_by_id(users[u].second, auth,
                                                                   fedora::with_diagnostics(asio::use_future)));
                    who.push_back(u);
                }
                if (pending.size() >= 40) {
                    for (std::size_t i = 0; i < pending.size(); ++i) {
                        try {
                            auto p = pending[i].get().value;
                            // Only the user themself sees their own password hash.
                            if (p.username == users[who[i]].first && p.password != "*" && !p.password.empty())
                                ++right;
                            else
                                ++wrong;
                        } catch (...) {
                            ++failed;
                        }
                    }
                    pending.clear();
                    who.clear();
                }
            }
            for (std::size_t i = 0; i < pending.size(); ++i) {
                try {
                    auto p = pending[i].get().value;
                    (p.username == users[who[i]].first && p.password != "*" ? right : wrong)++;
                } catch (...) {
                    ++failed;
                }
            }
        });
    }
    for (auto& c : callers)
        c.join();
    CHECK(right == 50 * 200);
    CHECK(wrong == 0);
    CHECK(failed == 0);

    // One user's logout leaves the other 49 sessions working.
    proxy.async_logout(sessions[0], fedora::with_diagnostics(asio::use_future)).get();
    CHECK_FALSE(proxy.async_verify_session(sessions[0], fedora::with_diagnostics(asio::use_future)).get().value);
    int alive = 0;
    for (std::size_t u = 1; u < users.size(); ++u)
        alive += proxy.async_verify_session(sessions[u], fedora::with_diagnostics(asio::use_future)).get().value;
    CHECK(alive == 49);
    work.reset();
    for (auto& l : loop)
        l.join();
}

TEST_CASE("the same FAS operation through a coroutine, a callback and a future")
{
    fas_server fx;
    asio::io_context ioc;
    fas::account_system as(ioc.get_executor(), fx.account("jdoe", "jdoe-pass"));
    std::string from_coroutine, from_callback;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto r = co_await as.async_person_by_username("admin");
        from_coroutine = r.value ? r.value->username : "";
        try {
            co_await as.async_group_by_name("nosuchgroup");
        } catch (const fedora::error& e) {
            CHECK(e.code() == errc::app_error);
            CHECK(e.diag().app_error_name == "FASError");
        }
    });
    as.async_person_by_username("admin", [&](fedora::error_code ec, fas::reply<std::optional<fas::person>> r) {
        CHECK(!ec);
        from_callback = r.value ? r.value->username : "";
    });
    ioc.restart();
    ioc.run();
    ioc.restart();
    auto work = asio::make_work_guard(ioc);
    std::thread t([&] { ioc.run(); });
    auto fut = as.async_person_by_username("admin", fedora::with_diagnostics(asio::use_future));
    auto from_future = fut.get().value->username;
    work.reset();
    t.join();
    CHECK(from_coroutine == "admin");
    CHECK(from_callback == "admin");
    CHECK(from_future == "admin");
}

TEST_CASE("the optional session store: 0600 JSON, reused by origin and user, unsafe files ignored")
{
    fas_server fx;
    asio::io_context ioc;
    auto dir = std::filesystem::temp_directory_path() / ("fc-store-" + std::to_string(fx.server->port()));
    std::filesystem::create_directories(dir);
    const auto store = (dir / "sessions.json").string();

    auto params = fx.account("jdoe", "jdoe-pass");
    params.session_store = store;
    {
        fas::account_system first(ioc.get_executor(), params);
        REQUIRE(!call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { first.async_user_id(h); }).ec);
        CHECK(!first.session_id().empty());
    }
    auto perms = std::filesystem::status(store).permissions();
    CHECK((perms & std::filesystem::perms::mask) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto text = [&] {
        std::ifstream in(store);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    auto stored = boost::json::parse(text).as_object();
    REQUIRE(stored.size() == 1);
    CHECK(stored.begin()->key().starts_with(fedora::http::origin_of(boost::urls::url(fx.server->origin()))));

    // A second object with the username only: it uses the stored session, no password.
    auto again = params;
    again.password.clear();
    fas::account_system second(ioc.get_executor(), again);
    CHECK(!second.session_id().empty());
    REQUIRE(!call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { second.async_user_id(h); }).ec);
    CHECK_FALSE(decoded_body(fx.last("json/user_id")).find("password"));

    // A store others could write is not trusted.
    std::filesystem::permissions(store, std::filesystem::perms::group_write, std::filesystem::perm_options::add);
    fas::account_system third(ioc.get_executor(), again);
    CHECK(third.session_id().empty());
    std::filesystem::remove_all(dir);
}

TEST_CASE("on the wire: every operation's request is python-fedora's (POST, path, form, auth)")
{
    fas_server fx;
    asio::io_context ioc;
    fas::account_system as(ioc.get_executor(), fx.account("admin", "admin"));
    // Log in first, so that every request below carries the session (cookie + CSRF token).
    REQUIRE(!call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); }).ec);
    const std::string session = as.session_id();
    const auto jdoe = fx.directory->person("jdoe")->id;

    struct expectation
    {
        std::function<void(std::function<void(fedora::error_code)>)> call;
        std::string path;                                         // under /accounts/
        std::vector<std::pair<std::string, std::string>> fields;  // in order, before auth
    };
    auto run_op = [&](auto op) {
        return [&as, op](std::function<void(fedora::error_code)> done) {
            as.async_run(op, [done](fedora::error_code ec, auto) { done(ec); });
        };
    };
    std::vector<expectation> table = {
        {run_op(fas::ops::person_by_id{jdoe}), "json/person_by_id", {{"person_id", std::to_string(jdoe)}}},
        {run_op(fas::ops::person_by_username{"jdoe"}), "json/person_by_username", {{"username", "jdoe"}}},
        {run_op(fas::ops::group_by_id{100148}), "json/group_by_id", {{"group_id", "100148"}}},
        {run_op(fas::ops::group_by_name{"packager"}), "json/group_by_name", {{"groupname", "packager"}}},
        {run_op(fas::ops::group_members{"packager"}), "group/dump/packager", {}},
        {run_op(fas::ops::people_by_key{"email", "j*", {"id"}}), "user/list",
         {{"search", "j*"}, {"fields", "id"}, {"fields", "email"}}},
        {run_op(fas::ops::people_query{{{"username", "j%"}}, {"id", "username"}}), "json/people_query",
         {{"username", "j%"}, {"columns", "id,username"}}},
        {run_op(fas::ops::user_id{}), "json/user_id", {}},
        {run_op(fas::ops::user_data{}), "json/fas_client/user_data", {}},
        {run_op(fas::ops::group_data{}), "json/fas_client/group_data", {}},
        {run_op(fas::ops::get_config{"admin", "moin", "theme"}), "config/list/admin/moin/theme", {}},
        {run_op(fas::ops::get_configs_like{"admin", "moin", "*"}), "config/list/admin/moin/%2A", {}},
        {run_op(fas::ops::set_config{"admin", "moin", "theme", "x y"}), "config/set/admin/moin/theme", {{"value", "x y"}}},
        {run_op(fas::ops::group_dump_all{}), "group/dump", {}},
        {run_op(fas::ops::refresh_session{}), "", {}},
        {run_op(fas::ops::get_user_info{}), "user/view", {}},
        {run_op(fas::ops::group_list_op{}), "group/list", {}},
    };
    for (auto& e : table) {
        CAPTURE(e.path);
        fedora::error_code ec;
        e.call([&](fedora::error_code c) { ec = c; });
        ioc.restart();
        ioc.run();
        CHECK(!ec);
        auto req = fx.server->last_request();
        REQUIRE(req);
        CHECK(req->method() == boost::beast::http::verb::post);
        CHECK(std::string(req->target()) == "/accounts/" + e.path);
        CHECK((*req)[boost::beast::http::field::accept] == "application/json");
        CHECK((*req)[boost::beast::http::field::cookie] == "tg-visit=" + session);
        auto form = decoded_body(*req);
        std::vector<std::pair<std::string, std::string>> expected = e.fields;
        expected.emplace_back("_csrf_token", fas::csrf_token_for(session));
        CHECK(form.fields() == expected);
    }
}

TEST_CASE("FAS answers broken by the emulator's faults become typed errors")
{
    fas_server fx;
    asio::io_context ioc;
    fas::account_system as(ioc.get_executor(), fx.account("admin", "admin"));
    REQUIRE(!call<std::map<std::int64_t, std::string>>(ioc, [&](auto h) { as.async_user_id(h); }).ec);
    const std::string route = "/accounts/json/person_by_username";
    auto lookup = [&] { return call<std::optional<fas::person>>(ioc, [&](auto h) { as.async_person_by_username("jdoe", h); }); };

    fx.server->set_fault(route, {.kind = emu::fault_kind::malformed_json, .count = 1});
    auto cut = lookup();
    CHECK(cut.ec == errc::server_error);
    CHECK(cut.r.diag.message.find("not JSON") != std::string::npos);
    CHECK(!cut.r.diag.body_snippet.empty());

    fx.server->set_fault(route, {.kind = emu::fault_kind::server_error_html, .status = 503, .count = 1});
    auto html = lookup();
    CHECK(html.ec == errc::server_error);
    CHECK(html.r.diag.http_status == 503);
    CHECK(html.r.diag.body_snippet.find("Service Unavailable") != std::string::npos);

    fx.server->set_fault(route, {.kind = emu::fault_kind::latency, .delay = 200ms, .count = 1});
    auto slow = lookup();
    CHECK(!slow.ec);

    fx.server->set_fault(route, {.kind = emu::fault_kind::redirect_other_origin, .location = "http://127.0.0.1:1/x", .count = 1});
    auto away = lookup();
    CHECK(away.ec == errc::redirect_error);

    // Reads are retried after a transient 503 when the client asks for it.
    auto params = fx.account("admin", "admin");
    params.client.read_retry = {.max_attempts = 3, .initial_backoff = 10ms};
    fas::account_system patient(ioc.get_executor(), params);
    fx.server->set_fault(route, {.kind = emu::fault_kind::server_error_html, .status = 503, .count = 1});
    auto retried = call<std::optional<fas::person>>(ioc, [&](auto h) { patient.async_person_by_username("jdoe", h); });
    CHECK(!retried.ec);
    CHECK(retried.r.diag.attempts == 2);
    CHECK(lookup().r.value->username == "jdoe");
}
