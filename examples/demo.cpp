// fedora-demo: the README's main job. Starts the embedded emulator (HTTPS with its own CA),
// logs several users in through ONE proxy_client, runs their lookups concurrently, shows
// that each user's private view stays their own, queries groups, and reads the big
// user_data dump, timing each step.
//
//   fedora-demo [--people N]
#include <fedora/emulator/fas.hpp>
#include <fedora/emulator/server.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace fas = fedora::fas;
namespace emu = fedora::emulator;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t0)
{
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

struct user
{
    std::string name, password, session;
    std::int64_t id = 0;
};

asio::awaitable<int> demo(fas::proxy_client& proxy, fas::account_system& admin, std::vector<user>& users,
                          emu::fas_directory& directory)
{
    int problems = 0;

    // 1. Everyone logs in at once, through the same client.
    auto t0 = clock_type::now();
    {
        using namespace asio::experimental::awaitable_operators;
        std::vector<asio::awaitable<void>> logins;
        auto login = [&](user& u) -> asio::awaitable<void> {
            auto r = co_await proxy.async_login(u.name, u.password);
            u.session = r.session_id;
            u.id = r.value.user.id;
        };
        co_await (login(users[0]) && login(users[1]) && login(users[2]) && login(users[3]) && login(users[4]));
    }
    std::printf("  %-44s %8.1f ms\n", "5 users logged in concurrently", ms_since(t0));

    // 2. 5 users x 40 interleaved lookups, concurrently: each sees their own private data.
    t0 = clock_type::now();
    int own_views = 0, foreign_hidden = 0, calls = 0;
    auto lookups = [&](user& me, const user& other) -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) {
            auto mine = co_await proxy.async_get_user_info(fas::auth_params::session(me.session));
            auto theirs = co_await proxy.async_person_by_id(other.id, fas::auth_params::session(me.session));
            calls += 2;
            if (mine.value.username == me.name && mine.value.password != "*")
                ++own_views;
            else
                ++problems;
            if (theirs.value.password == "*")
                ++foreign_hidden;
            else if (me.name != "admin")
                ++problems;
        }
    };
    {
        using namespace asio::experimental::awaitable_operators;
        co_await (lookups(users[0], users[1]) && lookups(users[1], users[2]) && lookups(users[2], users[3]) &&
                  lookups(users[3], users[4]) && lookups(users[4], users[0]));
    }
    std::printf("  %-44s %8.1f ms  (%d calls)\n", "interleaved lookups of 5 users", ms_since(t0), calls);
    std::printf("      own record with password hash: %d/100, another user's hash hidden: %d/100 (admin sees all)\n",
                own_views, foreign_hidden);

    // 3. Groups, as the administrator (account_system keeps its own session).
    t0 = clock_type::now();
    auto packager = co_await admin.async_group_by_name("packager");
    auto members = co_await admin.async_group_members("packager");
    std::printf("  %-44s %8.1f ms  (%zu approved roles, %zu members)\n", "group 'packager' and its members",
                ms_since(t0), packager.value.approved_roles.size(), members.value.size());
    try {
        co_await admin.async_group_by_name("no-such-group");
        ++problems;
    } catch (const fedora::error& e) {
        std::printf("      unknown group -> %s (%s)\n", e.code().message().c_str(), e.diag().app_error_name.c_str());
    }

    // 4. The big dump.
    t0 = clock_type::now();
    auto dump = co_await admin.async_user_data();
    const double dump_ms = ms_since(t0);
    std::printf("  %-44s %8.1f ms  (%zu accounts of %zu)\n", "user_data dump", dump_ms, dump.value.size(),
                directory.people_count());

    // 5. Wrong password, and a session after logout.
    try {
        co_await proxy.async_login("jdoe", "not-the-password");
        ++problems;
    } catch (const fedora::error& e) {
        std::printf("      wrong password -> %s\n", e.code().message().c_str());
    }
    co_await proxy.async_logout(users[1].session);
    auto still = co_await proxy.async_verify_session(users[1].session);
    auto others = co_await proxy.async_verify_session(users[2].session);
    std::printf("      after %s logs out: their session valid=%s, %s's session valid=%s\n", users[1].name.c_str(),
                still.value ? "yes" : "no", users[2].name.c_str(), others.value ? "yes" : "no");
    if (still.value || !others.value)
        ++problems;
    co_return problems;
}

} // namespace

int main(int argc, char** argv)
{
    std::size_t people = 50'000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--people" && i + 1 < argc)
            people = std::stoul(argv[++i]);
        else {
            std::cerr << "usage: fedora-demo [--people N]\n";
            return 2;
        }
    }
    std::printf("fedora-client demo\n");
    auto t0 = clock_type::now();
    emu::fas_data_params dp;
    dp.people = people;
    auto directory = emu::fas_directory::generate(dp);
    emu::server_params sp;
    sp.tls = true;
    sp.threads = 1;
    emu::server server(sp);
    server.mount("/accounts", std::make_shared<emu::fas_application>(directory));
    server.start();
    std::printf("  embedded FAS2 emulator: %s/accounts/ (%zu people, CA %s) in %.0f ms\n\n",
                server.origin().c_str(), directory->people_count(), server.ca_file().c_str(), ms_since(t0));

    asio::io_context ioc;
    fas::client_params params;
    params.base_url = server.origin() + "/accounts/";
    params.http.tls.ca_file = server.ca_file();  // verification stays on, with the emulator's CA
    auto transport = std::make_shared<fedora::http::client>(ioc.get_executor(), params.http);
    fas::proxy_client proxy(transport, params);
    fas::account_params ap;
    ap.client = params;
    ap.username = "admin";
    ap.password = "admin";
    fas::account_system admin(transport, ap);

    std::vector<user> users = {{"admin", "admin"}, {"jdoe", "jdoe-pass"}, {"privuser", "privuser-pass"},
                               {"zlukasiewicz", "zoe-pass"}, {"tpuser", "tpuser-pass"}};
    int problems = 0;
    auto fut = asio::co_spawn(ioc, demo(proxy, admin, users, *directory), asio::use_future);
    t0 = clock_type::now();
    ioc.run();
    try {
        problems = fut.get();
    } catch (const std::exception& e) {
        std::printf("demo failed: %s\n", e.what());
        return 1;
    }
    auto stats = transport->stats();
    std::printf("\n  total %.0f ms; connections opened %llu, reused %llu times, %llu requests\n", ms_since(t0),
                static_cast<unsigned long long>(stats.origins.at(0).opened),
                static_cast<unsigned long long>(stats.origins.at(0).reused),
                static_cast<unsigned long long>(stats.origins.at(0).requests));
    std::printf("%s\n", problems == 0 ? "demo OK" : "demo found problems");
    return problems == 0 ? 0 : 1;
}
