// Secrets (spec reliability.md §B2.10, §B4 item 22): a slice of every kind of operation
// (FAS login, reads, failing auth; Bodhi 2 OpenID login, comment, failing login; transport
// errors and timeouts; servers that echo the request back in error pages) runs with the
// observer hook on and planted, unique passwords, session ids and CSRF tokens. Every
// observer field, every diagnostics field, every error_code message and every exception
// what() is collected; no planted secret may appear in any of them.
#include "reliability_support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/json/serialize.hpp>
#include <doctest/doctest.h>

using namespace rel;

namespace {

const std::string planted_password = "PW-planted-7f3a9c1e";
const std::string planted_wrong_password = "PW-wrong-planted-44d0b6";
const std::string planted_session = "SESSION-planted-91b2aa70";
const std::string planted_csrf = "CSRF-planted-5d1e0c3f";

struct sink
{
    std::mutex mutex;
    std::vector<std::string> texts;
    std::size_t events = 0, failures = 0;

    void add(std::string s)
    {
        std::lock_guard lock(mutex);
        texts.push_back(std::move(s));
    }

    http::observer observer()
    {
        return [this](const http::exchange_event& e) {
            {
                std::lock_guard lock(mutex);
                ++events;
            }
            add(std::string(bhttp::to_string(e.method)));
            add(std::string(e.origin));
            add(std::string(e.path));
            add(std::to_string(e.status));
            add(e.ec.message());
        };
    }

    void add(const fedora::error_code& ec, const fedora::diagnostics& d)
    {
        add(ec.message());
        add(d.message);
        add(d.url);
        add(d.body_snippet);
        add(d.cause.message());
        add(d.app_error_name);
        add(boost::json::serialize(d.extras));
        if (ec) {
            std::lock_guard lock(mutex);
            ++failures;
        }
        if (ec)
            add(fedora::error(ec, d).what());
    }

    // What a caller would do with the default token: the exception's what().
    void add(const std::exception& e) { add(std::string(e.what())); }

    void check(const std::vector<std::string>& secrets)
    {
        for (const auto& secret : secrets) {
            REQUIRE(secret.size() >= 8);
            int found = 0;
            for (const auto& t : texts)
                if (t.find(secret) != std::string::npos) {
                    ++found;
                    MESSAGE("secret " << secret << " in: " << t.substr(0, 300));
                }
            CHECK(found == 0);
        }
    }
};

template <class R, class F>
R collect(asio::io_context& ioc, sink& s, F f)
{
    R out{};
    f([&](fedora::error_code ec, R r) {
        s.add(ec, r.diag);
        out = std::move(r);
    });
    ioc.restart();
    ioc.run();
    return out;
}

// Answers every request with its own text: as an HTML 500 page, or as JSON.
raw_answer echo_back(const std::string& request, bool json)
{
    std::string body;
    if (json) {
        boost::json::object o;
        o["request"] = request;
        auto form = fedora::http::form::decode(request.substr(request.find("\r\n\r\n") + 4));
        for (auto& [k, v] : form.fields())
            o[k] = v;
        body = boost::json::serialize(o);
    } else {
        body = "<html><body><h1>500</h1><pre>" + request + "</pre></body></html>";
    }
    return {"HTTP/1.1 500 Internal Server Error\r\nContent-Type: " +
                std::string(json ? "application/json" : "text/html") + "\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body,
            false};
}

} // namespace

TEST_CASE("no planted secret in observer events, diagnostics, error messages or exceptions")
{
    sink s;
    std::vector<std::string> secrets = {planted_password, planted_wrong_password, planted_session,
                                        planted_csrf, fas::csrf_token_for(planted_session)};
    asio::io_context ioc;

    // ---- FAS ----
    emu::fas_data_params dp;
    dp.people = 10;
    dp.generated_password = planted_password;
    auto directory = emu::fas_directory::generate(dp);
    std::string user;
    {
        auto r = directory->read();
        for (auto& p : r.people())
            if (user.empty() && p.id >= 200000 && p.status == emu::fas_account_status::active)
                user = p.username;
    }
    REQUIRE(!user.empty());
    emu::server fas_server;
    fas_server.mount("/accounts", std::make_shared<emu::fas_application>(directory));
    fas_server.start();
    fas::client_params fp;
    fp.base_url = fas_server.origin() + "/accounts/";
    fp.http.on_exchange = s.observer();
    fas::proxy_client proxy(ioc.get_executor(), fp);
    const auto creds = fas::auth_params::credentials(user, planted_password);

    auto login = collect<fas::reply<fas::login_info>>(ioc, s, [&](auto h) { proxy.async_login(user, planted_password, h); });
    REQUIRE(!login.session_id.empty());
    secrets.push_back(login.session_id);
    secrets.push_back(fas::csrf_token_for(login.session_id));
    collect<fas::reply<fas::person>>(ioc, s, [&](auto h) {
        proxy.async_get_user_info(fas::auth_params::session(login.session_id), h);
    });
    collect<fas::reply<fas::people_map>>(ioc, s, [&](auto h) {
        proxy.async_run(fas::ops::people_by_key{"username", "*", {"username"}}, creds, h);
    });
    // Failing authentication: a wrong password, a planted session, Basic with a wrong one.
    auto bad = collect<fas::reply<fas::login_info>>(ioc, s, [&](auto h) { proxy.async_login(user, planted_wrong_password, h); });
    collect<fas::reply<fas::person>>(ioc, s, [&](auto h) {
        proxy.async_get_user_info(fas::auth_params::session(planted_session), h);
    });
    collect<fas::reply<fas::person>>(ioc, s, [&](auto h) {
        proxy.async_get_user_info(fas::auth_params::credentials(user, planted_wrong_password, true), h);
    });
    // account_system with the default token: what() of the exceptions.
    {
        fas::account_params ap;
        ap.client = fp;
        ap.username = user;
        ap.password = planted_wrong_password;
        fas::account_system as(ioc.get_executor(), ap);
        test_support::run(ioc, [&]() -> asio::awaitable<void> {
            try {
                co_await as.async_person_by_username("jdoe");
            } catch (const fedora::error& e) {
                s.add(e);
                s.add(e.code(), e.diag());
            }
        });
        ap.password = planted_password;
        fas::account_system good(ioc.get_executor(), ap);
        test_support::run(ioc, [&]() -> asio::awaitable<void> {
            auto r = co_await good.async_person_by_username(user);
            s.add({}, r.diag);
            secrets.push_back(good.session_id());
        });
    }
    // Transport failures and timeouts, with the password in the body.
    {
        auto quick = fp;
        quick.timeout = 300ms;
        fas::proxy_client q(ioc.get_executor(), quick);
        const std::string route = "/accounts/json/person_by_username";
        for (auto kind : {emu::fault_kind::stall, emu::fault_kind::malformed_json, emu::fault_kind::server_error_html,
                          emu::fault_kind::close_before_response, emu::fault_kind::close_after_bytes,
                          emu::fault_kind::wrong_content_length, emu::fault_kind::broken_chunked}) {
            fas_server.set_fault(route, {.kind = kind, .bytes = 40, .count = 1});
            auto r = collect<fas::reply<std::optional<fas::person>>>(ioc, s, [&](auto h) {
                q.async_run(fas::ops::person_by_username{"jdoe"}, creds, h);
            });
        }
        fas::client_params nowhere = fp;
        nowhere.base_url = "http://127.0.0.1:1/accounts/";
        fas::proxy_client lost(ioc.get_executor(), nowhere);
        collect<fas::reply<fas::person>>(ioc, s, [&](auto h) { lost.async_get_user_info(creds, h); });
    }
    // Servers that echo the whole request (cookie, Basic header, form with the password
    // and the CSRF token) back in an error page, as HTML and as JSON.
    for (bool json : {false, true}) {
        raw_server echo([json](std::size_t, const std::string& req) { return echo_back(req, json); });
        auto ep = fp;
        ep.base_url = echo.origin() + "/accounts/";
        fas::proxy_client p(ioc.get_executor(), ep);
        collect<fas::reply<fas::person>>(ioc, s, [&](auto h) { p.async_get_user_info(creds, h); });
        collect<fas::reply<fas::person>>(ioc, s, [&](auto h) {
            p.async_get_user_info(fas::auth_params::credentials(user, planted_password, true), h);
        });
        collect<fas::reply<fas::person>>(ioc, s, [&](auto h) {
            p.async_get_user_info(fas::auth_params::session(planted_session), h);
        });
        CHECK(echo.requests() == 3);
    }
    CHECK(bad.diag.http_status != 0);

    // ---- Bodhi 2 with its OpenID provider ----
    bodhi2_site bodhi2(10);
    auto& data = bodhi2.data;
    bodhi::client_params bp = bodhi2.client_params();
    bp.version = bodhi::server_version::bodhi2;
    bp.http.on_exchange = s.observer();
    bodhi::client bc(ioc.get_executor(), bp);
    secrets.push_back("alice-pass");

    auto blogin = collect<bodhi::reply<bodhi::login_info>>(ioc, s, [&](auto h) { bc.async_login("alice", "alice-pass", h); });
    REQUIRE(!blogin.session.cookies.empty());
    REQUIRE(!blogin.session.csrf_token.empty());
    for (auto& [name, value] : blogin.session.cookies)
        if (value.size() >= 8)
            secrets.push_back(value);
    secrets.push_back(blogin.session.csrf_token);
    bodhi::comment_fields cf;
    cf.update = data->read([](const emu::bodhi_state& st) { return st.updates()[3].alias; });
    cf.text = "looks fine";
    auto c1 = collect<bodhi::reply<bodhi::comment_result>>(ioc, s, [&](auto h) {
        bc.async_comment(cf, bodhi::auth_params::with_session(blogin.session), h);
    });
    CHECK(c1.diag.http_status == 200);
    // A planted CSRF token the server does not know: refetched, never shown.
    auto planted = blogin.session;
    planted.csrf_token = planted_csrf;
    collect<bodhi::reply<bodhi::comment_result>>(ioc, s, [&](auto h) {
        bc.async_comment(cf, bodhi::auth_params::with_session(planted), h);
    });
    // Failing login, and a write with credentials that fail.
    collect<bodhi::reply<bodhi::login_info>>(ioc, s, [&](auto h) { bc.async_login("alice", planted_wrong_password, h); });
    collect<bodhi::reply<bodhi::comment_result>>(ioc, s, [&](auto h) {
        bc.async_comment(cf, bodhi::auth_params::credentials("bob", planted_wrong_password), h);
    });
    // Timeouts on Bodhi too.
    {
        auto quick = bp;
        quick.timeout = 300ms;
        bodhi::client qc(ioc.get_executor(), quick);
        bodhi2.bodhi.set_fault("/bodhi/updates", {.kind = emu::fault_kind::stall, .count = 1});
        collect<bodhi::reply<bodhi::comment_result>>(ioc, s, [&](auto h) {
            qc.async_comment(cf, bodhi::auth_params::with_session(blogin.session), h);
        });
    }

    // The run did what it should: calls were observed, some failed in each way.
    CHECK(s.events >= 25);
    CHECK(s.failures >= 15);
    s.check(secrets);
}
