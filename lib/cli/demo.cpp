// `fedora demo`: the README's main job. Starts the embedded emulator (FAS2, Bodhi 1,
// Bodhi 2, OpenID; HTTPS with its own CA, which only this process trusts), then through ONE
// transport: logs several users in concurrently, runs their lookups interleaved, checks that
// each user's private view stays their own, queries groups, reads the big user_data dump,
// detects both Bodhi versions and runs a query and a comment on each. Prints a report with
// timings; exit 0 when every check held.
#include "runtime.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace fedora::cli {

namespace asio = boost::asio;
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

struct demo_state
{
    fas::proxy_client& proxy;
    fas::account_system& admin;
    bodhi::client& bodhi1;
    bodhi::client& bodhi2;
    std::vector<user>& users;
    emulator::fas_directory& directory;
    std::atomic<std::uint64_t>& dump_bytes;
    int problems = 0;
};

void step(const char* what, double ms, const std::string& detail = {})
{
    std::printf("  %-46s %9.1f ms%s%s\n", what, ms, detail.empty() ? "" : "  ", detail.c_str());
}

void check(demo_state& s, bool ok, const std::string& what)
{
    std::printf("      %s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok)
        ++s.problems;
}

asio::awaitable<void> fas_part(demo_state& s)
{
    using namespace asio::experimental::awaitable_operators;
    auto& proxy = s.proxy;
    auto& users = s.users;
    std::printf("FAS2 (proxy_client and account_system)\n");

    // 1. Everyone logs in at once, through the same client.
    auto t0 = clock_type::now();
    auto login = [&](user& u) -> asio::awaitable<void> {
        auto r = co_await proxy.async_login(u.name, u.password);
        u.session = r.session_id;
        u.id = r.value.user.id;
    };
    co_await (login(users[0]) && login(users[1]) && login(users[2]) && login(users[3]) && login(users[4]));
    step("5 users logged in concurrently", ms_since(t0));

    // 2. 5 users x 40 interleaved lookups, concurrently: each sees their own private data.
    t0 = clock_type::now();
    int own_views = 0, foreign_hidden = 0, calls = 0, admin_sees = 0;
    auto lookups = [&](user& me, const user& other) -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) {
            auto mine = co_await proxy.async_get_user_info(fas::auth_params::session(me.session));
            auto theirs = co_await proxy.async_person_by_id(other.id, fas::auth_params::session(me.session));
            calls += 2;
            if (mine.value.username == me.name && mine.value.password != "*")
                ++own_views;
            if (me.name == "admin")
                admin_sees += theirs.value.password != "*";
            else if (theirs.value.password == "*")
                ++foreign_hidden;
        }
    };
    co_await (lookups(users[0], users[1]) && lookups(users[1], users[2]) && lookups(users[2], users[3]) &&
              lookups(users[3], users[4]) && lookups(users[4], users[0]));
    step("interleaved lookups of 5 users", ms_since(t0), std::to_string(calls) + " calls");
    check(s, own_views == 100, "each user saw their own record with its password hash: " +
                                   std::to_string(own_views) + "/100");
    check(s, foreign_hidden == 80, "another user's hash stayed hidden from ordinary users: " +
                                       std::to_string(foreign_hidden) + "/80");
    check(s, admin_sees == 20, "the administrator sees it (admin view level): " + std::to_string(admin_sees) + "/20");

    // 3. Groups, as the administrator (account_system keeps its own session).
    t0 = clock_type::now();
    auto packager = co_await s.admin.async_group_by_name("packager");
    auto members = co_await s.admin.async_group_members("packager");
    auto listing = co_await proxy.async_group_list(fas::auth_params::session(users[1].session));
    step("group 'packager', its members, group/list", ms_since(t0),
         std::to_string(packager.value.approved_roles.size()) + " approved roles, " +
             std::to_string(members.value.size()) + " members, " + std::to_string(listing.value.groups.size()) +
             " groups visible to " + users[1].name);
    try {
        co_await s.admin.async_group_by_name("no-such-group");
        check(s, false, "an unknown group is an error");
    } catch (const fedora::error& e) {
        check(s, e.code() == errc::app_error,
              "unknown group -> " + e.code().message() + " (" + e.diag().app_error_name + ")");
    }

    // 4. The big dump.
    t0 = clock_type::now();
    auto dump = co_await s.admin.async_user_data();
    const double dump_ms = ms_since(t0);
    const double mb = static_cast<double>(s.dump_bytes.load()) / 1e6;
    char detail[160];
    std::snprintf(detail, sizeof detail, "%zu active accounts of %zu, %.1f MB, %.0f MB/s", dump.value.size(),
                  s.directory.people_count(), mb, dump_ms > 0 ? mb / (dump_ms / 1000) : 0.0);
    step("user_data dump", dump_ms, detail);

    // 5. Wrong password, and a session after logout.
    try {
        co_await proxy.async_login("jdoe", "not-the-password");
        check(s, false, "a wrong password is refused");
    } catch (const fedora::error& e) {
        check(s, e.code() == errc::auth_error, "wrong password -> " + e.code().message());
    }
    co_await proxy.async_logout(users[1].session);
    auto still = co_await proxy.async_verify_session(users[1].session);
    auto others = co_await proxy.async_verify_session(users[2].session);
    check(s, !still.value && others.value,
          "after " + users[1].name + " logs out, their session is " + (still.value ? "valid" : "invalid") + " and " +
              users[2].name + "'s is " + (others.value ? "valid" : "invalid"));
}

// Bodhi 1 and Bodhi 2 share the emulator's one database, so each comments on another update
// (a second karma from the same user would replace the first, not add to it).
asio::awaitable<void> bodhi_one(demo_state& s, bodhi::client& client, const char* mount, std::size_t pick)
{
    auto t0 = clock_type::now();
    auto version = co_await client.async_detect();
    step((std::string("detect ") + mount).c_str(), ms_since(t0), std::string(bodhi::to_string(version.value)));

    t0 = clock_type::now();
    bodhi::update_query q;
    q.status = "testing";
    q.release = "F22";
    q.rows_per_page = 10;
    auto page = co_await client.async_query_updates(q);
    step("  updates: F22, testing", ms_since(t0),
         std::to_string(page.value.total) + " found, " + std::to_string(page.value.pages) + " pages");

    // dave (not a packager) gives karma to the first update someone else submitted.
    const bodhi::update* target = nullptr;
    for (const auto& u : page.value.rows)
        if (u.submitter != "dave" && pick-- == 0) {
            target = &u;
            break;
        }
    if (!target) {
        check(s, false, "a testing update to comment on");
        co_return;
    }
    t0 = clock_type::now();
    bodhi::comment_fields f;
    f.update = target->key;
    f.text = "Works for me (fedora demo).";
    f.karma = 1;
    auto dave = bodhi::auth_params::credentials("dave", "dave-pass");
    auto c = co_await client.async_comment(f, dave);
    step("  login as dave + comment with karma +1", ms_since(t0), target->key);
    check(s, c.value.comment.author == "dave" && c.value.update.karma == target->karma + 1,
          "comment by " + c.value.comment.author + ", karma " + std::to_string(target->karma) + " -> " +
              std::to_string(c.value.update.karma));
    // The same update as an anonymous reader sees it now.
    auto again = co_await client.async_get_update(target->key);
    bool found = false;
    for (const auto& cm : again.value.comments)
        found = found || (cm.author == "dave" && cm.text == f.text);
    check(s, found, "an anonymous reader sees dave's comment");
}

asio::awaitable<void> bodhi_part(demo_state& s)
{
    std::printf("\nBodhi (one client type; the version is detected)\n");
    co_await bodhi_one(s, s.bodhi1, "/updates/", 0);
    co_await bodhi_one(s, s.bodhi2, "/bodhi2/", 1);
}

asio::awaitable<int> demo(demo_state& s)
{
    co_await fas_part(s);
    co_await bodhi_part(s);
    co_return s.problems;
}

} // namespace

int run_demo(const invocation& inv)
{
    const auto people = static_cast<std::size_t>(inv.get_int("people", 50'000, 0, 2'000'000));
    std::printf("fedora-client demo\n\n");
    auto t0 = clock_type::now();
    auto emu = embedded_emulator::start(people);
    std::printf("embedded emulator: %s (HTTPS, CA %s)\n", emu.origin().c_str(), emu.ca_file().c_str());
    std::printf("  FAS2 /accounts/ (%zu people), Bodhi 1 /updates/, Bodhi 2 /bodhi2/, OpenID /id/\n",
                emu.directory->people_count());
    std::printf("  started in %.0f ms\n\n", ms_since(t0));

    asio::io_context ioc;
    std::atomic<std::uint64_t> dump_bytes{0};
    http::client_params hp;
    hp.tls.ca_file = emu.ca_file();  // verification stays on, with the emulator's CA
    hp.on_exchange = [&dump_bytes](const http::exchange_event& e) {
        if (e.path.ends_with("/user_data"))
            dump_bytes = e.bytes_received;
    };
    auto transport = std::make_shared<http::client>(ioc.get_executor(), hp);

    fas::client_params fp;
    fp.base_url = emu.origin() + "/accounts/";
    fas::proxy_client proxy(transport, fp);
    fas::account_params ap;
    ap.client = fp;
    ap.username = "admin";
    ap.password = "admin";
    fas::account_system admin(transport, ap);
    bodhi::client_params bp;
    bp.openid_api_url = emu.origin() + "/id/api/v1/";
    bp.base_url = emu.origin() + "/updates/";
    bodhi::client bodhi1(transport, bp);
    bp.base_url = emu.origin() + "/bodhi2/";
    bodhi::client bodhi2(transport, bp);

    std::vector<user> users = {{"admin", "admin"}, {"jdoe", "jdoe-pass"}, {"privuser", "privuser-pass"},
                               {"zlukasiewicz", "zoe-pass"}, {"tpuser", "tpuser-pass"}};
    demo_state s{proxy, admin, bodhi1, bodhi2, users, *emu.directory, dump_bytes};
    auto fut = asio::co_spawn(ioc, demo(s), asio::use_future);
    t0 = clock_type::now();
    ioc.run();
    int problems = 0;
    try {
        problems = fut.get();
    } catch (const fedora::error& e) {
        std::printf("\ndemo failed: %s\n", e.what());
        return exit_code_for(e.code());
    }
    auto stats = transport->stats();
    std::uint64_t opened = 0, reused = 0, requests = 0;
    for (const auto& o : stats.origins) {
        opened += o.opened;
        reused += o.reused;
        requests += o.requests;
    }
    std::printf("\ntotal %.0f ms: %llu requests over %llu TLS connections (reused %llu times), one transport\n",
                ms_since(t0), static_cast<unsigned long long>(requests), static_cast<unsigned long long>(opened),
                static_cast<unsigned long long>(reused));
    std::printf("%s\n", problems == 0 ? "demo OK" : "demo found problems");
    return problems == 0 ? exit_ok : exit_failure;
}

} // namespace fedora::cli
