// Spec reliability.md §B4 items with the numbers the checklist names, where no other test
// already has them: 1,000 mid-body closes (1), 10,000 keep-alive requests with injected
// faults and a request-id echo (2), 10,000 cancellations at every stage (3), stall after
// headers and 1,000 concurrent stalled calls (4), constructors without I/O and one
// deadline over the auth steps (5), redirect codes and chains with credentials (6), and
// writes that are never repeated after the server committed them (17).
#include "reliability_support.hpp"

#include <fedora/bodhi/client.hpp>
#include <fedora/emulator/bodhi.hpp>
#include <fedora/emulator/fas.hpp>
#include <fedora/fas/account_system.hpp>
#include <fedora/fas/proxy_client.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <doctest/doctest.h>

#include <fstream>
#include <random>

using namespace rel;

namespace {

std::string id_of(const std::string& request)
{
    auto p = request.find("id=");
    return p == std::string::npos ? std::string() : request.substr(p + 3, request.find(' ', p) - p - 3);
}

std::string answer_for(const std::string& id)
{
    std::string body = "{\"id\":\"" + id + "\"}";
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

int thread_count()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("Threads:", 0) == 0)
            return std::stoi(line.substr(8));
    return -1;
}

// Runs `calls` sends from `workers` coroutines; f(i, outcome) sees each result.
template <class MakeRequest, class Check>
void drive(asio::io_context& ioc, http::client& client, int calls, int workers, MakeRequest make, Check check)
{
    std::atomic<int> next{0};
    auto worker = [&]() -> asio::awaitable<void> {
        for (int i = next++; i < calls; i = next++) {
            auto r = make(i);
            auto [ec, resp] = co_await client.async_send(std::move(r), asio::as_tuple(asio::use_awaitable));
            check(i, ec, resp);
        }
    };
    for (int w = 0; w < workers; ++w)
        asio::co_spawn(ioc, worker(), asio::detached);
    ioc.restart();
    ioc.run();
}

} // namespace

TEST_CASE("checklist 1: 1,000 mid-body closes (Content-Length and chunked)")
{
    raw_server server([](std::size_t, const std::string& req) -> raw_answer {
        const std::string body(200, 'b');
        if (req.find("/good") != std::string::npos)
            return {answer_for(id_of(req)), false};
        if (id_of(req).back() % 2 == 0)
            return {"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + body.substr(0, 100), true};
        return {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nc8\r\n" + body.substr(0, 100), true};
    });
    asio::io_context ioc;
    http::client_params p;
    p.pool.max_connections_per_origin = 8;
    p.default_timeout = 2s;
    http::client client(ioc.get_executor(), p);
    int truncated = 0, other = 0;
    double slowest = 0;
    drive(ioc, client, 1000, 16,
          [&](int i) { return test_support::get(server.origin() + "/cut?id=" + std::to_string(i)); },
          [&](int, fedora::error_code ec, const http::response& r) {
              (ec == errc::protocol_error && r.diag.message.find("cut short") != std::string::npos ? truncated : other)++;
          });
    CHECK(truncated == 1000);
    CHECK(other == 0);
    // Every faulted call had its own connection: none was reused after the fault. (A
    // safe call on a kept-alive connection could be replayed once; none was kept alive.)
    CHECK(server.connections() == 1000);
    CHECK(client.stats().origins.at(0).idle == 0);
    CHECK(client.stats().origins.at(0).retries == 0);
    int good = 0;
    auto t0 = std::chrono::steady_clock::now();
    drive(ioc, client, 100, 4,
          [&](int i) { return test_support::get(server.origin() + "/good?id=g" + std::to_string(i)); },
          [&](int i, fedora::error_code ec, const http::response& r) {
              good += !ec && r.body() == "{\"id\":\"g" + std::to_string(i) + "\"}";
          });
    slowest = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(good == 100);
    CHECK(slowest < 2.0);
    CHECK(server.connections() <= 1000 + 4);
}

TEST_CASE("checklist 2: 10,000 keep-alive requests with injected faults, 0 answers to the wrong call")
{
    // Per request n: 1 in 10 gets extra bytes (a whole second response for another id),
    // 1 in 10 a short body then close, 1 in 10 a close before any byte; the rest a
    // normal kept-alive answer echoing the request id.
    raw_server server([](std::size_t n, const std::string& req) -> raw_answer {
        const auto id = id_of(req);
        switch (n % 10) {
        case 1: return {answer_for(id) + answer_for("unsolicited-" + id), false};
        case 4: return {answer_for(id).substr(0, answer_for(id).size() - 3), true};
        case 7: return {"", true};
        default: return {answer_for(id), false};
        }
    });
    asio::io_context ioc;
    http::client_params p;
    p.pool.max_connections_per_origin = 8;
    http::client client(ioc.get_executor(), p);
    int right = 0, wrong = 0, failed = 0;
    drive(ioc, client, 10000, 16,
          [&](int i) {
              // Half safe (a stale connection may be replayed once), half not.
              auto r = test_support::get(server.origin() + "/echo?id=" + std::to_string(i));
              r.safe_to_repeat = i % 2 == 0;
              return r;
          },
          [&](int i, fedora::error_code ec, const http::response& r) {
              if (ec)
                  ++failed;
              else if (r.body() == "{\"id\":\"" + std::to_string(i) + "\"}")
                  ++right;
              else
                  ++wrong;
          });
    CHECK(wrong == 0);
    CHECK(right + failed == 10000);
    CHECK(right >= 6500);
    CHECK(failed >= 1000);   // the short bodies at least, and unsafe calls on dropped connections
    MESSAGE("right " << right << ", failed " << failed << ", connections " << server.connections());
}

TEST_CASE("checklist 3: 10,000 cancellations at random stages, one completion each")
{
    emu::server_params tls_params;
    tls_params.tls = true;
    auto plain = test_support::start_echo_server();
    auto secure = test_support::start_echo_server(tls_params);
    plain->set_fault("/echo", {.kind = emu::fault_kind::latency, .delay = 1ms});
    secure->set_fault("/slow", {.kind = emu::fault_kind::trickle, .delay = 1ms});
    asio::io_context ioc;
    http::client_params p;
    p.pool.max_connections_per_origin = 8;
    p.tls.ca_file = secure->ca_file();
    constexpr int rounds = 20, per_round = 500;
    std::mt19937 rng(7);
    int ok = 0, cancelled = 0, other = 0, total = 0;
    std::vector<int> completions(rounds * per_round, 0);
    for (int round = 0; round < rounds; ++round) {
        // A fresh client each round, so that connects, resolves (localhost) and TLS
        // handshakes happen again and get cancelled too.
        http::client client(ioc.get_executor(), p);
        std::string base = round % 2 ? secure->origin() : "http://localhost:" + std::to_string(plain->port());
        std::string path = round % 4 == 1 ? "/slow" : "/echo";
        std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
        std::vector<std::unique_ptr<asio::steady_timer>> timers;
        std::uniform_int_distribution<int> delay_us(0, 3000 + 8000 * (round % 5));
        for (int k = 0; k < per_round; ++k) {
            const int i = round * per_round + k;
            signals.push_back(std::make_unique<asio::cancellation_signal>());
            timers.push_back(std::make_unique<asio::steady_timer>(ioc, std::chrono::microseconds(delay_us(rng))));
            client.async_send(test_support::get(base + path + "?i=" + std::to_string(i)),
                              asio::bind_cancellation_slot(signals.back()->slot(),
                                                           [&, i](fedora::error_code ec, http::response r) {
                                                               ++completions[i];
                                                               if (!ec && r.status() == 200)
                                                                   ++ok;
                                                               else if (ec == errc::cancelled)
                                                                   ++cancelled;
                                                               else
                                                                   ++other;
                                                           }));
            timers.back()->async_wait([&, i, k](fedora::error_code) {
                if (completions[i] == 0)
                    signals[k]->emit(asio::cancellation_type::terminal);
            });
        }
        ioc.restart();
        ioc.run();
        total += per_round;
        std::this_thread::sleep_for(20ms);
        auto st = client.stats().origins.at(0);
        CHECK(st.in_use == 0);
        CHECK(st.waiting == 0);
        auto& srv = round % 2 ? secure : plain;
        // Every socket the server still has open is one the pool keeps idle.
        CHECK(srv->stats().connections_open == st.idle);
    }
    for (int c : completions)
        REQUIRE(c == 1);
    CHECK(ok + cancelled + other == total);
    CHECK(other == 0);
    CHECK(cancelled >= 1000);
    CHECK(ok > 0);  // how many finish before their cancellation depends on the machine's speed
    MESSAGE("ok " << ok << ", cancelled " << cancelled);
}

TEST_CASE("checklist 4: stall after the headers; 1,000 concurrent stalled calls")
{
    raw_server server([](std::size_t, const std::string&) -> raw_answer {
        return {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":", false, true};
    });
    asio::io_context ioc;
    SUBCASE("(b) headers, then silence: fails at its deadline +-10%")
    {
        http::client client(ioc.get_executor());
        auto r = test_support::get(server.origin() + "/x");
        r.timeout = 1000ms;
        auto o = send_one(ioc, client, r);
        CHECK(o.ec == errc::timeout);
        CHECK(o.seconds == doctest::Approx(1.0).epsilon(0.1));
        CHECK(o.resp.diag.may_have_reached_server);
    }
    SUBCASE("1,000 at once: sockets never above the pool cap, no new threads")
    {
        const int threads_before = thread_count();
        http::client_params p;
        p.pool.max_connections_per_origin = 16;
        p.pool.max_waiting_per_origin = 1000;
        http::client client(ioc.get_executor(), p);
        int timeouts = 0, other = 0;
        double last = 0, first = 0;
        int done = 0;
        std::size_t peak_open = 0;
        asio::steady_timer probe(ioc);
        const auto t_start = std::chrono::steady_clock::now();
        std::function<void()> sample = [&] {
            peak_open = std::max(peak_open, server.open_connections());
            if (std::chrono::steady_clock::now() - t_start > 10s) {
                ioc.stop();  // a safety net against a hang: the calls end long before
                return;
            }
            probe.expires_after(50ms);
            probe.async_wait([&](fedora::error_code ec) {
                if (!ec)
                    sample();
            });
        };
        sample();
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 1000; ++i) {
            auto r = test_support::get(server.origin() + "/x?" + std::to_string(i));
            r.timeout = 1500ms;
            client.async_send(std::move(r), [&](fedora::error_code ec, http::response) {
                (ec == errc::timeout ? timeouts : other)++;
                last = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
                if (first == 0)
                    first = last;
                if (++done == 1000)
                    probe.cancel();
            });
        }
        ioc.run();
        CHECK(done == 1000);
        CHECK(timeouts == 1000);
        CHECK(other == 0);
        // The first deadline is kept to ±10%. Failing ~1,000 queued calls at once takes a
        // while itself (half a second under ASan on a loaded machine), so the last one is
        // bounded, not pinned.
        CHECK(first == doctest::Approx(1.5).epsilon(0.1));
        CHECK(last >= 1.35);
        CHECK(last <= 2.5);
        CHECK(server.peak_open_connections() <= 16);
        CHECK(peak_open <= 16);
        CHECK(thread_count() == threads_before);
    }
}

TEST_CASE("checklist 5: constructors do no I/O; one deadline covers the login steps")
{
    emu::server_params sp;
    auto fas_srv = std::make_shared<emu::server>(sp);
    emu::fas_data_params fdp;
    fdp.people = 5;
    fas_srv->mount("/accounts", std::make_shared<emu::fas_application>(emu::fas_directory::generate(fdp)));
    fas_srv->start();
    bodhi2_site bodhi2(5);
    auto& data = bodhi2.data;
    asio::io_context ioc;

    fas::client_params fp;
    fp.base_url = fas_srv->origin() + "/accounts/";
    fas::account_params ap;
    ap.client = fp;
    ap.username = "jdoe";
    ap.password = "jdoe-pass";
    bodhi::client_params bp = bodhi2.client_params();  // not pinned: detection is lazy
    {
        http::client transport(ioc.get_executor());
        fas::proxy_client proxy(ioc.get_executor(), fp);
        fas::account_system as(ioc.get_executor(), ap);
        bodhi::client bc(ioc.get_executor(), bp);
        ioc.poll();
        std::this_thread::sleep_for(50ms);
        CHECK(fas_srv->stats().connections_accepted == 0);
        CHECK(bodhi2.bodhi.stats().connections_accepted == 0);
        CHECK(bodhi2.provider.stats().connections_accepted == 0);
    }
    ioc.restart();

    SUBCASE("Bodhi 2: the provider stalls during login; the call ends at its one deadline")
    {
        bodhi2.provider.set_fault("/id/api", {.kind = emu::fault_kind::stall});
        bp.timeout = 1000ms;
        bodhi::client bc(ioc.get_executor(), bp);
        fedora::error_code ec;
        const auto t0 = std::chrono::steady_clock::now();
        bc.async_login("alice", "alice-pass", [&](fedora::error_code e, auto) { ec = e; });
        ioc.run();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(ec == errc::timeout);
        // Each request has its own 1 s; detection and the login's first steps are quick,
        // the stalled step takes its second: the caller waits about one deadline, not more.
        CHECK(s == doctest::Approx(1.0).epsilon(0.1));
    }
    SUBCASE("Bodhi 2: the CSRF fetch stalls before a write")
    {
        bodhi2.bodhi.set_fault("/bodhi/csrf", {.kind = emu::fault_kind::stall});
        bp.timeout = 1000ms;
        bp.version = bodhi::server_version::bodhi2;
        bodhi::client bc(ioc.get_executor(), bp);
        bodhi::comment_fields cf;
        cf.update = data->read([](const emu::bodhi_state& st) { return st.updates()[1].alias; });
        cf.text = "x";
        fedora::error_code ec;
        const auto t0 = std::chrono::steady_clock::now();
        bc.async_comment(cf, bodhi::auth_params::credentials("alice", "alice-pass"), [&](fedora::error_code e, auto) { ec = e; });
        ioc.run();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(ec == errc::timeout);
        CHECK(s == doctest::Approx(1.0).epsilon(0.15));
    }
    SUBCASE("FAS: the implicit login stalls")
    {
        fas_srv->set_fault("/accounts/json/person_by_username", {.kind = emu::fault_kind::stall});
        ap.client.timeout = 1000ms;
        fas::account_system as(ioc.get_executor(), ap);
        fedora::error_code ec;
        const auto t0 = std::chrono::steady_clock::now();
        as.async_person_by_username("admin", [&](fedora::error_code e, auto) { ec = e; });
        ioc.run();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        CHECK(ec == errc::timeout);
        CHECK(s == doctest::Approx(1.0).epsilon(0.1));
    }
}

TEST_CASE("checklist 6: redirect codes and chains never carry credentials to another origin")
{
    auto a = test_support::start_echo_server();
    auto b = test_support::start_echo_server();
    auto a_other_port = test_support::start_echo_server();
    asio::io_context ioc;
    http::client_params p;
    p.allow_cross_origin_redirects = true;
    http::client client(ioc.get_executor(), p);
    auto with_credentials = [](http::request r) {
        r.headers.set(bhttp::field::cookie, "tg-visit=SESSION-redirect-secret");
        r.headers.set(bhttp::field::authorization, "Basic UkVESVJFQ1Qtc2VjcmV0");
        return r;
    };
    auto redirect = [](const std::string& from, const std::string& to, unsigned code) {
        return from + "/redirect?code=" + std::to_string(code) + "&to=" + boost::urls::encode(to, boost::urls::unreserved_chars);
    };
    auto credential_free = [](const emu::server& s) {
        auto r = s.last_request();
        REQUIRE(r);
        return r->find(bhttp::field::cookie) == r->end() && r->find(bhttp::field::authorization) == r->end();
    };
    for (unsigned code : {301u, 302u, 303u, 307u, 308u}) {
        CAPTURE(code);
        for (auto* target : {b.get(), a_other_port.get()}) {
            target->reset_stats();
            auto o = send_one(ioc, client, with_credentials(test_support::get(redirect(a->origin(), target->origin() + "/echo", code))));
            REQUIRE(!o.ec);
            CHECK(target->stats().requests_total == 1);
            CHECK(credential_free(*target));
        }
        // A -> B -> B and A -> B -> A: nothing comes back once it was stripped.
        b->reset_stats();
        auto abb = redirect(a->origin(), redirect(b->origin(), b->origin() + "/echo", code), code);
        REQUIRE(!send_one(ioc, client, with_credentials(test_support::get(abb))).ec);
        CHECK(b->stats().requests_total == 2);
        CHECK(credential_free(*b));
        a->reset_stats();
        auto aba = redirect(a->origin(), redirect(b->origin(), a->origin() + "/echo", code), code);
        REQUIRE(!send_one(ioc, client, with_credentials(test_support::get(aba))).ec);
        CHECK(a->stats().requests_total == 2);
        CHECK(credential_free(*a));
        // A write is never re-sent to another origin (307/308 keep the body).
        if (code == 307 || code == 308) {
            b->reset_stats();
            auto o = send_one(ioc, client, with_credentials(post(redirect(a->origin(), b->origin() + "/echo", code), "password=x")));
            CHECK(o.ec == errc::redirect_error);
            CHECK(b->stats().requests_total == 0);
        }
    }
    // More than 5 redirects fail; https -> http is covered in http_client_test.cpp.
    std::string chain = b->origin() + "/echo";
    for (int i = 0; i < 6; ++i)
        chain = redirect(i % 2 ? a->origin() : b->origin(), chain, 302);
    CHECK(send_one(ioc, client, test_support::get(chain)).ec == errc::redirect_error);
}

TEST_CASE("checklist 17: a write the server committed and then dropped is not repeated")
{
    bodhi2_site bodhi2(5);
    auto& data = bodhi2.data;
    asio::io_context ioc;
    bodhi::client_params bp = bodhi2.client_params();
    bp.version = bodhi::server_version::bodhi2;
    bp.read_retry = {.max_attempts = 5, .initial_backoff = 1ms};
    bp.http.retry = {.max_attempts = 5, .initial_backoff = 1ms};
    bodhi::client bc(ioc.get_executor(), bp);
    bodhi::reply<bodhi::login_info> login;
    bc.async_login("alice", "alice-pass", [&](fedora::error_code ec, auto r) {
        REQUIRE(!ec);
        login = std::move(r);
    });
    ioc.run();
    const auto comments_before = data->read([](const emu::bodhi_state& st) { return st.comments().size(); });
    bodhi::comment_fields cf;
    cf.update = data->read([](const emu::bodhi_state& st) { return st.updates()[2].alias; });
    cf.text = "written once";
    for (auto kind : {emu::fault_kind::close_before_response, emu::fault_kind::close_after_bytes,
                      emu::fault_kind::stall, emu::fault_kind::server_error_html}) {
        CAPTURE(static_cast<int>(kind));
        bodhi2.bodhi.reset_stats();
        bodhi2.bodhi.set_fault("/bodhi/comments", {.kind = kind, .bytes = 20, .status = 503, .count = 1});
        auto quick = bp;
        quick.timeout = 500ms;
        bodhi::client qc(ioc.get_executor(), quick);
        fedora::error_code ec;
        fedora::diagnostics diag;
        qc.async_comment(cf, bodhi::auth_params::with_session(login.session), [&](fedora::error_code e, auto r) {
            ec = e;
            diag = r.diag;
        });
        ioc.restart();
        ioc.run();
        CHECK(ec);
        CHECK(diag.may_have_reached_server);
        CHECK(diag.attempts == 1);
        CHECK(bodhi2.bodhi.stats().requests_per_path["/bodhi/comments/"] == 1);
    }
    const auto comments_after = data->read([](const emu::bodhi_state& st) { return st.comments().size(); });
    CHECK(comments_after == comments_before + 4);  // each committed exactly once
}

TEST_CASE("checklist 8: the session store under 2 x 200 concurrent logins; symlinks are not trusted")
{
    emu::fas_data_params fdp;
    fdp.people = 5;
    auto fas_srv = std::make_shared<emu::server>(emu::server_params{.threads = 2});
    fas_srv->mount("/accounts", std::make_shared<emu::fas_application>(emu::fas_directory::generate(fdp)));
    fas_srv->start();
    temp_dir dir;
    const std::string store = (dir.path / "sessions.json").string();
    asio::io_context ioc;
    auto work = asio::make_work_guard(ioc);
    // Two threads run the completions, so that two stores can really run at once.
    std::thread loop([&] { ioc.run(); });
    std::thread loop2([&] { ioc.run(); });

    std::atomic<bool> done{false};
    std::atomic<int> reads{0}, unparsable{0}, unsafe_mode{0};
    std::thread reader([&] {
        while (!done) {
            std::this_thread::sleep_for(200us);
            std::ifstream in(store);
            if (!in)
                continue;
            std::string text((std::istreambuf_iterator<char>(in)), {});
            fedora::error_code ec;
            boost::json::parse(text, ec);
            ++reads;
            unparsable += ec ? 1 : 0;
            auto perms = std::filesystem::status(store).permissions() & std::filesystem::perms::mask;
            unsafe_mode += (perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) !=
                           std::filesystem::perms::none;
        }
    });
    std::atomic<int> logins{0}, failures{0};
    // One transport for all: a client of its own would load the system CA store each time.
    auto transport = std::make_shared<http::client>(ioc.get_executor());
    auto user_loop = [&](std::string user, std::string pass) {
        for (int i = 0; i < 200; ++i) {
            fas::account_params ap;
            ap.client.base_url = fas_srv->origin() + "/accounts/";
            ap.username = user;
            ap.password = pass;
            ap.session_store = store;
            fas::account_system as(transport, ap);
            try {
                as.async_user_id(fedora::with_diagnostics(asio::use_future)).get();
                ++logins;
                as.async_logout(fedora::with_diagnostics(asio::use_future)).get();
            } catch (const std::exception& e) {
                MESSAGE(e.what());
                ++failures;
            }
        }
    };
    std::thread a(user_loop, "jdoe", "jdoe-pass");
    std::thread b(user_loop, "admin", "admin");
    a.join();
    b.join();
    done = true;
    reader.join();
    CHECK(logins == 400);
    CHECK(failures == 0);
    CHECK(unparsable == 0);
    CHECK(unsafe_mode == 0);
    CHECK(reads > 0);
    // No temporary file left behind.
    int files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path))
        files += e.path().filename() != "sessions.json";
    CHECK(files == 0);

    // A symlink to a good store is treated as absent: its session is not used.
    {
        fas::account_params ap;
        ap.client.base_url = fas_srv->origin() + "/accounts/";
        ap.username = "jdoe";
        ap.password = "jdoe-pass";
        ap.session_store = store;
        fas::account_system as(ioc.get_executor(), ap);
        as.async_user_id(fedora::with_diagnostics(asio::use_future)).get();
        REQUIRE(!as.session_id().empty());
        const auto link = (dir.path / "link.json").string();
        std::filesystem::create_symlink(store, link);
        ap.password.clear();
        ap.session_store = link;
        fas::account_system via_link(ioc.get_executor(), ap);
        CHECK(via_link.session_id().empty());
        ap.session_store = store;
        fas::account_system direct(ioc.get_executor(), ap);
        CHECK(direct.session_id() == as.session_id());
    }
    work.reset();
    loop.join();
    loop2.join();
}
